package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/xds"
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
	stable, err := sampleapp.Start(sampleapp.Config{Version: "checkout-7d9f6"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stable.Close() })
	canary, err := sampleapp.Start(sampleapp.Config{Version: "checkout-85c4b", ErrorRatio: 0.1, ErrorCode: codes.Unavailable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = canary.Close() })
	promSrv := promtest.Start(t, promtest.ServerConfig{ScrapeInterval: time.Second,
		Jobs: []promtest.Job{{Name: "checkout", Targets: []string{stable.MetricsAddr(), canary.MetricsAddr()},
			Labels: map[string]string{"service": "checkout"}}}})
	waitUntil(t, "Prometheus scraped both versions", 30*time.Second, &vaneProc{out: &promtest.SyncBuffer{}}, func() bool {
		r, err := http.Get(promSrv.URL + "/api/v1/query?query=" + url.QueryEscape(`count(count by (version) (demo_requests_total{service="checkout"}))`))
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return strings.Contains(string(b), `"2"]`)
	})

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
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
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

	p := startVane(t, bin, cfgFile)
	a := apiCaller{t: t, base: "http://" + httpAddr}
	waitUntil(t, "readyz", 30*time.Second, p, func() bool { return a.call("GET", "/readyz", "", nil, nil) == 200 })
	boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: xdsAddr, NodeID: "judges-client"})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := loadgen.New(loadgen.Config{Target: "xds:///checkout", Bootstrap: boot, Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	genCtx, stopGen := context.WithCancel(context.Background())
	genDone := make(chan struct{})
	go func() { defer close(genDone); _ = gen.Run(genCtx) }()
	t.Cleanup(func() { stopGen(); <-genDone; _ = gen.Close() })
	waitUntil(t, "traffic through the xDS client", 30*time.Second, p, func() bool { return gen.Stats().ByVersion["checkout-7d9f6"].OK > 50 })

	start := rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{canary.Addr()}}
	if code := a.call("POST", "/api/v1/rollouts", "", start, nil); code != http.StatusCreated {
		t.Fatalf("start v2: HTTP %d", code)
	}
	waitUntil(t, "the rollout reports why it does not start", 20*time.Second, p, func() bool {
		st, _, _ := a.state("checkout")
		return strings.Contains(st.Reason, "can never match")
	})
	time.Sleep(3 * time.Second) // a few more looks: it must stay put
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
	waitUntil(t, "the pending rollout aborted", 20*time.Second, p, func() bool {
		st, _, _ := a.state("checkout")
		return st.Phase == rollout.Aborted
	})

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
	waitUntil(t, "the failing canary rolled back", 60*time.Second, p, func() bool {
		st, _, _ := a.state("checkout")
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
