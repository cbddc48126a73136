package xds_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	grpcxds "google.golang.org/grpc/xds"

	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

func TestMain(m *testing.M) {
	// gRPC's "tls" channel credentials in an xDS bootstrap start a
	// certificate file watcher that nothing can close (credential bundles
	// are not closable; grpc/grpc-go#6757).
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("google.golang.org/grpc/credentials/tls/certprovider/pemfile.(*watcher).run"))
}

// backend is a real gRPC TestService that answers with its version.
type backend struct {
	testgrpc.UnimplementedTestServiceServer
	version string
}

func (b *backend) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{Hostname: b.version}, nil
}

func startBackend(t *testing.T, version string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, &backend{version: version})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return ln.Addr().String()
}

type env struct {
	t      *testing.T
	svc    traffic.Service
	server *xds.Server
	addr   string
	reg    *prometheus.Registry
	stop   func()
}

// newEnv starts two backends (v1 stable, v2 canary) and an xDS server.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, svc: traffic.Service{
		Name:   "svc",
		Stable: traffic.Backend{Version: "v1", Endpoints: []string{startBackend(t, "v1")}},
		Canary: traffic.Backend{Version: "v2", Endpoints: []string{startBackend(t, "v2")}},
	}}
	e.startServer("127.0.0.1:0")
	return e
}

func (e *env) startServer(listen string) {
	t := e.t
	t.Helper()
	e.reg = prometheus.NewRegistry()
	s, err := xds.New(xds.Options{
		Listen:     listen,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		Registerer: e.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	e.server, e.addr = s, addr.String()
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(e.stop)
}

// apply applies r; Apply returns once the clients ACKed it and the server's
// hand-off time (xds.DefaultHandoff) has passed.
func (e *env) apply(r traffic.Routing) traffic.Applied {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := e.server.Apply(ctx, e.svc, r)
	if err != nil {
		e.t.Fatalf("Apply(%s): %v", r, err)
	}
	return a
}

// client dials xds:///svc as node id through its own xDS client.
func (e *env) client(id string) testgrpc.TestServiceClient {
	t := e.t
	t.Helper()
	bs, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: e.addr, NodeID: id})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := grpcxds.NewXDSResolverWithConfigForTesting(bs)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient("xds:///"+e.svc.Name, grpc.WithResolvers(rb), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	c := testgrpc.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("first RPC of %s: %v", id, err)
	}
	return c
}

// count sends n RPCs (8 at a time) and counts the answers per version.
func count(t *testing.T, c testgrpc.TestServiceClient, n int, md metadata.MD) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if md != nil {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string]int{}
			for i := w; i < n; i += workers {
				resp, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
				if err != nil {
					errs <- err
					return
				}
				local[resp.GetHostname()]++
			}
			mu.Lock()
			for k, v := range local {
				got[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("RPC: %v", err)
	}
	return got
}

func weights(canary int) traffic.Routing {
	return traffic.Routing{Weights: traffic.Weights{Stable: 100 - canary, Canary: canary}}
}

func TestWeightedSplitMatchesWeights(t *testing.T) {
	e := newEnv(t)
	e.apply(traffic.AllStable())
	c := e.client("split")
	m := e.server.Metrics()
	others := func() [3]float64 {
		return [3]float64{testutil.ToFloat64(m.Pushes("listener")), testutil.ToFloat64(m.Pushes("cluster")), testutil.ToFloat64(m.Pushes("endpoint"))}
	}
	before, routes := others(), testutil.ToFloat64(m.Pushes("route"))
	const n = 10000
	for _, pct := range []int{1, 5, 50, 100} {
		a := e.apply(weights(pct))
		if len(a.Acked) != 1 || a.Acked[0] != "split" {
			t.Fatalf("canary %d%%: acked by %v, want [split]", pct, a.Acked)
		}
		got := count(t, c, n, nil)
		p := float64(pct) / 100
		sd := math.Sqrt(n * p * (1 - p))
		diff := math.Abs(float64(got["v2"]) - n*p)
		t.Logf("canary %3d%%: %d of %d RPCs to the canary (expected %.0f ± 4×%.1f)", pct, got["v2"], n, n*p, sd)
		if diff > 4*sd || got["v1"]+got["v2"] != n {
			t.Errorf("canary %d%%: got %v, want canary within %.1f of %.0f", pct, got, 4*sd, n*p)
		}
	}
	// Weight changes are RDS-only: one route push per change, nothing else.
	if after := others(); after != before {
		t.Errorf("listener/cluster/endpoint pushes went from %v to %v on weight changes", before, after)
	}
	if got := testutil.ToFloat64(m.Pushes("route")) - routes; got != 4 {
		t.Errorf("%v route pushes for 4 weight changes, want 4", got)
	}
}

