package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/rollout"
)

// TestRolloutCommands drives a rollout manager behind the real HTTP API
// with `vane rollout …` commands.
func TestRolloutCommands(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	writeFile(t, token, "t0k3n", 0o600)
	plan := rollout.Plan{Steps: []rollout.PlanStep{rollout.WeightStep(10), rollout.PauseFor(0), rollout.WeightStep(50), rollout.PauseFor(0)}}
	m, srv := startRolloutAPI(t, dir, plan, token, httptest.NewServer)
	run := func(args ...string) (string, error) {
		return runCLI(append(args, "--server", srv.URL, "--token-file", token)...)
	}
	if out, err := run("rollout", "list"); err != nil || out != "no rollouts\n" {
		t.Fatalf("list: %q %v", out, err)
	}
	out, err := run("rollout", "start", "checkout", "--version", "v2", "--endpoints", "127.0.0.1:9002")
	if err != nil || !strings.Contains(out, "rollout checkout started: v1 → v2, 5 steps (weight 10% → pause until promoted → weight 50% → pause until promoted → promote)") {
		t.Fatalf("start: %q %v", out, err)
	}
	if _, err := run("rollout", "start", "checkout", "--version", "v3", "--endpoints", "127.0.0.1:9003"); err == nil ||
		!strings.Contains(err.Error(), "HTTP 409 conflict") {
		t.Fatalf("second start: %v", err)
	}
	if _, err := run("rollout", "start", "cart", "--version", "v3", "--endpoints", "127.0.0.1:9003"); err == nil ||
		!strings.Contains(err.Error(), `unknown service "cart"`) {
		t.Fatalf("unknown service: %v", err)
	}
	for {
		if st, _ := m.Get("checkout"); st.Phase == rollout.Paused {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if out, err := run("rollout", "status", "checkout"); err != nil || !strings.Contains(out, "Step:     2/5 pause until promoted") ||
		!strings.Contains(out, "canary 10% (ACKed by every proxy)") {
		t.Fatalf("status: %q %v", out, err)
	}
	if out, err := run("rollout", "promote", "checkout"); err != nil || !strings.Contains(out, "Paused, step 4/5, canary 50%") {
		t.Fatalf("promote: %q %v", out, err)
	}
	// --watch on a non-terminal prints plain lines until the rollout ends.
	watched := make(chan string)
	go func() {
		out, err := run("rollout", "status", "checkout", "--watch", "--interval", "10ms")
		if err != nil {
			out += "error: " + err.Error()
		}
		watched <- out
	}()
	time.Sleep(50 * time.Millisecond)
	if out, err := run("rollout", "promote", "checkout", "--full"); err != nil || !strings.Contains(out, "Succeeded") {
		t.Fatalf("promote --full: %q %v", out, err)
	}
	w := <-watched
	if strings.Contains(w, "\033[") || !strings.Contains(w, "checkout Paused step 4/5 canary 50%") ||
		!strings.HasSuffix(w, "v2 promoted: it is the stable version\n") {
		t.Fatalf("watch output:\n%s", w)
	}
	if out, err := run("rollout", "list"); err != nil || !strings.Contains(out, "checkout  Succeeded  5/5   v2      v2") {
		t.Fatalf("list: %q %v", out, err)
	}
	if _, err := run("rollout", "abort", "checkout"); err == nil || !strings.Contains(err.Error(), "is Succeeded (HTTP 409 conflict)") {
		t.Fatalf("abort after success: %v", err)
	}
}
