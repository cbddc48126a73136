package api

import (
	"strings"
	"testing"
)

// TestOversizedBodyIs413 checks that a body over 1 MiB is refused as too
// large (413), not as invalid JSON, and changes nothing.
func TestOversizedBodyIs413(t *testing.T) {
	e := newEnv(t, "")
	body := `{"service":"checkout","version":"v2","endpoints":["127.0.0.1:9002"],"force":false` + strings.Repeat(" ", 1<<20) + `}`
	a := e.do("POST", "/api/v1/rollouts", "", body)
	if a.code != 413 || a.err.Code != "too_large" || !strings.Contains(a.err.Error, "larger than 1048576 bytes") {
		t.Fatalf("got %d %+v, want 413 too_large", a.code, a.err)
	}
	if l := e.m.List(); len(l) != 0 {
		t.Fatalf("an oversized request changed state: %+v", l)
	}
}
