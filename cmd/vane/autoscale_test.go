package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/promtest"
)

// TestRunAutoscales runs the controller with the embedded Prometheus
// scraping a real exporter and an exec actuator running a real script:
// the autoscaler scales up within the behavior's rate limits, reads the
// count back, and the API, the CLI and /metrics show it; pause freezes it.
func TestRunAutoscales(t *testing.T) {
	dir := t.TempDir()
	exp := promtest.NewExporter(t, "checkout")
	state := filepath.Join(dir, "replicas")
	writeFile(t, state, "2 2\n", 0o644)
	script := filepath.Join(dir, "scale.sh")
	gets := filepath.Join(dir, "gets") // one line per get: one per look
	writeFile(t, script, "#!/bin/sh\nset -e\ncase \"$1\" in\n  get) echo >> "+gets+"; cat "+state+" ;;\n  set) echo \"$2 $2\" > "+state+" ;;\nesac\n", 0o755)
	token := filepath.Join(dir, "token")
	writeFile(t, token, "t0k3n", 0o600)
	httpAddr := freeAddr(t)
	cfg, err := config.Parse(filepath.Join(dir, "vane.yaml"), []byte(fmt.Sprintf(`xds: {listen: %s}
http: {listen: %s, token_file: token}
store: {path: vane.db}
scrape:
  interval: 1s
  jobs: [{name: checkout, targets: [%s]}]
services:
  - name: checkout
    stable: {version: v1, endpoints: ["127.0.0.1:9001"]}
    autoscale:
      min: 1
      max: 10
      interval: 1s
      actuator:
        kind: exec
        exec: {set: [%q, set], get: [%q, get]}
      metrics:
        - name: requests
          query: sum(http_requests_total{service="checkout"})
          target: {type: AverageValue, averageValue: 100}
`, freeAddr(t), httpAddr, exp.Addr(), script, script)), nil)
	if err != nil {
		t.Fatal(err)
	}
	exp.Record("v1", 1000, 0) // 1000 against 100 per replica: 10
	logs := startController(t, cfg)
	replicas := func() string {
		b, _ := os.ReadFile(state)
		return strings.TrimSpace(string(b))
	}
	deadline := time.Now().Add(60 * time.Second)
	for replicas() != "10 10" {
		if time.Now().After(deadline) {
			t.Fatalf("replicas %q\nvane log:\n%s", replicas(), logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	run := func(args ...string) (string, error) {
		return runCLI(append(args, "--server", "http://"+httpAddr, "--token-file", token)...)
	}
	out, err := run("autoscale", "list")
	if err != nil || !strings.Contains(out, "checkout") || !strings.Contains(out, "10") {
		t.Fatalf("list: %q %v", out, err)
	}
	// The actuator's count is set before the controller reads it back and
	// records the event: wait for the event.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err = run("autoscale", "status", "checkout")
		if err != nil || strings.Contains(out, "6→10") || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("vane autoscale status checkout:\n%s", out)
	if err != nil || !strings.Contains(out, "hpa") || !strings.Contains(out, "requests: total 1000 against 100 per replica: 10") ||
		!strings.Contains(out, "scaled") {
		t.Fatalf("status: %q %v", out, err)
	}
	// Scale-ups went 2 → 6 → 10: at most 4 pods or 100% per 15 s.
	if !strings.Contains(out, "2→6") || !strings.Contains(out, "6→10") {
		t.Fatalf("steps: %q", out)
	}
	if out, err = run("autoscale", "pause", "checkout", "--reason", "incident 12"); err != nil || !strings.Contains(out, "checkout paused at 10 replicas: incident 12") {
		t.Fatalf("pause: %q %v", out, err)
	}
	if _, err = run("autoscale", "pause", "nope"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("pause unknown: %v", err)
	}
	looks := func() int {
		b, _ := os.ReadFile(gets)
		return strings.Count(string(b), "\n")
	}
	writeFile(t, state, "3 3\n", 0o644) // someone else scales meanwhile
	// Two more looks: the first began after the write, so it saw 3
	// replicas, and would have acted before the second began.
	seen := looks()
	for deadline := time.Now().Add(20 * time.Second); looks() < seen+2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no two looks within 20s\nvane log:\n%s", logs.String())
		}
	}
	if replicas() != "3 3" {
		t.Fatalf("acted while paused: %q", replicas())
	}
	if out, err = run("autoscale", "resume", "checkout"); err != nil || out != "checkout resumed\n" {
		t.Fatalf("resume: %q %v", out, err)
	}
	// The service has no rollout section: it is autoscaled, and a rollout
	// of it is refused (no judge would see its evidence).
	if _, err = run("rollout", "start", "checkout", "--version", "v2", "--endpoints", "127.0.0.1:9002"); err == nil ||
		!strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "no judge") {
		t.Fatalf("rollout start of a service without a judge: %v", err)
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vane_autoscale_desired_replicas{autoscaler="checkout"}`, `vane_autoscale_actions_total{autoscaler="checkout",direction="up"} 2`,
		`vane_autoscale_recommendation{autoscaler="checkout",recommender="hpa"} 10`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
