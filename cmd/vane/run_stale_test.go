package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/rollout"
)

// TestRunStaleDataAfterPrometheusOutage stops the real Prometheus server
// that `vane run` reads 4 s into a 15 s analysis at 50%, makes the canary
// fail 30% of its calls while Prometheus is down, and starts Prometheus
// again 20 s later (the window has "ended" during the outage). Prometheus
// first answers with the samples from before the outage: the canary must
// not be promoted on them (samples older than max_sample_age, 5 scrape
// intervals here, are inconclusive; the window counts only conclusive
// looking), and is rolled back once the judges see the failures.
func TestRunStaleDataAfterPrometheusOutage(t *testing.T) {
	bin, dir := e2eVane(t)

	apps := map[string]*sampleapp.Instance{}
	for _, v := range []string{"v1", "v2"} {
		apps[v] = startApp(t, sampleapp.Config{Version: v, ErrorRatio: 0.002, ErrorCode: codes.Unavailable})
	}
	promSrv := startCheckoutProm(t, apps["v1"], apps["v2"])

	xdsAddr, httpAddr := freeAddr(t), freeAddr(t)
	cfgFile := filepath.Join(dir, "vane.yaml")
	cfg := fmt.Sprintf(`prometheus:
  url: %s
xds:
  listen: %s
http:
  listen: %s
store:
  path: state/vane.db
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
        - weight: 50
        - analysis: {duration: 15s}
      progress_deadline: 2m
      analysis:
        interval: 1s
        max_sample_age: 5s
        judges:
          - name: errors
            kind: sequential
            requests_metric: demo_requests_total
            bad_codes: "Unavailable|Internal|Unknown"
`, promSrv.URL, xdsAddr, httpAddr, apps["v1"].Addr())
	writeFile(t, cfgFile, cfg, 0o644)
	p, a := startVaneReady(t, bin, cfgFile, httpAddr)
	startLoad(t, xdsAddr, "stale-client", "v1", p)

	out, err := exec.Command(bin, "rollout", "start", "checkout", "--version", "v2", "--endpoints", apps["v2"].Addr(),
		"--server", a.base).CombinedOutput()
	if err != nil {
		t.Fatalf("vane rollout start: %v\n%s", err, out)
	}
	a.waitRollout("the 15s analysis at 50% started", "checkout", 30*time.Second, p, func(st rollout.State) bool {
		return st.Step == 1 && st.Applied && !st.AnalysisStarted.IsZero()
	})
	t0 := time.Now()
	time.Sleep(4 * time.Second)
	promSrv.Stop()
	stoppedAt := time.Now()
	if err := apps["v2"].SetErrorRatio(0.3); err != nil {
		t.Fatal(err)
	}
	t.Logf("Prometheus stopped %s into the analysis; the canary now fails 30%% of its calls", stoppedAt.Sub(t0).Round(time.Millisecond))
	// Wait until the judge has looked, during the outage, past the end of
	// the 15 s analysis: the rollout must still be waiting for data.
	a.waitRollout("a look past the 15s analysis during the outage", "checkout", 60*time.Second, p, func(st rollout.State) bool {
		if st.Phase.Terminal() || st.AnalysisStarted.IsZero() {
			return st.Phase.Terminal()
		}
		for _, r := range st.Results {
			if r.At.After(st.AnalysisStarted.Add(17 * time.Second)) {
				return true
			}
		}
		return false
	})
	if st, _, _ := a.state("checkout"); st.Phase.Terminal() {
		t.Fatalf("the rollout ended during the outage: %s: %s", st.Phase, st.Reason)
	}
	restartAt := time.Now()
	promSrv.Restart(t)
	t.Logf("Prometheus ready again %s after it was stopped", time.Since(stoppedAt).Round(time.Millisecond))
	a.waitRollout("the rollout ended", "checkout", 60*time.Second, p, func(st rollout.State) bool { return st.Phase.Terminal() })
	st, events, _ := a.state("checkout")
	for _, e := range events {
		if !e.At.Before(t0) {
			t.Logf("  %+8.3fs (from restart) %-12s %s", e.At.Sub(restartAt).Seconds(), e.Type, e.Reason)
		}
	}
	t.Logf("outcome: %s %s after Prometheus was started again: %s", st.Phase, st.Finished.Sub(restartAt).Round(time.Millisecond), st.Reason)
	// The judge saw the samples from before the outage as stale (the
	// look's evaluation time is now, the samples' time is before the stop).
	stale := ""
	for _, l := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(l, `msg="Judge looked"`) && strings.Contains(l, "stale data") {
			stale = l
			break
		}
	}
	if stale == "" {
		t.Errorf("no look after the restart found the samples stale")
	} else {
		t.Logf("first stale look: %s", stale[strings.Index(stale, "reason="):])
	}
	if st.Phase != rollout.Aborted {
		t.Fatalf("the canary failing 30%% of its calls was %s on stale data: %s", st.Phase, st.Reason)
	}
}
