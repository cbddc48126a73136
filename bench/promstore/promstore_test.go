package promstore

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/sim"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Start: start, Service: "checkout", Canary: "v2", Stable: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// runCheck runs spec's Check on a simulated release through Prometheus's
// engine, looking at every scrape, and returns the first decisive verdict
// (or the last) and its time.
func runCheck(t *testing.T, spec analysis.Spec, cfg sim.Config, horizon time.Duration) (analysis.Result, time.Duration) {
	t.Helper()
	w, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := open(t)
	check, err := spec.Build(analysis.Vars{Service: "checkout", Version: "v2", Stable: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	check.Reset(start)
	var r analysis.Result
	for w.Now() < horizon {
		if err := store.Append(w.Step()); err != nil {
			t.Fatal(err)
		}
		r = check.Evaluate(context.Background(), store, start.Add(w.Now()))
		if r.Verdict == analysis.Pass || r.Verdict == analysis.Fail {
			return r, w.Now()
		}
		if r.Verdict == analysis.Inconclusive {
			t.Fatalf("inconclusive at %s: %s", w.Now(), r.Reason)
		}
	}
	return r, horizon
}

func release(seed uint64, canaryErr float64, canaryLatency sim.Latency) sim.Config {
	return sim.Config{RPS: 200, CanaryWeight: 0.1, Seed: seed,
		Stable: sim.Version{ErrorRatio: 0.01, Latency: sim.DefaultLatency},
		Canary: sim.Version{ErrorRatio: canaryErr, Latency: canaryLatency}}
}

// Vane's judges, built from their specs with the queries Vane generates,
// decide simulated releases end to end through Prometheus's own engine.
func TestChecksOnSimulatedReleases(t *testing.T) {
	shifted := sim.Latency{Median: 0.15, Sigma: 0.6}
	tests := map[string]struct {
		spec analysis.Spec
		cfg  sim.Config
		want analysis.Verdict
	}{
		"The sequential judge rolls back a canary with five times the errors.": {
			spec: analysis.Spec{Judge: &analysis.SequentialSpec{Counters: analysis.Counters{RequestsMetric: RequestsMetric}}},
			cfg:  release(1, 0.05, sim.DefaultLatency), want: analysis.Fail,
		},
		"The sequential judge passes an equally good canary within a 1.5x tolerance.": {
			spec: analysis.Spec{Judge: &analysis.SequentialSpec{Counters: analysis.Counters{RequestsMetric: RequestsMetric}, Tolerance: 1.5}},
			cfg:  release(2, 0.01, sim.DefaultLatency), want: analysis.Pass,
		},
		"The sequential latency judge rolls back a slower canary.": {
			spec: analysis.Spec{Judge: &analysis.SequentialSpec{Counters: analysis.Counters{SLI: analysis.SLILatency, LatencyMetric: LatencyMetric, LatencyThreshold: 0.3}}},
			cfg:  release(3, 0.01, shifted), want: analysis.Fail,
		},
		"The bucket-distribution judge rolls back a slower canary.": {
			spec: analysis.Spec{Judge: &analysis.SequentialSpec{Counters: analysis.Counters{SLI: analysis.SLILatencyBuckets, LatencyMetric: LatencyMetric}}},
			cfg:  release(4, 0.01, shifted), want: analysis.Fail,
		},
		"The burn-rate gate fails a canary burning a 99.9% SLO at 50x.": {
			spec: analysis.Spec{Judge: &analysis.BurnRateSpec{Counters: analysis.Counters{RequestsMetric: RequestsMetric}, Objective: 0.999, ShortWindow: model.Duration(time.Minute), LongWindow: model.Duration(5 * time.Minute)}},
			cfg:  release(5, 0.05, sim.DefaultLatency), want: analysis.Fail,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, at := runCheck(t, tc.spec, tc.cfg, 30*time.Minute)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s at %s, want %s: %s", r.Verdict, at, tc.want, r.Reason)
			}
			t.Logf("%s at %s: %s", r.Verdict, at, r.Reason)
		})
	}
}

// The store's series answer PromQL as a Prometheus server holding the
// same scrapes would: rate() over a window with Prometheus's
// extrapolation, the peers' documented success-rate and irate queries,
// histogram_quantile, range queries.
func TestStoreQueries(t *testing.T) {
	w, _ := sim.New(release(9, 0.02, sim.DefaultLatency))
	store := open(t)
	ctx := context.Background()
	var scrapes []sim.Scrape
	for range 8 {
		s := w.Step()
		scrapes = append(scrapes, s)
		if err := store.Append(s); err != nil {
			t.Fatal(err)
		}
	}
	last := scrapes[7]
	now := start.Add(last.T)
	one := func(q string) float64 {
		t.Helper()
		v, err := store.Query(ctx, q, now)
		if err != nil || len(v.Samples) != 1 {
			t.Fatalf("%s: %v %v", q, v, err)
		}
		return v.Samples[0].Value
	}
	if got := one(`sum(http_requests_total{service="checkout",version="v2",code=~"5.."})`); got != last.Canary.Errors {
		t.Errorf("canary errors %v, want %v", got, last.Canary.Errors)
	}
	if got := one(`sum(nothing_total) or vector(0)`); got != 0 {
		t.Errorf("a missing series or vector(0) = %v, want 0", got)
	}
	// rate over [1m] at a scrape time sees the samples at −45 s … 0 s and
	// extrapolates their 45 s increase to the window (the samples reach
	// the window's end, and the start gap is within 1.1 × the interval).
	inc := last.Canary.Requests - scrapes[4].Canary.Requests
	if got, want := one(`sum(rate(http_requests_total{version="v2"}[1m]))`), inc/45; math.Abs(got-want) > 1e-9 {
		t.Errorf("rate %v, want %v (increase %v over 45 s between the first and last sample)", got, want, inc)
	}
	// Flagger's request-success-rate: the extrapolation cancels in the ratio.
	ok := (last.Canary.Requests - last.Canary.Errors) - (scrapes[4].Canary.Requests - scrapes[4].Canary.Errors)
	if got, want := one(`sum(rate(http_requests_total{version="v2",code!~"5.."}[1m])) / sum(rate(http_requests_total{version="v2"}[1m])) * 100`), 100*ok/inc; math.Abs(got-want) > 1e-9 {
		t.Errorf("success rate %v, want %v", got, want)
	}
	// Argo's docs query: irate over [5m] reads the last two samples.
	inc2 := last.Canary.Requests - scrapes[6].Canary.Requests
	ok2 := (last.Canary.Requests - last.Canary.Errors) - (scrapes[6].Canary.Requests - scrapes[6].Canary.Errors)
	if got, want := one(`sum(irate(http_requests_total{version="v2",code!~"5.*"}[5m])) / sum(irate(http_requests_total{version="v2"}[5m]))`), ok2/inc2; math.Abs(got-want) > 1e-9 {
		t.Errorf("irate ratio %v, want %v", got, want)
	}
	if q := one(`histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{version="v2"}[1m])))`); !(q > 0.1 && q <= 5) {
		t.Errorf("p99 %v s", q)
	}
	m, err := store.QueryRange(ctx, `sum(http_requests_total{version="v2"})`, start.Add(15*time.Second), now, 15*time.Second)
	if err != nil || len(m.Series) != 1 || len(m.Series[0].Points) != 8 {
		t.Fatalf("range: %+v %v", m, err)
	}
	if _, err := store.Query(ctx, `sum(`, now); err == nil {
		t.Fatal("want a parse error")
	}
}
