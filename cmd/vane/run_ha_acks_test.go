package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/ha"
	"github.com/vaneproj/vane/internal/etcdtest"
	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/xds"
)

// lazyProxy is a raw ADS client that subscribes to a service's route and
// ACKs what it gets, except while held: then it answers nothing.
type lazyProxy struct {
	mu      sync.Mutex
	hold    bool
	stream  discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	pending *discovery.DiscoveryResponse
	acked   []string // the versions it ACKed
}

func startLazyProxy(t *testing.T, addr, node, service string) *lazyProxy {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; _ = conn.Close() })
	p := &lazyProxy{stream: stream}
	req := &discovery.DiscoveryRequest{Node: &core.Node{Id: node}, TypeUrl: resourcev3.RouteType, ResourceNames: []string{service}}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.hold {
				p.pending = resp
			} else {
				p.ack(resp)
			}
			p.mu.Unlock()
		}
	}()
	return p
}

// ack answers resp; called with mu held.
func (p *lazyProxy) ack(resp *discovery.DiscoveryResponse) {
	_ = p.stream.Send(&discovery.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(),
		ResponseNonce: resp.GetNonce(), ResourceNames: []string{"checkout"}})
	p.acked = append(p.acked, resp.GetVersionInfo())
}

func (p *lazyProxy) setHold(h bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = h
	if !h && p.pending != nil {
		p.ack(p.pending)
		p.pending = nil
	}
}

func (p *lazyProxy) holding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pending != nil
}

