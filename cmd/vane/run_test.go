package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/xds"
)

// vaneProc is a `vane run` process started by the test.
type vaneProc struct {
	cmd *exec.Cmd
	out *promtest.SyncBuffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func buildVane(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vane")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startVane(t *testing.T, bin, cfg string) *vaneProc {
	t.Helper()
	p := &vaneProc{cmd: exec.Command(bin, "run", "-c", cfg, "--log-level", "debug"), out: &promtest.SyncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	return p
}

type apiCaller struct {
	t    *testing.T
	base string
}

func (a apiCaller) call(method, path, token string, body any, into any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, into); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func (a apiCaller) state(name string) (rollout.State, []rollout.Event, bool) {
	var d api.RolloutDetail
	if a.call("GET", "/api/v1/rollouts/"+name+"?events=200", "", nil, &d) != 200 {
		return rollout.State{}, nil, false
	}
	return d.Rollout, d.Events, true
}

func waitUntil(t *testing.T, what string, limit time.Duration, p *vaneProc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s\nvane output:\n%s", what, limit, tail(p.out.String(), 60))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestRunEndToEnd runs `vane run` as a real process with a real Prometheus
// server, three sample-app versions and a gRPC xDS client sending traffic:
// an API call without the token is refused; a bad canary is rolled back
// and gets no traffic afterwards; a good one survives a SIGKILL mid-step,
// resumes at the same step and weight, and is promoted; a canary written
// into the watched vane.yaml starts a rollout.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of vane run; run without -short")
	}
	bin := buildVane(t)
	dir := t.TempDir()

	apps := map[string]*sampleapp.Instance{}
	for _, v := range []struct {
		version string
		errors  float64
	}{{"v1", 0.002}, {"v2", 0.3}, {"v3", 0.002}} {
		in, err := sampleapp.Start(sampleapp.Config{Version: v.version, ErrorRatio: v.errors, ErrorCode: codes.Unavailable})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Close() })
		apps[v.version] = in
	}
	var targets []string
	for _, v := range []string{"v1", "v2", "v3"} {
		targets = append(targets, apps[v].MetricsAddr())
	}
	promSrv := promtest.Start(t, promtest.ServerConfig{ScrapeInterval: time.Second,
		Jobs: []promtest.Job{{Name: "checkout", Targets: targets, Labels: map[string]string{"service": "checkout"}}}})

	// Prometheus hands new targets to its scrape manager every 5 s: wait
	// for the first samples of every version, as a long-running server has.
	waitUntil(t, "Prometheus scraped every version", 30*time.Second, &vaneProc{out: &promtest.SyncBuffer{}}, func() bool {
		r, err := http.Get(promSrv.URL + "/api/v1/query?query=" + url.QueryEscape(`count(count by (version) (demo_requests_total{service="checkout"}))`))
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return strings.Contains(string(b), `"3"]`)
	})

	xdsAddr, httpAddr := freeAddr(t), freeAddr(t)
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("e2e-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
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
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "run", "-c", cfgFile, "--check").CombinedOutput(); err != nil {
		t.Fatalf("vane run --check: %v\n%s", err, out)
	}

	p := startVane(t, bin, cfgFile)
	a := apiCaller{t: t, base: "http://" + httpAddr}
	waitUntil(t, "readyz", 30*time.Second, p, func() bool { return a.call("GET", "/readyz", "", nil, nil) == 200 })

	boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: xdsAddr, NodeID: "e2e-client"})
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
	waitUntil(t, "traffic through the xDS client", 30*time.Second, p, func() bool { return gen.Stats().ByVersion["v1"].OK > 50 })

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
	waitUntil(t, "v2 rolled back", 60*time.Second, p, func() bool {
		st, _, _ := a.state("checkout")
		return st.Phase == rollout.Aborted
	})
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
	time.Sleep(2500 * time.Millisecond) // calls sent before the ACK may still be in flight (timeout 2 s)
	if last := gen.Stats().ByVersion["v2"].LastServed; last.After(weight0.Add(100 * time.Millisecond)) {
		t.Fatalf("v2 answered a call sent %s after the weight-0 ACK", last.Sub(weight0))
	} else {
		t.Logf("the last call v2 answered was sent %s before the weight-0 ACK", weight0.Sub(last).Round(time.Millisecond))
	}
	quiet := gen.Stats()
	time.Sleep(3 * time.Second)
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
	waitUntil(t, "v3 at the 50% analysis", 60*time.Second, p, func() bool {
		st, _, _ := a.state("checkout")
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
	time.Sleep(time.Second)
	if gen.Stats().Sub(mid).ByVersion["v3"].OK == 0 {
		t.Fatal("the xDS client stopped sending to v3 while vane was down")
	}

	p2 := startVane(t, bin, cfgFile)
	waitUntil(t, "readyz after restart", 30*time.Second, p2, func() bool { return a.call("GET", "/readyz", "", nil, nil) == 200 })
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
	waitUntil(t, "v3 promoted", 90*time.Second, p2, func() bool {
		st, _, _ := a.state("checkout")
		return st.Phase == rollout.Succeeded
	})
	time.Sleep(2 * time.Second)
	after := gen.Stats()
	time.Sleep(2 * time.Second)
	d := gen.Stats().Sub(after)
	if d.ByVersion["v3"].OK == 0 || d.ByVersion["v1"].Total() != 0 || d.ByVersion["v2"].Total() != 0 {
		t.Fatalf("after promotion the client got v1 %d, v2 %d, v3 %d calls", d.ByVersion["v1"].Total(), d.ByVersion["v2"].Total(), d.ByVersion["v3"].Total())
	}

	// 3. A canary written into vane.yaml while vane runs starts a rollout
	// (here the bad v2 again, which is rolled back from the new stable v3).
	edited := strings.Replace(cfg, "    rollout:\n", fmt.Sprintf("    canary: {version: v2, endpoints: [%q]}\n    rollout:\n", apps["v2"].Addr()), 1)
	if err := os.WriteFile(cfgFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the configured canary rolled out and back", 60*time.Second, p2, func() bool {
		st, _, _ := a.state("checkout")
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
