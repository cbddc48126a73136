package main

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/rollout"
)

// TestRunRefusesAJudgeThatCannotFail runs `vane run` as a process with a
// real Prometheus server scraping the sample gRPC service, whose versions
// label their metrics checkout-7d9f6 and checkout-85c4b while vane.yaml
// calls them v1 and v2 (mapped by version_label_values). The canary fails
// 10% of its calls with UNAVAILABLE.
//
// With the default bad codes ("5..", HTTP's server errors) on this gRPC
// service, the judge could never count a bad event (before the preflight,
// such a canary was promoted): `vane run --check` fails naming the matcher
// and the fix, and a started rollout stays Pending with the reason in its
// status and a blocked event, the canary getting no traffic. With
// protocol: grpc and still no bad_codes, the gRPC defaults apply: --check
// verifies the judge and the failing canary is rolled back.
func TestRunRefusesAJudgeThatCannotFail(t *testing.T) {
	bin := buildVane(t)
	dir := t.TempDir()
	stable := startApp(t, sampleapp.Config{Version: "checkout-7d9f6"})
	canary := startApp(t, sampleapp.Config{Version: "checkout-85c4b", ErrorRatio: 0.1, ErrorCode: codes.Unavailable})
	promSrv := startCheckoutProm(t, stable, canary)

	xdsAddr, httpAddr := freeAddr(t), freeAddr(t)
	cfgFile := filepath.Join(dir, "vane.yaml")
	writeCfg := func(protocol string) {
		t.Helper()
		cfg := fmt.Sprintf(`prometheus:
  url: %s
xds:
  listen: %s
http:
  listen: %s
store:
  path: vane.db
services:
  - name: checkout
%s    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
        - weight: 50
        - analysis: {duration: 30s}
      progress_deadline: 1m
      analysis:
        interval: 1s
        version_label_values: {v1: checkout-7d9f6, v2: checkout-85c4b}
        judges:
          - name: errors
            kind: sequential
            interval: 1s
            requests_metric: demo_requests_total
`, promSrv.URL, xdsAddr, httpAddr, protocol, stable.Addr())
		writeFile(t, cfgFile, cfg, 0o644)
	}

	// 1. The default bad codes (HTTP's 5..) on a gRPC service that does not
	// say it is one: refused by --check, with the fix.
	writeCfg("")
	out, err := exec.Command(bin, "run", "-c", cfgFile, "--check").CombinedOutput()
	if err == nil {
		t.Fatalf("vane run --check accepted bad_codes 5.. on gRPC codes:\n%s", out)
	}
	for _, want := range []string{`code=~"5.."`, "can never match", `"OK"`, "gRPC code names", "bad_codes:", "protocol: grpc"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("vane run --check output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("vane run --check: %s", out)

	p, a := startVaneReady(t, bin, cfgFile, httpAddr)
	gen := startLoad(t, xdsAddr, "judges-client", "checkout-7d9f6", p)

	start := rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{canary.Addr()}}
	if code := a.call("POST", "/api/v1/rollouts", "", start, nil); code != http.StatusCreated {
		t.Fatalf("start v2: HTTP %d", code)
	}
	a.waitRollout("the rollout reports why it does not start", "checkout", 20*time.Second, p, func(st rollout.State) bool {
		return strings.Contains(st.Reason, "can never match")
	})
	// A few more looks (evaluations): it must stay put.
	looks := a.evaluations(t, "checkout")
	waitUntil(t, "three more evaluations", 20*time.Second, p, func() bool { return a.evaluations(t, "checkout") >= looks+3 })
	st, events, _ := a.state("checkout")
	if st.Phase != rollout.Pending || st.Routing.Weights.Canary != 0 {
		t.Fatalf("a blind judge let the rollout move: %s, canary %d%%: %s", st.Phase, st.Routing.Weights.Canary, st.Reason)
	}
	blocked := 0
	for _, e := range events {
		if e.Type == rollout.EvBlocked && strings.Contains(e.Reason, "can never match") {
			blocked++
		}
	}
	if blocked != 1 {
		t.Errorf("%d blocked events about the judge, want 1: %+v", blocked, events)
	}
	if n := gen.Stats().ByVersion["checkout-85c4b"].Total(); n != 0 {
		t.Fatalf("the canary of a blind judge served %d calls", n)
	}
	t.Logf("refused before the change: %s", st.Reason)
	if code := a.call("POST", "/api/v1/rollouts/checkout/abort", "", nil, nil); code != http.StatusOK {
		t.Fatalf("abort: HTTP %d", code)
	}
	a.waitRollout("the pending rollout aborted", "checkout", 20*time.Second, p, phaseIs(rollout.Aborted))

	// 2. protocol grpc's defaults: verified, and the failing canary is
	// rolled back.
	writeCfg("    protocol: grpc\n")
	out, err = exec.Command(bin, "run", "-c", cfgFile, "--check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "judge errors: verified on v1's live series") {
		t.Fatalf("vane run --check with the gRPC defaults: %v\n%s", err, out)
	}
	waitUntil(t, "the configuration reloaded", 20*time.Second, p, func() bool {
		return strings.Contains(p.out.String(), "Configuration reloaded")
	})
	if code := a.call("POST", "/api/v1/rollouts", "", start, nil); code != http.StatusCreated {
		t.Fatalf("start v2 again: HTTP %d", code)
	}
	a.waitRollout("the failing canary rolled back", "checkout", 60*time.Second, p, func(st rollout.State) bool {
		return st.Phase == rollout.Aborted && strings.Contains(st.Reason, "errors fail")
	})
	st, events, _ = a.state("checkout")
	for _, e := range events {
		t.Logf("  %s %-10s %s", e.At.Format("15:04:05.000"), e.Type, e.Reason)
	}
	if served := gen.Stats().ByVersion["checkout-85c4b"]; served.Failed == 0 {
		t.Fatalf("the canary served no failed call (%+v); the test proves nothing", served)
	}
}