// TestRunHAAcrossReplicas runs three `vane run` replicas on one etcd with
// the default xds.min_proxies (1) and no proxy on the leader:
//   - commands sent to a follower are forwarded to the leader: a start
//     through the API and `vane rollout promote --server <follower>`;
//   - "applied" counts the proxies of every replica: a gRPC xDS client on
//     follower B and a raw ADS proxy on follower C that stops ACKing; the
//     leader does not count the step applied, and no analysis starts,
//     until C is SIGKILLed with its proxy, which then drops out within the
//     lease TTL;
//   - B's configuration differs from the others' (other steps): B reports
//     it (log, /api/v1/replicas, vane_ha_config_differs), serves the
//     stored routing, and when it leads it goes on with the stored plan.
func TestRunHAAcrossReplicas(t *testing.T) {
	bin, dir := e2eVane(t)
	const ttl = 2 * time.Second
	srv := etcdtest.Start(t)
	apps := map[string]*sampleapp.Instance{}
	for _, v := range []string{"v1", "v2"} {
		apps[v] = startApp(t, sampleapp.Config{Version: v})
	}
	steps := map[string]string{"a": "[20, 50]", "b": "[30, 60]", "c": "[20, 50]"}
	newReplica := func(name string) *haReplica {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		httpAddr, xdsAddr := freeAddr(t), freeAddr(t)
		var plan strings.Builder
		var ws []int
		_ = json.Unmarshal([]byte(steps[name]), &ws)
		for _, w := range ws {
			fmt.Fprintf(&plan, "        - weight: %d\n        - pause: {}\n", w)
		}
		cfg := fmt.Sprintf(`xds:
  listen: %s
http:
  listen: %s
prometheus:
  data_dir: prom
store:
  kind: etcd
  endpoints: [%s]
  prefix: /vane-acks
  lease_ttl: %s
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
%s`, xdsAddr, httpAddr, srv.Endpoints()[0], ttl, apps["v1"].Addr(), plan.String())
		f := filepath.Join(d, "vane.yaml")
		writeFile(t, f, cfg, 0o644)
		return &haReplica{p: startVane(t, bin, f), api: apiCaller{t: t, base: "http://" + httpAddr}, cfg: f, xds: xdsAddr}
	}
	ready := func(r *haReplica) bool { return r.api.call("GET", "/readyz", "", nil, nil) == 200 }
	a := newReplica("a")
	waitUntil(t, "a leads and is ready", 30*time.Second, a.p, func() bool { return ready(a) })
	b, c := newReplica("b"), newReplica("c")
	for _, r := range []*haReplica{b, c} {
		waitUntil(t, "a follower is ready", 30*time.Second, r.p, func() bool { return ready(r) })
	}

	// B's configuration differs: reported on B (and on A about B).
	var st ha.Status
	waitUntil(t, "B reports that its configuration differs", 10*time.Second, b.p, func() bool {
		st = ha.Status{}
		return b.api.call("GET", "/api/v1/replicas", "", nil, &st) == 200 && len(st.Replicas) == 3 && len(st.ConfigDiffers) == 2
	})
	for _, d := range st.ConfigDiffers {
		if strings.Join(d.Services, ",") != "checkout" {
			t.Fatalf("B's config_differs %+v: want the service checkout", st.ConfigDiffers)
		}
	}
	if !strings.Contains(b.p.out.String(), "configuration differs from this one's; the stored state wins") {
		t.Fatalf("B logged no warning about the other configurations:\n%s", tail(b.p.out.String(), 30))
	}
	if _, body := rawCall(t, b.api.base, "GET", "/metrics", ""); !strings.Contains(body, "vane_ha_config_differs 2") {
		t.Fatal("B's /metrics lacks vane_ha_config_differs 2")
	}
	var ast ha.Status
	if a.api.call("GET", "/api/v1/replicas", "", nil, &ast) != 200 || len(ast.ConfigDiffers) != 1 || !strings.Contains(ast.ConfigDiffers[0].Replica, strings.TrimPrefix(b.api.base, "http://")) {
		t.Fatalf("A's config_differs: %+v; want B alone", ast.ConfigDiffers)
	}

	// Proxies only on followers: a gRPC xDS client on B, a raw ADS proxy on C.
	boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: b.xds, NodeID: "client-on-b"})
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
	lazy := startLazyProxy(t, c.xds, "lazy-on-c", "checkout")
	waitUntil(t, "traffic through B's xDS", 30*time.Second, b.p, func() bool { return gen.Stats().ByVersion["v1"].OK > 20 })

	// A start sent to follower B is forwarded to the leader A.
	start := rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{apps["v2"].Addr()}}
	if code := b.api.call("POST", "/api/v1/rollouts", "", start, nil); code != 201 {
		t.Fatalf("start sent to a follower: HTTP %d; want 201 (forwarded to the leader)", code)
	}
	waitUntil(t, "B logs the forwarded call", 5*time.Second, b.p, func() bool {
		return strings.Contains(b.p.out.String(), `outcome=forwarded`)
	})
	// The leader's plan (A's, stored with the rollout) wins over B's.
	var at20 rollout.State
	waitUntil(t, "the canary at 20%, applied on every replica's proxies", 30*time.Second, a.p, func() bool {
		s, _, ok := a.api.state("checkout")
		at20 = s
		return ok && s.Routing.Weights.Canary == 20 && s.Applied
	})
	mark := gen.Stats()
	waitUntil(t, "B's client sends to the canary at the stored weight", 20*time.Second, b.p, func() bool {
		return gen.Stats().Sub(mark).ByVersion["v2"].OK > 10
	})
	if !strings.Contains(a.p.out.String(), `msg="Routing applied" component=rollout rollout=checkout routing="stable 80% / canary 20%"`) ||
		!strings.Contains(a.p.out.String(), "acked=2") {
		t.Fatalf("the leader did not count both followers' proxies:\n%s", tail(a.p.out.String(), 30))
	}

	cID := ""
	for _, r := range ast.Replicas {
		if strings.HasSuffix(r.ID, strings.TrimPrefix(c.api.base, "http://")) {
			cID = r.ID
		}
	}
	// The proxy on C stops ACKing; promote is sent to follower B with the CLI.
	lazy.setHold(true)
	out, err := exec.Command(bin, "rollout", "promote", "checkout", "--server", b.api.base).CombinedOutput()
	if err != nil {
		t.Fatalf("vane rollout promote --server <follower>: %v\n%s", err, out)
	}
	waitUntil(t, "the leader moved to 50% (not B's 60%)", 15*time.Second, a.p, func() bool {
		s, _, _ := a.api.state("checkout")
		return s.Routing.Weights.Canary == 50
	})
	waitUntil(t, "C's proxy got the 50% route and holds its ACK", 10*time.Second, c.p, lazy.holding)
	time.Sleep(3 * time.Second) // longer than a tick: the leader retries and still waits
	s, _, _ := a.api.state("checkout")
	if s.Applied || s.AnalysisStarted.After(at20.AnalysisStarted) {
		t.Fatalf("with C's proxy silent: applied %v, analysis started %s (before: %s); want not applied, no new analysis", s.Applied, s.AnalysisStarted, at20.AnalysisStarted)
	}
	if !strings.Contains(a.p.out.String(), "the proxies of replica "+cID+" have not taken it up yet") {
		t.Fatalf("the leader does not say it waits for C's proxy:\n%s", tail(a.p.out.String(), 30))
	}
	// C dies with its proxy: its record (and proxy) drop out within the TTL.
	killed := time.Now()
	if err := c.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.p.cmd.Wait()
	waitUntil(t, "the step counts as applied without C's proxy", ttl+10*time.Second, a.p, func() bool {
		s, _, _ := a.api.state("checkout")
		return s.Routing.Weights.Canary == 50 && s.Applied
	})
	dropped := time.Since(killed)
	t.Logf("a killed replica's proxy stopped holding the leader up %s after SIGKILL (lease TTL %s)", dropped.Round(time.Millisecond), ttl)
	if dropped > ttl+2*time.Second {
		t.Fatalf("the dead replica's proxy held the leader for %s, more than the TTL %s plus 2 s", dropped, ttl)
	}
	var bst ha.Status
	if b.api.call("GET", "/api/v1/replicas", "", nil, &bst) != 200 || len(bst.Replicas) != 2 {
		t.Fatalf("B's replicas after C died: %+v", bst.Replicas)
	}

	// A dies: B leads and goes on with the stored plan (A's 20, 50), not
	// its own (30, 60): the promote from 50% completes the rollout.
	if err := a.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.p.cmd.Wait()
	waitUntil(t, "B leads", ttl+15*time.Second, b.p, func() bool {
		var s ha.Status
		return b.api.call("GET", "/api/v1/replicas", "", nil, &s) == 200 && strings.Contains(s.Leader, strings.TrimPrefix(b.api.base, "http://"))
	})
	waitUntil(t, "B resumed at 50%", 20*time.Second, b.p, func() bool {
		s, _, _ := b.api.state("checkout")
		return s.Routing.Weights.Canary == 50 && s.Applied
	})
	if code := b.api.call("POST", "/api/v1/rollouts/checkout/promote", "", nil, nil); code != 200 {
		t.Fatalf("promote on B: HTTP %d", code)
	}
	waitUntil(t, "the stored plan's last step done: promoted", 20*time.Second, b.p, func() bool {
		s, _, _ := b.api.state("checkout")
		return s.Phase == rollout.Succeeded
	})
}

