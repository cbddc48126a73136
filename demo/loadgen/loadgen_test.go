package loadgen

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/vaneproj/vane/demo/sampleapp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startApp(t *testing.T, cfg sampleapp.Config) *sampleapp.Instance {
	t.Helper()
	in, err := sampleapp.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// roundRobin returns dial options that spread calls over addrs without xDS.
func roundRobin(addrs ...string) []grpc.DialOption {
	r := manual.NewBuilderWithScheme("loadgentest")
	var st resolver.State
	for _, a := range addrs {
		st.Addresses = append(st.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(st)
	return []grpc.DialOption{grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`)}
}

func TestCountsWhatEachVersionAnswered(t *testing.T) {
	good := startApp(t, sampleapp.Config{Version: "v1"})
	bad := startApp(t, sampleapp.Config{Version: "v2", ErrorRatio: 0.5, Seed: 7})
	g, err := New(Config{Target: "loadgentest:///demo", DialOptions: roundRobin(good.Addr(), bad.Addr()),
		Rate: 200, SlowThreshold: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()

	waitFor(t, func() bool { return g.Stats().Completed() >= 200 })
	mid := g.Stats()
	if err := bad.SetErrorRatio(0); err != nil {
		t.Fatal(err)
	}
	if err := good.SetLatency(60 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitFor(t, g.Barrier()) // calls sent before the change have finished
	marker := g.Stats()
	waitFor(t, func() bool { return g.Stats().Completed() >= marker.Completed()+100 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	end := g.Stats()

	v1, v2 := mid.ByVersion["v1"], mid.ByVersion["v2"]
	if v1.Failed != 0 || v1.OK == 0 || v1.Bad() != 0 || !v1.FirstBad.IsZero() {
		t.Errorf("healthy v1 before the change: %+v", v1)
	}
	if v2.Failed == 0 || v2.OK == 0 || v2.Codes["Unavailable"] != v2.Failed || v2.FirstBad.IsZero() {
		t.Errorf("half-failing v2 before the change: %+v", v2)
	}
	if _, ok := mid.ByVersion[UnknownVersion]; ok {
		t.Errorf("calls without a version: %+v", mid.ByVersion[UnknownVersion])
	}
	if end.Sent != end.Completed()+end.Dropped && end.Sent < end.Completed() {
		t.Errorf("sent %d, completed %d, dropped %d", end.Sent, end.Completed(), end.Dropped)
	}

	d := end.Sub(marker)
	if d.ByVersion["v2"].Failed != 0 {
		t.Errorf("healed v2 still failed after the change: %+v", d.ByVersion["v2"])
	}
	if s := d.ByVersion["v1"]; s.Slow == 0 || s.Slow != s.OK || s.FirstBad.Before(marker.At.Add(-time.Second)) {
		t.Errorf("slowed v1 after the change: %+v (marker %v)", s, marker.At)
	}
	// v2 answers fast, but a loaded machine may still make a few calls slow.
	if want := d.ByVersion["v1"].Slow + d.ByVersion["v2"].Slow; d.Bad() != want {
		t.Errorf("bad calls after the change %d, want the slow ones %d", d.Bad(), want)
	}
	if fb := d.FirstBad(); fb.IsZero() || fb.After(d.ByVersion["v1"].FirstBad) {
		t.Errorf("FirstBad %v, want the earliest, at most v1's %v", fb, d.ByVersion["v1"].FirstBad)
	}
}

func TestRateAndRamp(t *testing.T) {
	app := startApp(t, sampleapp.Config{Version: "v1"})
	g, err := New(Config{Target: "passthrough:///" + app.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()

	time.Sleep(200 * time.Millisecond)
	if s := g.Stats(); s.Sent != 0 {
		t.Errorf("rate 0 sent %d calls", s.Sent)
	}
	if err := g.Ramp(ctx, 300, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if r := g.Rate(); r != 300 {
		t.Errorf("rate after the ramp %v, want 300", r)
	}
	// Time 300 calls: at 300/s they take about a second.
	before := g.Stats()
	waitFor(t, func() bool { return g.Stats().Sub(before).Sent >= 300 })
	after := g.Stats()
	got := float64(after.Sub(before).Sent) / after.At.Sub(before.At).Seconds()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// 300/s on a shared, race-instrumented machine: allow a wide band.
	if got < 150 || got > 330 {
		t.Errorf("sent %.0f calls/s at 300/s", got)
	}
	if err := g.Run(context.Background()); err == nil {
		t.Error("second Run did not fail")
	}
}

func TestBadConfigIsRejected(t *testing.T) {
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"no target":          {Config{}, "config.target"},
		"a negative rate":    {Config{Target: "passthrough:///x", Rate: -1}, "config.rate"},
		"a negative timeout": {Config{Target: "passthrough:///x", Timeout: -1}, "must not be negative"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g, err := New(tc.cfg)
			if err == nil {
				g.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBarrierWaitsForTheCallsSentBeforeIt holds while calls sent before
// Barrier are in flight, and holds once they have all finished.
func TestBarrierWaitsForTheCallsSentBeforeIt(t *testing.T) {
	app := startApp(t, sampleapp.Config{Version: "v1", Latency: time.Second})
	g, err := New(Config{Target: "passthrough:///" + app.Addr(), Rate: 50, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	waitFor(t, func() bool { return g.Stats().Sent >= 5 })
	sent := g.Stats().Sent // all sent before Barrier
	drained := g.Barrier()
	if drained() {
		t.Fatal("Barrier holds while calls sent before it take a second to answer")
	}
	waitFor(t, drained)
	if s := g.Stats(); s.Completed() < sent {
		t.Fatalf("Barrier held with %d calls completed of the %d sent before it", s.Completed(), sent)
	}
}
