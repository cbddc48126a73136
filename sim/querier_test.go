package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// runCheck runs spec's Check on a simulated release, looking at every
// scrape, and returns the first decisive verdict (or the last) and its time.
func runCheck(t *testing.T, spec analysis.Spec, cfg Config, horizon time.Duration) (analysis.Result, time.Duration) {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore(start, "checkout", "v2", "v1", nil)
	check, err := spec.Build(analysis.Vars{Service: "checkout", Version: "v2", Stable: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	check.Reset(start)
	var r analysis.Result
	for w.Now() < horizon {
		store.Append(w.Step())
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

func release(seed uint64, canaryErr float64, canaryLatency Latency) Config {
	return Config{RPS: 200, CanaryWeight: 0.1, Seed: seed,
		Stable: Version{ErrorRatio: 0.01, Latency: DefaultLatency},
		Canary: Version{ErrorRatio: canaryErr, Latency: canaryLatency}}
}

func TestChecksOnSimulatedReleases(t *testing.T) {
	shifted := Latency{Median: 0.15, Sigma: 0.6}
	tests := map[string]struct {
		spec analysis.Spec
		cfg  Config
		want analysis.Verdict
	}{
		"The sequential judge rolls back a canary with five times the errors.": {
			spec: analysis.Spec{Kind: analysis.KindSequential, RequestsMetric: "http_requests_total"},
			cfg:  release(1, 0.05, DefaultLatency), want: analysis.Fail,
		},
		"The sequential judge passes an equally good canary within a 1.5x tolerance.": {
			spec: analysis.Spec{Kind: analysis.KindSequential, RequestsMetric: "http_requests_total", Tolerance: 1.5},
			cfg:  release(2, 0.01, DefaultLatency), want: analysis.Pass,
		},
		"The sequential latency judge rolls back a slower canary.": {
			spec: analysis.Spec{Kind: analysis.KindSequential, SLI: analysis.SLILatency, LatencyMetric: "http_request_duration_seconds", LatencyThreshold: 0.3},
			cfg:  release(3, 0.01, shifted), want: analysis.Fail,
		},
		"The bucket-distribution judge rolls back a slower canary.": {
			spec: analysis.Spec{Kind: analysis.KindSequential, SLI: analysis.SLILatencyBuckets, LatencyMetric: "http_request_duration_seconds"},
			cfg:  release(4, 0.01, shifted), want: analysis.Fail,
		},
		"The burn-rate gate fails a canary burning a 99.9% SLO at 50x.": {
			spec: analysis.Spec{Kind: analysis.KindBurnRate, RequestsMetric: "http_requests_total", Objective: 0.999,
				ShortWindow: analysis.Duration(time.Minute), LongWindow: analysis.Duration(5 * time.Minute)},
			cfg: release(5, 0.05, DefaultLatency), want: analysis.Fail,
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

func TestStoreQueries(t *testing.T) {
	w, _ := New(release(9, 0.02, DefaultLatency))
	store := NewStore(start, "checkout", "v2", "v1", nil)
	ctx := context.Background()
	if v, err := store.Query(ctx, `sum(http_requests_total)`, start); err != nil || len(v.Samples) != 0 {
		t.Fatalf("before the first scrape: %v %v", v, err)
	}
	var last Scrape
	for range 8 {
		last = w.Step()
		store.Append(last)
	}
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
	if got := one(`sum(http_requests_total{version="v2",code=~"5.."}) or vector(0)`); got != last.Canary.Errors {
		t.Errorf("canary errors with a default %v, want %v", got, last.Canary.Errors)
	}
	if got := one(`sum(nothing_total) or vector(0)`); got != 0 {
		t.Errorf("a missing series or vector(0) = %v, want 0", got)
	}
	if got := one(`sum(http_requests_total{version="v1"})`); got != last.Stable.Requests {
		t.Errorf("stable requests %v, want %v", got, last.Stable.Requests)
	}
	prev := w.cfg.Scrape * 4
	want := (last.Canary.Requests - store.scrapes[3].Canary.Requests) / prev.Seconds()
	if got := one(`sum(rate(http_requests_total{version="v2"}[1m]))`); math.Abs(got-want) > 1e-9 {
		t.Errorf("rate %v, want %v", got, want)
	}
	v, err := store.Query(ctx, `sum by (le) (http_request_duration_seconds_bucket{version="v2"})`, now)
	if err != nil || len(v.Samples) != len(DefaultBuckets)+1 {
		t.Fatalf("buckets: %v %v", v, err)
	}
	if v, err := store.Query(ctx, `sum(nothing_total)`, now); err != nil || len(v.Samples) != 0 {
		t.Fatalf("unknown metric: %v %v", v, err)
	}
	if _, err := store.Query(ctx, `max(http_requests_total)`, now); err == nil {
		t.Fatal("want an error for an unsupported aggregation")
	}
	m, err := store.QueryRange(ctx, `sum(http_requests_total{version="v2"})`, start.Add(15*time.Second), now, 15*time.Second)
	if err != nil || len(m.Series) != 1 || len(m.Series[0].Points) != 8 {
		t.Fatalf("range: %+v %v", m, err)
	}
}
