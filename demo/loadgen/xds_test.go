package loadgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// TestThroughXDS sends calls through gRPC's xDS client, with a bootstrap
// of its own, to versions routed by Vane's xDS server, and checks that a
// weight change moves the calls.
func TestThroughXDS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v1, err := sampleapp.Start(sampleapp.Config{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	defer v1.Close()
	v2, err := sampleapp.Start(sampleapp.Config{Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()

	srv, err := xds.New(xds.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopSrv := context.WithCancel(ctx)
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(srvCtx) }()
	defer func() { stopSrv(); <-srvDone }()

	svc := traffic.Service{Name: "lg",
		Stable: traffic.Backend{Version: "v1", Endpoints: []string{v1.Addr()}},
		Canary: traffic.Backend{Version: "v2", Endpoints: []string{v2.Addr()}}}
	if _, err := srv.Apply(ctx, svc, traffic.AllStable()); err != nil {
		t.Fatal(err)
	}
	boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: addr.String(), NodeID: "loadgen-test"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := loadgen.New(loadgen.Config{Target: "xds:///lg", Bootstrap: boot, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- g.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()

	wait := func(cond func(loadgen.Stats) bool) {
		t.Helper()
		for !cond(g.Stats()) {
			if ctx.Err() != nil {
				t.Fatalf("condition not met: %+v", g.Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait(func(s loadgen.Stats) bool { return s.ByVersion["v1"].OK >= 50 })
	if s := g.Stats(); s.ByVersion["v2"].Total() != 0 {
		t.Fatalf("v2 answered %d calls at weight 0", s.ByVersion["v2"].Total())
	}
	if _, err := srv.Apply(ctx, svc, traffic.Routing{Weights: traffic.Weights{Canary: 100}}); err != nil {
		t.Fatal(err)
	}
	drained := g.Barrier()
	wait(func(loadgen.Stats) bool { return drained() }) // calls sent before the ACK have finished
	before := g.Stats()
	wait(func(s loadgen.Stats) bool { return s.Sub(before).ByVersion["v2"].OK >= 50 })
	if d := g.Stats().Sub(before); d.ByVersion["v1"].Total() != 0 {
		t.Fatalf("after 100%% to v2 was ACKed, v1 still answered %d calls", d.ByVersion["v1"].Total())
	}
}
