package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/rollout"
)

// TestRunEndToEnd runs `vane run` as a real process with a real Prometheus
// server, three sample-app versions and a gRPC xDS client sending traffic:
// an API call without the token is refused; a bad canary is rolled back
// and gets no traffic afterwards; a good one survives a SIGKILL mid-step,
// resumes at the same step and weight, and is promoted; a canary written
// into the watched vane.yaml starts a rollout.
func TestRunEndToEnd(t *testing.T) {
	bin, dir := e2eVane(t)

	apps := map[string]*sampleapp.Instance{}
	for _, v := range []struct {
		version string
		errors  float64
	}{{"v1", 0.002}, {"v2", 0.3}, {"v3", 0.002}} {
		apps[v.version] = startApp(t, sampleapp.Config{Version: v.version, ErrorRatio: v.errors, ErrorCode: codes.Unavailable})
	}
	promSrv := startCheckoutProm(t, apps["v1"], apps["v2"], apps["v3"])

	xdsAddr, httpAddr := freeAddr(t), freeAddr(t)
	token := filepath.Join(dir, "token")
	writeFile(t, token, "e2e-secret\n", 0o600)
	cfgFile := filepath.Join(dir, "vane.yaml")
	cfg := fmt.Sprintf(`prometheus:
  url: %s
xds:
  listen: %s
http:
  listen: %s
  token_file: token
store:
  path: state/vane.db
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
        - weight: 20
        - analysis: {duration: 15s}
        - weight: 50
        - analysis: {duration: 15s}
      progress_deadline: 1m
      analysis:
        interval: 1s
        judges:
          - name: errors
            kind: sequential
            interval: 1s
            requests_metric: demo_requests_total
            bad_codes: "Unavailable|Internal|Unknown"
`, promSrv.URL, xdsAddr, httpAddr, apps["v1"].Addr())
	writeFile(t, cfgFile, cfg, 0o644)
	if out, err := exec.Command(bin, "run", "-c", cfgFile, "--check").CombinedOutput(); err != nil {
		t.Fatalf("vane run --check: %v\n%s", err, out)
	}

	p, a := startVaneReady(t, bin, cfgFile, httpAddr)
	gen := startLoad(t, xdsAddr, "e2e-client", "v1", p)

	// An API call without the token, or with a wrong one, is refused.
	start := rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{apps["v2"].Addr()}}
	if code := a.call("POST", "/api/v1/rollouts", "", start, nil); code != http.StatusUnauthorized {
		t.Fatalf("start without a token: HTTP %d, want 401", code)
	}
	if code := a.call("POST", "/api/v1/rollouts", "wrong", start, nil); code != http.StatusForbidden {
		t.Fatalf("start with a wrong token: HTTP %d, want 403", code)
	}
	if _, _, ok := a.state("checkout"); ok {
		t.Fatal("a refused call started a rollout")
	}

	// 1. A bad canary (30% errors), started with the CLI, is rolled back.
	out, err := exec.Command(bin, "rollout", "start", "checkout", "--version", "v2", "--endpoints", apps["v2"].Addr(),
		"--server", a.base, "--token-file", token).CombinedOutput()
	if err != nil {
		t.Fatalf("vane rollout start: %v\n%s", err, out)
	}
	t.Logf("vane rollout start: %s", out)
	before := gen.Stats()
	a.waitRollout("v2 rolled back", "checkout", 60*time.Second, p, phaseIs(rollout.Aborted))
	st, events, _ := a.state("checkout")
	var weight0 time.Time
	for i, e := range events {
		if e.Type == rollout.EvRollback {
			for _, f := range events[i+1:] {
				if f.Type == rollout.EvApplied {
					weight0 = f.At
					break
				}
			}
		}
	}
	firstBad := gen.Stats().Sub(before).ByVersion["v2"].FirstBad
	if weight0.IsZero() || firstBad.IsZero() {
		t.Fatalf("no weight-0 ACK (%v) or no bad request (%v); reason %s", weight0, firstBad, st.Reason)
	}
	for _, e := range events {
		t.Logf("  %+8.3fs %-10s %s", e.At.Sub(firstBad).Seconds(), e.Type, e.Reason)
	}
	t.Logf("bad canary v2: %s; first bad request → weight 0 ACKed by every proxy: %s", st.Reason, weight0.Sub(firstBad).Round(time.Millisecond))
	// Calls sent before the ACK may still be in flight (timeout 2 s): wait
	// until they have finished.
	waitUntil(t, "the calls sent before the weight-0 ACK finished", 10*time.Second, p, gen.Barrier())
	if last := gen.Stats().ByVersion["v2"].LastServed; last.After(weight0.Add(100 * time.Millisecond)) {
		t.Fatalf("v2 answered a call sent %s after the weight-0 ACK", last.Sub(weight0))
	} else {
		t.Logf("the last call v2 answered was sent %s before the weight-0 ACK", weight0.Sub(last).Round(time.Millisecond))
	}
	quiet := gen.Stats()
	waitUntil(t, "200 more calls after the rollback", 20*time.Second, p, func() bool { return gen.Stats().Sub(quiet).Completed() >= 200 })
	if n := gen.Stats().Sub(quiet).ByVersion["v2"].Total(); n != 0 {
		t.Fatalf("v2 answered %d calls after the rollback", n)
	}

	// A second start while a rollout runs is a 409 (checked below for v3).
	// 2. A good canary: SIGKILL at the 50% analysis step, restart, resume.
	start.Version, start.Endpoints = "v3", []string{apps["v3"].Addr()}
	if code := a.call("POST", "/api/v1/rollouts", "e2e-secret", start, nil); code != http.StatusCreated {
		t.Fatalf("start v3: HTTP %d", code)
	}
	if code := a.call("POST", "/api/v1/rollouts", "e2e-secret", start, nil); code != http.StatusConflict {
		t.Fatalf("second start of v3: HTTP %d, want 409", code)
	}
	a.waitRollout("v3 at the 50% analysis", "checkout", 60*time.Second, p, func(st rollout.State) bool {
		return st.Step == 3 && st.Applied
	})
	killed, _, _ := a.state("checkout")
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	t.Logf("SIGKILL at step %d (%s), canary %d%%", killed.Step+1, killed.CurrentStep(), killed.Routing.Weights.Canary)
	// Meanwhile the client keeps its last config: v3 still gets traffic.
	mid := gen.Stats()
	waitUntil(t, "v3 answers calls while vane is down (the xDS client keeps its last config)", 10*time.Second, p, func() bool {
		return gen.Stats().Sub(mid).ByVersion["v3"].OK > 0
	})

	p2 := startVane(t, bin, cfgFile)
	a.waitReady("readyz after restart", p2)
	resumed, _, _ := a.state("checkout")
	if resumed.Step < killed.Step || resumed.Routing.Weights.Canary < killed.Routing.Weights.Canary ||
		resumed.Original.Canary.Version != "v3" || resumed.Phase.Terminal() && resumed.Phase != rollout.Succeeded {
		t.Fatalf("after restart: %s step %d canary %d%% (killed at step %d, %d%%)", resumed.Phase, resumed.Step,
			resumed.Routing.Weights.Canary, killed.Step, killed.Routing.Weights.Canary)
	}
	resumeLog := fmt.Sprintf(`msg="Resuming rollout" component=rollout rollout=checkout phase=%s step=%d routing="%s"`,
		killed.Phase, killed.Step, killed.Routing)
	if !strings.Contains(p2.out.String(), resumeLog) {
		t.Fatalf("the restarted controller did not resume at step %d with %s:\n%s", killed.Step, killed.Routing, tail(p2.out.String(), 40))
	}
	if strings.Contains(p2.out.String(), "step 1/5") {
		t.Fatalf("the restarted controller repeated the first step:\n%s", p2.out.String())
	}
	a.waitRollout("v3 promoted", "checkout", 90*time.Second, p2, phaseIs(rollout.Succeeded))
	waitUntil(t, "the calls sent before the promotion finished", 10*time.Second, p2, gen.Barrier())
	after := gen.Stats()
	waitUntil(t, "200 calls after the promotion", 20*time.Second, p2, func() bool { return gen.Stats().Sub(after).Completed() >= 200 })
	d := gen.Stats().Sub(after)
	if d.ByVersion["v3"].OK == 0 || d.ByVersion["v1"].Total() != 0 || d.ByVersion["v2"].Total() != 0 {
		t.Fatalf("after promotion the client got v1 %d, v2 %d, v3 %d calls", d.ByVersion["v1"].Total(), d.ByVersion["v2"].Total(), d.ByVersion["v3"].Total())
	}

	// 3. A canary written into vane.yaml while vane runs starts a rollout
	// (here the bad v2 again, which is rolled back from the new stable v3).
	edited := strings.Replace(cfg, "    rollout:\n", fmt.Sprintf("    canary: {version: v2, endpoints: [%q]}\n    rollout:\n", apps["v2"].Addr()), 1)
	writeFile(t, cfgFile, edited, 0o644)
	a.waitRollout("the configured canary rolled out and back", "checkout", 60*time.Second, p2, func(st rollout.State) bool {
		return st.Original.Canary.Version == "v2" && st.Original.Stable.Version == "v3" && st.Phase == rollout.Aborted
	})

	// Graceful stop within 10 s.
	stopAt := time.Now()
	if err := p2.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := p2.cmd.Wait(); err != nil {
		t.Fatalf("vane run after SIGINT: %v\n%s", err, tail(p2.out.String(), 30))
	}
	if took := time.Since(stopAt); took > 10*time.Second {
		t.Fatalf("shutdown took %s", took)
	}
	t.Logf("shutdown took %s", time.Since(stopAt).Round(time.Millisecond))
}