func TestRollbackStopsCanaryRPCs(t *testing.T) {
	e := newEnv(t)
	e.apply(weights(50))
	c := e.client("rollback")
	if got := count(t, c, 400, nil); got["v2"] == 0 {
		t.Fatalf("at 50%% no RPC reached the canary: %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := e.server.Apply(ctx, e.svc, weights(0))
	if err != nil || len(a.Acked) != 1 {
		t.Fatalf("Apply(weight 0): %+v, %v", a, err)
	}
	returned := time.Now()
	// 8 workers send at least 2000 RPCs from the moment Apply returned,
	// and go on until three hand-offs have passed; note when each RPC
	// that the canary answered started.
	var mu sync.Mutex
	var strays []time.Duration
	var lastStart time.Duration
	var sent int
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				start := time.Since(returned)
				if i >= 250 && start > 3*xds.DefaultHandoff {
					return
				}
				resp, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if resp.GetHostname() == "v2" {
					strays = append(strays, start)
				}
				lastStart = max(lastStart, start)
				sent++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("after Apply(weight 0) returned: %d of %d RPCs on the canary; RPCs ran until %v", len(strays), sent, lastStart)
	for _, d := range strays {
		t.Errorf("an RPC started %v after Apply(weight 0) returned reached the canary", d)
	}
	if lastStart < 2*xds.DefaultHandoff {
		t.Fatalf("the RPCs ended %v after Apply returned, too soon to show the canary stays idle", lastStart)
	}
}

func TestHeaderRouteSendsCohortToCanary(t *testing.T) {
	e := newEnv(t)
	e.apply(traffic.AllStable())
	c := e.client("header")
	r := traffic.AllStable()
	r.CanaryHeaders = []traffic.HeaderMatch{{Name: "x-canary", Value: "always"}}
	e.apply(r)
	if got := count(t, c, 1000, metadata.Pairs("x-canary", "always")); got["v2"] != 1000 {
		t.Errorf("with the header: %v, want every RPC on the canary", got)
	}
	if got := count(t, c, 1000, metadata.Pairs("x-canary", "sometimes")); got["v1"] != 1000 {
		t.Errorf("with another value: %v, want every RPC on stable", got)
	}
	if got := count(t, c, 1000, nil); got["v1"] != 1000 {
		t.Errorf("without the header: %v, want every RPC on stable", got)
	}
}

func TestClientsBeforeAndAfterAChangeAgree(t *testing.T) {
	e := newEnv(t)
	e.apply(traffic.AllStable())
	before := e.client("before")
	a := e.apply(weights(100))
	if strings.Join(a.Acked, ",") != "before" {
		t.Fatalf("acked by %v, want [before]", a.Acked)
	}
	after := e.client("after")
	gb, ga := count(t, before, 500, nil), count(t, after, 500, nil)
	if gb["v2"] != 500 || ga["v2"] != 500 {
		t.Errorf("before: %v, after: %v; want both all on the canary", gb, ga)
	}
	a = e.apply(weights(0))
	if strings.Join(a.Acked, ",") != "after,before" {
		t.Fatalf("acked by %v, want [after before]", a.Acked)
	}
	gb, ga = count(t, before, 500, nil), count(t, after, 500, nil)
	if gb["v1"] != 500 || ga["v1"] != 500 {
		t.Errorf("before: %v, after: %v; want both all on stable", gb, ga)
	}
}

func TestClientsSurviveAndFollowAServerRestart(t *testing.T) {
	e := newEnv(t)
	e.apply(weights(100))
	c := e.client("restart")
	addr := e.addr
	e.stop()
	// While the server is down the client keeps its last config.
	if got := count(t, c, 500, nil); got["v2"] != 500 {
		t.Fatalf("server down: %v, want every RPC on the canary", got)
	}
	e.startServer(addr)
	e.apply(weights(0))
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := count(t, c, 200, nil)
		if got["v1"] == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client did not converge on the restarted server: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := testutil.ToFloat64(e.server.Metrics().ConnectedStreams()); n != 1 {
		t.Errorf("connected streams after the restart: %v, want 1", n)
	}
	// A change on the new server is ACKed by the reconnected client.
	a := e.apply(weights(100))
	if strings.Join(a.Acked, ",") != "restart" {
		t.Fatalf("acked by %v, want [restart]", a.Acked)
	}
	if got := count(t, c, 200, nil); got["v2"] != 200 {
		t.Errorf("after the change: %v", got)
	}
}

func TestNACKIsReportedAndPreviousConfigKeepsServing(t *testing.T) {
	e := newEnv(t)
	e.apply(traffic.AllStable())
	c := e.client("nacker")
	// A path regex that does not compile: gRPC rejects the whole route.
	e.server.SetMutate(func(r *xds.Resources) {
		vh := r.Routes[0].VirtualHosts[0]
		vh.Routes = append([]*route.Route{{
			Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_SafeRegex{SafeRegex: &matcher.RegexMatcher{Regex: "("}}},
			Action: &route.Route_Route{Route: &route.RouteAction{
				ClusterSpecifier: &route.RouteAction_Cluster{Cluster: xds.CanaryCluster("svc")}}},
		}}, vh.Routes...)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := e.server.Apply(ctx, e.svc, weights(100))
	if !errors.Is(err, traffic.ErrNacked) {
		t.Fatalf("Apply: %v, want an error wrapping ErrNacked", err)
	}
	t.Logf("Apply: %v", err)
	if len(a.Nacked) != 1 || a.Nacked[0].Node != "nacker" || a.Nacked[0].Error == "" || !strings.Contains(err.Error(), "nacker") {
		t.Fatalf("Nacked = %+v, want node nacker with its error", a.Nacked)
	}
	if n := testutil.ToFloat64(e.server.Metrics().NACKs("route")); n != 1 {
		t.Errorf("vane_xds_nacks_total{type=route} = %v, want 1", n)
	}
	if got := count(t, c, 500, nil); got["v1"] != 500 {
		t.Errorf("after the NACK: %v, want the previous config (all stable)", got)
	}
	// Retrying the same change pushes nothing and reports the NACK again.
	pushes := testutil.ToFloat64(e.server.Metrics().Pushes("route"))
	if _, err := e.server.Apply(ctx, e.svc, weights(100)); !errors.Is(err, traffic.ErrNacked) {
		t.Errorf("retried Apply: %v, want ErrNacked again", err)
	}
	if got := testutil.ToFloat64(e.server.Metrics().Pushes("route")); got != pushes {
		t.Errorf("the retry pushed %v routes", got-pushes)
	}
	// A valid change afterwards is taken up.
	e.server.SetMutate(nil)
	a = e.apply(weights(100))
	if strings.Join(a.Acked, ",") != "nacker" {
		t.Fatalf("acked by %v", a.Acked)
	}
	if got := count(t, c, 500, nil); got["v2"] != 500 {
		t.Errorf("after the fix: %v, want all on the canary", got)
	}
}

func TestApplyRejectsBadInputAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	first := e.apply(traffic.AllStable())
	bad := e.svc
	bad.Canary.Endpoints = nil
	_, err := e.server.Apply(context.Background(), bad, weights(10))
	if err == nil || !strings.Contains(err.Error(), "canary.endpoints is empty") {
		t.Fatalf("Apply: %v, want an error naming canary.endpoints", err)
	}
	again := e.apply(traffic.AllStable())
	if again.Version != first.Version || len(again.Nacked) != 0 {
		t.Errorf("version moved from %s to %s after a rejected change", first.Version, again.Version)
	}
	clash := traffic.Service{Name: "svc-envoy", Stable: e.svc.Stable}
	withPort := e.svc
	withPort.ListenerPort = 10000
	e.svc = withPort
	e.apply(traffic.AllStable())
	if _, err := e.server.Apply(context.Background(), clash, traffic.AllStable()); err == nil || !strings.Contains(err.Error(), "already belongs") {
		t.Errorf("Apply of a clashing service: %v", err)
	}
	fmt.Fprint(t.Output(), "")
}

func TestRemoveWithdrawsTheServiceAndHealthAnswers(t *testing.T) {
	e := newEnv(t)
	e.apply(traffic.AllStable())
	e.client("remover")
	cc, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := healthgrpc.NewHealthClient(cc).Check(ctx, &healthgrpc.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthgrpc.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", h, err)
	}
	a, err := e.server.Remove(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.Acked, ",") != "remover" {
		t.Errorf("removal acked by %v, want [remover]", a.Acked)
	}
	// The names are free again, and removing twice is a no-op.
	if _, err := e.server.Remove(ctx, "svc"); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	e.apply(traffic.AllStable())
}
