package sampleapp

import (
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dial(t *testing.T, addr string) testgrpc.TestServiceClient {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return testgrpc.NewTestServiceClient(cc)
}

// scrape returns the instance's demo_requests_total by code and the
// histogram's sample count.
func scrape(t *testing.T, in *Instance) (map[string]float64, uint64) {
	t.Helper()
	resp, err := http.Get(in.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, body)
	}
	byCode := map[string]float64{}
	for _, m := range mfs["demo_requests_total"].GetMetric() {
		var code, version string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "code":
				code = l.GetValue()
			case "version":
				version = l.GetValue()
			}
		}
		if version != in.Version() {
			t.Errorf("series with version %q, want %q", version, in.Version())
		}
		byCode[code] = m.GetCounter().GetValue()
	}
	h := mfs["demo_request_duration_seconds"].GetMetric()
	if len(h) != 1 {
		t.Fatalf("want one histogram series, got %d", len(h))
	}
	return byCode, h[0].GetHistogram().GetSampleCount()
}

func TestInstanceServesCountsAndFails(t *testing.T) {
	in, err := Start(Config{Version: "v7"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c := dial(t, in.Addr())
	ctx := context.Background()

	for range 20 {
		var tr metadata.MD
		resp, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: 8}, grpc.Trailer(&tr))
		if err != nil {
			t.Fatalf("healthy call failed: %v", err)
		}
		if resp.GetServerId() != "v7" || len(resp.GetPayload().GetBody()) != 8 {
			t.Fatalf("response %v: want server_id v7 and 8 bytes", resp)
		}
		if got := tr.Get(VersionTrailer); len(got) != 1 || got[0] != "v7" {
			t.Fatalf("trailer %v: want %s=v7", tr, VersionTrailer)
		}
	}

	if err := in.SetErrorRatio(1); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		var tr metadata.MD
		_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.Trailer(&tr))
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("with error ratio 1: got %v, want Unavailable", err)
		}
		if got := tr.Get(VersionTrailer); len(got) != 1 || got[0] != "v7" {
			t.Fatalf("failed call's trailer %v: want %s=v7", tr, VersionTrailer)
		}
	}

	byCode, n := scrape(t, in)
	if byCode["OK"] != 20 || byCode["Unavailable"] != 10 || n != 30 {
		t.Fatalf("metrics: codes %v, histogram count %d; want OK 20, Unavailable 10, 30", byCode, n)
	}
}

func TestInstanceErrorRatioAndLatency(t *testing.T) {
	in, err := Start(Config{Version: "v2", ErrorRatio: 0.3, ErrorCode: codes.Internal, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c := dial(t, in.Addr())
	ctx := context.Background()
	const n = 400
	fails := 0
	for range n {
		_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		switch status.Code(err) {
		case codes.OK:
		case codes.Internal:
			fails++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	// Binomial(400, 0.3): sd ≈ 9.2; allow 5 sd.
	if got := float64(fails) / n; math.Abs(got-0.3) > 0.115 {
		t.Errorf("failed share %.3f, want about 0.3", got)
	}

	if err := in.SetErrorRatio(0); err != nil {
		t.Fatal(err)
	}
	if err := in.SetLatency(60 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); err != nil {
		t.Fatalf("call after healing: %v", err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("call took %v, want at least the added 60ms", d)
	}
	if in.Latency() != 60*time.Millisecond || in.ErrorRatio() != 0 {
		t.Errorf("settings: latency %v ratio %v", in.Latency(), in.ErrorRatio())
	}
}

func TestBadSettingsAreRejected(t *testing.T) {
	tests := map[string]struct {
		cfg  Config
		want string
	}{
		"a missing version":        {Config{}, "config.version"},
		"an error ratio above one": {Config{Version: "v1", ErrorRatio: 1.5}, "config.error_ratio"},
		"a NaN error ratio":        {Config{Version: "v1", ErrorRatio: math.NaN()}, "config.error_ratio"},
		"a negative latency":       {Config{Version: "v1", Latency: -time.Second}, "config.latency"},
		"a negative concurrency":   {Config{Version: "v1", Concurrency: -1}, "config.concurrency"},
		"a bad listen address":     {Config{Version: "v1", GRPCAddr: "nope:x"}, "listen grpc"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in, err := Start(tc.cfg)
			if err == nil {
				in.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
	in, err := Start(Config{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.SetErrorRatio(-0.1); err == nil || in.ErrorRatio() != 0 {
		t.Errorf("negative ratio: err %v, ratio now %v", err, in.ErrorRatio())
	}
	if err := in.SetLatency(-1); err == nil || in.Latency() != 0 {
		t.Errorf("negative latency: err %v, latency now %v", err, in.Latency())
	}
	if err := in.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// With Concurrency 1 and 20ms per call, 10 calls sent at once are served
// one after the other: the last waits for the nine before it.
func TestConcurrencyBoundsTheRate(t *testing.T) {
	in, err := Start(Config{Version: "v1", Latency: 20 * time.Millisecond, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	c := dial(t, in.Addr())
	if _, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{}); err != nil { // connect
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took < 190*time.Millisecond {
		t.Fatalf("10 calls of 20ms with one slot took %v, want at least 200ms", took)
	}
	if _, n := scrape(t, in); n != 11 {
		t.Fatalf("histogram counted %d calls, want 11", n)
	}
}
