package canary

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/bench/promstore"
	"github.com/vaneproj/vane/sim"
)

// The peers' windows in the benchmark are their documented PromQL:
// Flagger's request-success-rate (rate over the interval) and Argo's docs
// query (irate over [5m]). Evaluated by Prometheus's own engine over the
// same simulated series, under the overdispersed noise (failed scrapes
// included), they give the same values, so the benchmark's direct
// computation is that PromQL.
func TestPeerWindowsArePromQL(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := Cell{RPS: 50, Weight: 0.25, BaseError: 0.01, Factor: 2, Noise: NoiseOverdispersed}
	for seed := range uint64(3) {
		w, err := sim.New(c.simConfig(seed))
		if err != nil {
			t.Fatal(err)
		}
		store, err := promstore.Open(t.TempDir(), promstore.Options{Start: start, Service: "svc", Canary: "canary", Stable: "stable"})
		if err != nil {
			t.Fatal(err)
		}
		x := series{}
		for w.Now() < 30*time.Minute {
			s := w.Step()
			x.s = append(x.s, s)
			if err := store.Append(s); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		const flagger = `sum(rate(http_requests_total{version="canary",code!~"5.."}[1m])) / sum(rate(http_requests_total{version="canary"}[1m])) * 100`
		const argo = `sum(irate(http_requests_total{version="canary",code!~"5.*"}[5m])) / sum(irate(http_requests_total{version="canary"}[5m]))`
		for tick := time.Minute; tick <= 30*time.Minute; tick += time.Minute {
			at := start.Add(tick)
			want := math.NaN()
			if req, errs, ok := x.window(tick, time.Minute, true); ok && req > 0 {
				want = 100 * (1 - errs/req)
			}
			got, _, err := store.Scalar(ctx, flagger, at)
			if err != nil {
				t.Fatal(err)
			}
			if !same(got, want) {
				t.Fatalf("seed %d, %s: Flagger's success rate %v by Prometheus, %v in the benchmark", seed, tick, got, want)
			}
			want = math.NaN()
			if req, errs, ok := x.lastTwo(tick, 5*time.Minute); ok && req > 0 {
				want = 1 - errs/req
			}
			if got, _, err = store.Scalar(ctx, argo, at); err != nil {
				t.Fatal(err)
			}
			if !same(got, want) {
				t.Fatalf("seed %d, %s: Argo's success ratio %v by Prometheus, %v in the benchmark", seed, tick, got, want)
			}
		}
		_ = store.Close()
	}
}

func same(a, b float64) bool {
	return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// Vane's judge in the benchmark counts each look's increments exactly; the
// product's analysis.Check reads them through PromQL (increase() with its
// extrapolation) from Prometheus's engine. On the same simulated releases
// both roll a 3× regression back, within a minute of each other.
func TestVaneJudgeMatchesCheckThroughPromQL(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := Cell{RPS: 50, Weight: 0.25, BaseError: 0.01, Factor: 3, Noise: NoisePoisson}
	horizon := 30 * time.Minute
	for seed := range uint64(3) {
		w, err := sim.New(c.simConfig(seed))
		if err != nil {
			t.Fatal(err)
		}
		store, err := promstore.Open(t.TempDir(), promstore.Options{Start: start, Service: "svc", Canary: "v2", Stable: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		check, err := analysis.Spec{Judge: &analysis.SequentialSpec{CommonSpec: analysis.CommonSpec{Interval: model.Duration(scrape)}, Counters: analysis.Counters{RequestsMetric: promstore.RequestsMetric}}}.
			Build(analysis.Vars{Service: "svc", Version: "v2", Stable: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		check.Reset(start)
		x := series{}
		var viaCheck time.Duration
		for w.Now() < horizon {
			s := w.Step()
			x.s = append(x.s, s)
			if err := store.Append(s); err != nil {
				t.Fatal(err)
			}
			if viaCheck == 0 {
				if r := check.Evaluate(context.Background(), store, start.Add(w.Now())); r.Verdict == analysis.Fail {
					viaCheck = w.Now()
				}
			}
		}
		_ = store.Close()
		direct, ok := judgeVane(scrape, true)(c, &design{horizon: horizon}, x)
		if !ok || viaCheck == 0 {
			t.Fatalf("seed %d: benchmark judge detected %v at %s, Check at %s", seed, ok, direct, viaCheck)
		}
		if d := direct - viaCheck; d > time.Minute || d < -time.Minute {
			t.Fatalf("seed %d: benchmark judge at %s, Check through PromQL at %s", seed, direct, viaCheck)
		}
		t.Logf("seed %d: benchmark judge %s, Check through PromQL %s", seed, direct, viaCheck)
	}
}
