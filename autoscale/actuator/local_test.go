package actuator_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	grpcxds "google.golang.org/grpc/xds"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/autoscale/actuator"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

var _ autoscale.Actuator = (*actuator.Local)(nil)

// xdsClient dials xds:///name through gRPC's real xDS client, with its own
// bootstrap pointing at the xDS server on addr.
func xdsClient(t *testing.T, addr, name string) testgrpc.TestServiceClient {
	t.Helper()
	bs, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: addr, NodeID: "local-actuator-test"})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := grpcxds.NewXDSResolverWithConfigForTesting(bs)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient("xds:///"+name, grpc.WithResolvers(rb), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return testgrpc.NewTestServiceClient(cc)
}

// spread sends n calls, 4 at a time, and counts them by the replica
// (its address) that answered.
func spread(t *testing.T, c testgrpc.TestServiceClient, n int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				resp, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
				if err != nil {
					t.Errorf("call: %v", err)
					return
				}
				mu.Lock()
				got[resp.GetHostname()]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}

func waitScale(t *testing.T, a autoscale.Actuator, want autoscale.Scale) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := a.GetScale(context.Background())
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GetScale = %+v, %v; want %+v", got, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The local actuator's replicas are real gRPC servers whose addresses
// reach gRPC's real xDS client over EDS: scaling 1 → 3 spreads the calls
// over three replicas, 3 → 1 drains two of them without a failed call.
func TestLocalSpreadsCallsOverItsReplicasThroughXDS(t *testing.T) {
	srv, err := xds.New(xds.Options{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("xds: %v", err)
		}
	}()

	var changes atomic.Int32
	loc, err := actuator.NewLocal(ctx, actuator.LocalConfig{
		Service:      traffic.Service{Name: "shop", Stable: traffic.Backend{Version: "v1"}},
		Router:       srv,
		Start:        actuator.SampleApp("v1", "", 0, time.Millisecond, nil),
		StartupDelay: 50 * time.Millisecond,
		Drain:        200 * time.Millisecond,
		OnChange:     func([]actuator.Replica) { changes.Add(1) },
		Logger:       slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	waitScale(t, loc, autoscale.Scale{Desired: 1, Ready: 1})

	c := xdsClient(t, addr.String(), "shop")
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	if _, err := c.UnaryCall(wctx, &testgrpc.SimpleRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatal(err)
	}
	wcancel()
	if got := spread(t, c, 30); len(got) != 1 {
		t.Fatalf("one replica: calls answered by %v", got)
	}

	a := actuator.Retrying(loc, actuator.RetryOptions{Name: "shop"})
	if err := a.SetScale(ctx, 3); err != nil {
		t.Fatal(err)
	}
	waitScale(t, loc, autoscale.Scale{Desired: 3, Ready: 3})
	got := spread(t, c, 90)
	if len(got) != 3 {
		t.Fatalf("three replicas: calls answered by %v, want 3 replicas", got)
	}
	for r, n := range got {
		if n < 15 { // round robin gives 30 each
			t.Errorf("replica %s answered %d of 90 calls: the load is not spread (%v)", r, n, got)
		}
	}

	// Scale down while calls keep coming: none may fail.
	var failed, answered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := c.UnaryCall(cctx, &testgrpc.SimpleRequest{})
				ccancel()
				if err != nil {
					failed.Add(1)
					t.Logf("call during scale-down: %v", err)
				} else {
					answered.Add(1)
				}
			}
		})
	}
	three := loc.Replicas()
	if err := a.SetScale(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitScale(t, loc, autoscale.Scale{Desired: 1, Ready: 1})
	// Past the drain the removed replicas are stopped: wait until their
	// addresses refuse connections.
	for _, r := range three[1:] {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
			if err != nil {
				break
			}
			_ = c.Close()
			if time.Now().After(deadline) {
				t.Fatalf("removed replica %s still accepts connections", r.Addr())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of %d calls failed while scaling down", failed.Load(), failed.Load()+answered.Load())
	}
	if got := spread(t, c, 30); len(got) != 1 {
		t.Fatalf("after 3 → 1: calls answered by %v, want one replica", got)
	}
	if len(loc.Replicas()) != 1 || changes.Load() != 3 {
		t.Fatalf("replicas %d, changes %d; want 1 replica after 3 changes (start, up, down)", len(loc.Replicas()), changes.Load())
	}
	if err := a.SetScale(ctx, 0); err == nil {
		t.Fatal("SetScale(0) accepted: the service would have no endpoint")
	}
}
