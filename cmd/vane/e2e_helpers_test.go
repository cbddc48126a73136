package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// The helpers the end-to-end tests of the vane command share: building and
// starting `vane run`, the sample app, a real Prometheus scraping it, the
// xDS load generator, and polling the API.

// vaneProc is a `vane run` process started by the test.
type vaneProc struct {
	cmd *exec.Cmd
	out *promtest.SyncBuffer
}

// noVane stands for the vane process in waitUntil before one is started.
func noVane() *vaneProc { return &vaneProc{out: &promtest.SyncBuffer{}} }

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

// e2eVane skips an end-to-end test of vane run in -short mode, and
// otherwise builds vane; it returns the binary and a temporary directory.
func e2eVane(t *testing.T) (bin, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test of vane run; run without -short")
	}
	return buildVane(t), t.TempDir()
}

// writeFile writes data to path or fails the test.
func writeFile(t *testing.T, path, data string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
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

// startVaneReady starts `vane run -c cfg` and waits until its API at
// httpAddr is ready.
func startVaneReady(t *testing.T, bin, cfg, httpAddr string) (*vaneProc, apiCaller) {
	t.Helper()
	p := startVane(t, bin, cfg)
	a := apiCaller{t: t, base: "http://" + httpAddr}
	a.waitReady("readyz", p)
	return p, a
}

// startApp starts a sample app, closed when the test ends.
func startApp(t *testing.T, cfg sampleapp.Config) *sampleapp.Instance {
	t.Helper()
	in, err := sampleapp.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// startCheckoutProm starts a real Prometheus scraping the apps every
// second as job checkout (label service=checkout), and waits for the
// first samples of every version: Prometheus hands new targets to its
// scrape manager every 5 s, and a long-running server has them.
func startCheckoutProm(t *testing.T, apps ...*sampleapp.Instance) *promtest.Server {
	t.Helper()
	return startServicesProm(t, []string{"checkout"}, apps...)
}

// startServicesProm is startCheckoutProm with one job of the apps for
// each of services (labelled service=NAME); it waits for checkout's.
func startServicesProm(t *testing.T, services []string, apps ...*sampleapp.Instance) *promtest.Server {
	t.Helper()
	var targets []string
	for _, a := range apps {
		targets = append(targets, a.MetricsAddr())
	}
	var jobs []promtest.Job
	for _, svc := range services {
		jobs = append(jobs, promtest.Job{Name: svc, Targets: targets, Labels: map[string]string{"service": svc}})
	}
	srv := promtest.Start(t, promtest.ServerConfig{ScrapeInterval: time.Second, Jobs: jobs})
	want := fmt.Sprintf(`"%d"]`, len(apps))
	waitUntil(t, "Prometheus scraped every version", 30*time.Second, noVane(), func() bool {
		r, err := http.Get(srv.URL + "/api/v1/query?query=" + url.QueryEscape(`count(count by (version) (demo_requests_total{service="checkout"}))`))
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return strings.Contains(string(b), want)
	})
	return srv
}

// startLoad sends 100 calls a second to xds:///checkout through a gRPC
// xDS client of the xDS server at xdsAddr, until the test ends, and waits
// until the version stable has answered some.
func startLoad(t *testing.T, xdsAddr, nodeID, stable string, p *vaneProc) *loadgen.Generator {
	t.Helper()
	boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: xdsAddr, NodeID: nodeID})
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
	waitUntil(t, "traffic through the xDS client", 30*time.Second, p, func() bool { return gen.Stats().ByVersion[stable].OK > 50 })
	return gen
}

// apiCaller calls the HTTP API of vane at base.
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

// waitReady waits until /readyz answers 200.
func (a apiCaller) waitReady(what string, p *vaneProc) {
	a.t.Helper()
	waitUntil(a.t, what, 30*time.Second, p, func() bool { return a.call("GET", "/readyz", "", nil, nil) == 200 })
}

// waitRollout waits until the state of rollout name satisfies cond.
func (a apiCaller) waitRollout(what, name string, limit time.Duration, p *vaneProc, cond func(rollout.State) bool) {
	a.t.Helper()
	waitUntil(a.t, what, limit, p, func() bool {
		st, _, _ := a.state(name)
		return cond(st)
	})
}

// phaseIs is a waitRollout condition: the rollout is in phase ph.
func phaseIs(ph rollout.Phase) func(rollout.State) bool {
	return func(st rollout.State) bool { return st.Phase == ph }
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

// runCLI runs the vane command in process with args and returns what it
// printed on stdout.
func runCLI(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// startRolloutAPI runs a rollout manager of the service checkout (stable
// v1) with plan, stored in dir, behind the real HTTP API served by
// newServer (httptest.NewServer or NewTLSServer), with the token file
// token if not empty. It returns once the manager is ready; all stops
// when the test ends.
func startRolloutAPI(t *testing.T, dir string, plan rollout.Plan, token string, newServer func(http.Handler) *httptest.Server) (*rollout.Manager, *httptest.Server) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "vane.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	router := traffic.RouterFunc(func(context.Context, traffic.Service, traffic.Routing) (traffic.Applied, error) {
		return traffic.Applied{Version: "1"}, nil
	})
	svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:9001"}}}
	m, err := rollout.NewManager(rollout.Options{Router: router, Store: db}, []rollout.ServiceConfig{{Service: svc, Plan: plan}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s, err := api.New(api.Options{Rollouts: m, TokenFile: token})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(s.Handler())
	t.Cleanup(srv.Close)
	for !m.Ready() {
		time.Sleep(time.Millisecond)
	}
	return m, srv
}

// startController runs the controller of `vane run` in process with cfg
// until the test ends, when it must return no error; it returns its log.
func startController(t *testing.T, cfg *config.Config) *promtest.SyncBuffer {
	t.Helper()
	var logs promtest.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runController(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runController: %v", err)
		}
	})
	return &logs
}

// evaluations returns how many evaluations (ticks) vane's rollout
// controller made for rollout name, read from the process's /metrics.
func (a apiCaller) evaluations(t *testing.T, name string) uint64 {
	t.Helper()
	resp, err := http.Get(a.base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, m := range mfs["vane_rollout_evaluation_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "rollout" && l.GetValue() == name {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}