// TestRunHABadCanaryDuringFailover: two replicas on etcd with a real
// Prometheus and the sequential judge; a good canary is at 20% under
// analysis when the leader is SIGKILLed and, at the same moment, the
// canary turns bad (30% errors). The follower takes over, resumes the
// analysis and rolls the canary back; its clients stop calling it.
func TestRunHABadCanaryDuringFailover(t *testing.T) {
	testBadCanaryDuringFailover(t, config.StoreEtcd)
}

// TestRunHABadCanaryDuringFailoverOnKubernetes is
// TestRunHABadCanaryDuringFailover with store.kind kubernetes on a real
// kube-apiserver: the state, the fencing term and the replicas' records in
// ConfigMaps, the leader elected with a Lease of 2 s, no etcd of Vane's.
func TestRunHABadCanaryDuringFailoverOnKubernetes(t *testing.T) {
	testBadCanaryDuringFailover(t, config.StoreKubernetes)
}

func testBadCanaryDuringFailover(t *testing.T, kind string) {
	bin, dir := e2eVane(t)
	const ttl = 2 * time.Second
	// storeYAML is the replicas' store (and election) section; etcdURL
	// the etcd whose revision counts the writes (with Kubernetes, the API
	// server's: Vane's writes and the API server's own).
	var storeYAML, etcdURL, prefix string
	if kind == config.StoreEtcd {
		srv := etcdtest.Start(t)
		etcdURL, prefix = srv.Endpoints()[0], "/vane-bad/"
		storeYAML = fmt.Sprintf(`store:
  kind: etcd
  endpoints: [%s]
  prefix: /vane-bad
  lease_ttl: %s`, etcdURL, ttl)
	} else {
		cluster := kubetest.Start(t)
		kubeconfig := filepath.Join(dir, "kubeconfig")
		writeKubeconfig(t, cluster, kubeconfig)
		etcdURL, prefix = cluster.EtcdURL, "/"
		storeYAML = fmt.Sprintf(`store:
  kind: kubernetes
  name: vane-bad
  kubeconfig: %s
election:
  lease: {name: vane-bad, duration: %s}`, kubeconfig, ttl)
	}
	apps := map[string]*sampleapp.Instance{}
	for _, v := range []string{"v1", "v2"} {
		apps[v] = startApp(t, sampleapp.Config{Version: v, ErrorRatio: 0.002})
	}
	promSrv := startCheckoutProm(t, apps["v1"], apps["v2"])
	newReplica := func(name string) *haReplica {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		httpAddr, xdsAddr := freeAddr(t), freeAddr(t)
		cfg := fmt.Sprintf(`prometheus:
  url: %s
xds:
  listen: %s
http:
  listen: %s
%s
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
        - weight: 20
        - analysis: {duration: 2m}
        - weight: 50
      progress_deadline: 5m
      analysis:
        interval: 1s
        judges:
          - name: errors
            kind: sequential
            interval: 1s
            requests_metric: demo_requests_total
            bad_codes: "Unavailable|Internal|Unknown"
`, promSrv.URL, xdsAddr, httpAddr, storeYAML, apps["v1"].Addr())
		f := filepath.Join(d, "vane.yaml")
		writeFile(t, f, cfg, 0o644)
		return &haReplica{p: startVane(t, bin, f), api: apiCaller{t: t, base: "http://" + httpAddr}, cfg: f, xds: xdsAddr}
	}
	ready := func(r *haReplica) bool { return r.api.call("GET", "/readyz", "", nil, nil) == 200 }
	a := newReplica("a")
	waitUntil(t, "a leads and is ready", 30*time.Second, a.p, func() bool { return ready(a) })
	b := newReplica("b")
	waitUntil(t, "b is ready", 30*time.Second, b.p, func() bool { return ready(b) })
	// Clients 0 and 1 dial a name that resolves to both replicas (as a
	// Kubernetes Service or a DNS name with one address per replica does),
	// in a different order each: they spread over the replicas, and a
	// client whose replica dies reconnects to the other. Client 2 lists
	// a's address first and b's as a bootstrap fallback.
	var gens []*loadgen.Generator
	for i, r := range []*haReplica{a, b, a} {
		other := map[*haReplica]*haReplica{a: b, b: a}[r]
		uri := fmt.Sprintf("vane-replicas-%d:///checkout-control-plane", i)
		res := manual.NewBuilderWithScheme(fmt.Sprintf("vane-replicas-%d", i))
		res.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: r.xds}, {Addr: other.xds}}})
		resolver.Register(res)
		bc := xds.BootstrapConfig{ServerURI: uri, NodeID: fmt.Sprintf("client-%d", i)}
		if i == 2 {
			bc = xds.BootstrapConfig{ServerURI: r.xds, Fallback: []string{other.xds}, NodeID: "client-2"}
		}
		boot, err := xds.Bootstrap(bc)
		if err != nil {
			t.Fatal(err)
		}
		g, err := loadgen.New(loadgen.Config{Target: "xds:///checkout", Bootstrap: boot, Rate: 100})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = g.Run(ctx) }()
		t.Cleanup(func() { stop(); <-done; _ = g.Close() })
		gens = append(gens, g)
		waitUntil(t, "traffic through a client", 30*time.Second, r.p, func() bool { return g.Stats().ByVersion["v1"].OK > 50 })
	}
	start := rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{apps["v2"].Addr()}}
	if code := b.api.call("POST", "/api/v1/rollouts", "", start, nil); code != 201 {
		t.Fatalf("start through the follower: HTTP %d", code)
	}
	waitUntil(t, "the good canary at 20% under analysis", 60*time.Second, a.p, func() bool {
		s, _, _ := a.api.state("checkout")
		return s.Routing.Weights.Canary == 20 && s.Applied && s.Step == 1 && !s.AnalysisStarted.IsZero()
	})
	// A few good evaluations; what one rollout under analysis costs etcd
	// (every replica's writes) and Prometheus (the leader's queries).
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdURL}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	revision := func() int64 {
		r, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Revision
	}
	queries := func() float64 {
		_, body := rawCall(t, a.api.base, "GET", "/metrics", "")
		var n float64
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "vane_prom_query_duration_seconds_count") {
				f := strings.Fields(l)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				n += v
			}
		}
		return n
	}
	rev0, q0, t0 := revision(), queries(), time.Now()
	time.Sleep(5 * time.Second)
	secs := time.Since(t0).Seconds()
	t.Logf("store %s: one rollout under analysis (judge interval 1s), 2 replicas, 2 clients: %.1f etcd writes/s, %.1f Prometheus queries/s from the leader",
		kind, float64(revision()-rev0)/secs, (queries()-q0)/secs)
	killed := time.Now()
	if err := a.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := apps["v2"].SetErrorRatio(0.3); err != nil {
		t.Fatal(err)
	}
	_ = a.p.cmd.Wait()
	var st rollout.State
	waitUntil(t, "the new leader rolls the bad canary back", 90*time.Second, b.p, func() bool {
		s, _, ok := b.api.state("checkout")
		st = s
		return ok && s.Phase == rollout.Aborted
	})
	t.Logf("rolled back %s after the leader's SIGKILL and the canary's fault: %s", time.Since(killed).Round(time.Millisecond), st.Reason)
	if st.Routing.Weights.Canary != 0 {
		t.Fatalf("aborted at weight %d", st.Routing.Weights.Canary)
	}
	if !strings.Contains(b.p.out.String(), `msg="Resuming rollout"`) {
		t.Fatal("b did not resume the rollout")
	}
	// The clients of both replicas, the dead one's included (it
	// reconnected to b), no longer call the canary.
	time.Sleep(500 * time.Millisecond)
	marks := []loadgen.Stats{gens[0].Stats(), gens[1].Stats(), gens[2].Stats()}
	time.Sleep(2 * time.Second)
	for i := range 2 {
		if d := gens[i].Stats().Sub(marks[i]); d.ByVersion["v2"].OK+d.ByVersion["v2"].Failed > 0 || d.ByVersion["v1"].OK == 0 {
			t.Fatalf("after the rollback client %d still calls v2 or not v1: %+v", i, d.ByVersion)
		}
	}
	if n := streamsOf(t, b); n != 2 {
		t.Fatalf("b has %d xDS streams after a died; want 2 (its own client and the one that reconnected)", n)
	}
	// gRPC-Go turns to a bootstrap's fallback server only for resources it
	// does not hold (gRFC A71): client 2 keeps a's last routing.
	d := gens[2].Stats().Sub(marks[2])
	t.Logf("client 2 (fallback list, its first server dead) after the rollback: v1 %d, v2 %d calls in 2 s", d.ByVersion["v1"].OK+d.ByVersion["v1"].Failed, d.ByVersion["v2"].OK+d.ByVersion["v2"].Failed)
}
