package actuator

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vaneproj/vane/autoscale"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A real shell script keeps the count in a file.
func TestExecActuator(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "replicas")
	script := filepath.Join(dir, "scale.sh")
	src := "#!/bin/sh\nset -e\ncase \"$1\" in\n  get) cat " + state + " ;;\n  set) [ \"$2\" = \"$VANE_REPLICAS\" ] && echo \"$2 $2\" > " + state + " ;;\n  fail) echo boom >&2; exit 3 ;;\nesac\n"
	if err := os.WriteFile(script, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("3 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(t.Context(), "checkout", autoscale.ActuatorSpec{Kind: "exec", Exec: &autoscale.ExecSpec{Set: []string{script, "set"}, Get: []string{script, "get"}}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := a.GetScale(t.Context())
	if err != nil || sc != (autoscale.Scale{Desired: 3, Ready: 2}) {
		t.Fatalf("%+v %v", sc, err)
	}
	if err := a.SetScale(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	if sc, err := a.GetScale(t.Context()); err != nil || sc.Desired != 7 {
		t.Fatalf("%+v %v", sc, err)
	}
	bad, _ := NewExec(ExecConfig{Set: []string{script, "fail"}, Get: []string{script, "fail"}, Timeout: time.Second})
	if err := bad.SetScale(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v", err)
	}
	if _, err := New(t.Context(), "x", autoscale.ActuatorSpec{Kind: "ssh"}); err == nil {
		t.Fatal("unknown kind accepted")
	}
}
