package demo

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/traffic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWorldRoutesUsersByTheServedWeights drives the real xDS server and
// checks, through the load generator's gRPC xDS client, that users reach
// the versions in the proportions served, and that the scrapes of the
// embedded Prometheus see the same calls.
func TestWorldRoutesUsersByTheServedWeights(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := StartWorld(ctx, WorldConfig{
		Versions:       []sampleapp.Config{{Version: "v1"}, {Version: "v2", ErrorRatio: 1}},
		ScrapeInterval: 200 * time.Millisecond,
		Rate:           200,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	if _, err := w.XDS.Apply(ctx, w.Service("v1", "v2"), traffic.Routing{Weights: traffic.Weights{Stable: 50, Canary: 50}}); err != nil {
		t.Fatal(err)
	}
	drained := w.Load.Barrier()
	waitFor(t, 10*time.Second, drained) // calls sent before 50/50 was ACKed have finished
	before := w.Load.Stats()
	waitFor(t, 10*time.Second, func() bool { return w.Load.Stats().Sub(before).Completed() >= 200 })
	d := w.Load.Stats().Sub(before)
	v1, v2 := d.ByVersion["v1"], d.ByVersion["v2"]
	if v1.Total() < 30 || v2.Total() < 30 {
		t.Fatalf("at 50/50 users reached v1 %d and v2 %d times of %d", v1.Total(), v2.Total(), d.Completed())
	}
	if v1.Failed != 0 || v2.OK != 0 || v2.Codes["Unavailable"] != v2.Total() {
		t.Fatalf("v1 %+v, v2 %+v: want v1 all OK and v2 all Unavailable", v1, v2)
	}

	applied, err := w.XDS.Apply(ctx, w.Service("v1", "v2"), traffic.AllStable())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("weight 0 applied in %v", applied.Took)
	waitFor(t, 10*time.Second, w.Load.Barrier()) // calls sent before the ACK have finished
	after := w.Load.Stats()
	waitFor(t, 10*time.Second, func() bool { return w.Load.Stats().Sub(after).Completed() >= 100 })
	if got := w.Load.Stats().Sub(after).ByVersion["v2"]; got.Total() != 0 {
		t.Fatalf("after weight 0 was ACKed, users still reached v2 %d times", got.Total())
	}

	// The embedded Prometheus scraped v2's failures.
	waitFor(t, 10*time.Second, func() bool {
		vec, err := w.Prom.Query(ctx, `sum(demo_requests_total{service="demo",version="v2",code="Unavailable"})`, time.Now())
		return err == nil && len(vec.Samples) == 1 && vec.Samples[0].Value >= float64(v2.Total())
	})
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBaseURLNamesLocalhostForAnUnspecifiedHost(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		"0.0.0.0:8080":   "http://localhost:8080",
		"[::]:8080":      "http://localhost:8080",
		"[::1]:9":        "http://[::1]:9",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := baseURL(a); got != want {
			t.Errorf("baseURL(%s) = %s, want %s", addr, got, want)
		}
	}
}
