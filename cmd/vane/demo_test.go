package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestDemoFast runs `vane demo --fast` in-process, end to end on the real
// components, and checks its outcome: v2 rolled back with a time to
// rollback reported, v3 promoted, the replicas scaled up and back down
// under a load ramp, a summary, and a clean exit.
func TestDemoFast(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs([]string{"demo", "--fast"})
	err := root.ExecuteContext(ctx)
	t.Log("\n" + out.String() + errOut.String())
	if err != nil {
		t.Fatalf("vane demo --fast: %v", err)
	}
	s := out.String()
	checks := map[string]*regexp.Regexp{
		"v2 rolled back":            regexp.MustCompile(`→ v2 ROLLED BACK after`),
		"time to rollback":          regexp.MustCompile(`from v2 to weight 0 ACKed by every xDS client: [0-9.]+m?s\n`),
		"v3 promoted":               regexp.MustCompile(`→ v3 PROMOTED after`),
		"summary row for v2":        regexp.MustCompile(`1 a bad canary is rolled back\s+v1 → v2\s+rolled back\s+rolled back\s`),
		"summary row for v3":        regexp.MustCompile(`2 a good canary is promoted\s+v1 → v3\s+promoted\s+promoted\s`),
		"the autoscaler's scale-up": regexp.MustCompile(`SCALE UP 1 → [2-8] \(users at`),
		"the autoscaler's result":   regexp.MustCompile(`→ SCALED UP AND BACK DOWN in .*: 1 → [3-8] → [1-7] replicas`),
		"summary row for scaling":   regexp.MustCompile(`3 the autoscaler follows a load ramp\s+-\s+scaled up and down\s+scaled up and down\s`),
		"violation minutes":         regexp.MustCompile(`SLO violation minutes [0-9.]+, replica-minutes [0-9.]+`),
		"wall time":                 regexp.MustCompile(`Wall time [0-9.]+s\.`),
	}
	for what, re := range checks {
		if !re.MatchString(s) {
			t.Errorf("output does not show %s (%s)", what, re)
		}
	}
	if strings.Contains(s, "\033[") {
		t.Error("output to a non-terminal holds terminal escapes")
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--bad-error-ratio", "1.5"},
		{"demo", "--bad-latency", "-1s"},
		{"demo", "--rate", "-3"},
	} {
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetArgs(args)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(args[1], "")) {
			t.Errorf("%v: error %v does not name %s", args, err, args[1])
		}
	}
}
