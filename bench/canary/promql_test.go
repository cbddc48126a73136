package canary

import (
	"context"
	"fmt"
	"math"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/bench/promstore"
	"github.com/vaneproj/vane/sim"
)

// The benchmark answers the judges' instant queries from one range query
// per distinct query. Prometheus's engine evaluates a range query as an
// instant query at each step; on a run under the overdispersed noise
// (failed scrapes, jitter), every query the judges send gives at every
// step what the engine gives to that instant query.
func TestEvaluatorAnswersAsInstantQueries(t *testing.T) {
	horizon := 30 * time.Minute
	for _, c := range []Cell{
		{Metric: MetricErrors, RPS: 50, Weight: 0.25, BaseError: 0.01, Factor: 2, Noise: NoiseOverdispersed},
		{Metric: MetricLatency, RPS: 5, Weight: 0.05, BaseError: latencyBase, Factor: 2, Noise: NoiseOverdispersed},
	} {
		cs, err := openCellStore()
		if err != nil {
			t.Fatal(err)
		}
		// A first run in the same TSDB: the second one's answers must not
		// see its series.
		if _, err := cs.simulate(c, 6, horizon, nil); err != nil {
			t.Fatal(err)
		}
		x, err := cs.simulate(c, 7, horizon, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc := x.svc
		queries := []string{argoQuery(svc), successRateQuery(svc, canaryVersion, "60s"), p99Query(svc, canaryVersion, "60s"), p99Query(svc, stableVersion, "1m"),
			p99Query(svc, canaryVersion, "300s"), "1 - " + successRateQuery(svc, stableVersion, "1m") + " / 100",
			fmt.Sprintf(`sum(http_request_duration_seconds_count{service=%q,version="canary"}) - sum(http_request_duration_seconds_bucket{service=%q,version="canary",le="0.5"})`, svc, svc),
			fmt.Sprintf(`max(timestamp(http_requests_total{service=%q,version="canary"}))`, svc)}
		ctx := context.Background()
		nonEmpty := 0
		for _, q := range queries {
			for tick := time.Duration(0); tick <= horizon; tick += scrape {
				at := x.start.Add(tick)
				got, err := x.q.Query(ctx, q, at)
				if err != nil {
					t.Fatal(err)
				}
				want, err := x.q.store.Query(ctx, q, at)
				if err != nil {
					t.Fatal(err)
				}
				if !sameVector(got, want) {
					t.Fatalf("%s at %s: %+v from the range query, %+v from the instant query", q, tick, got.Samples, want.Samples)
				}
				if len(want.Samples) > 0 {
					nonEmpty++
				}
			}
		}
		if nonEmpty < len(queries)*60 {
			t.Errorf("%+v: only %d non-empty answers", c, nonEmpty)
		}
		if err := cs.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func sameVector(a, b analysis.Vector) bool {
	if len(a.Samples) != len(b.Samples) {
		return false
	}
	for i := range a.Samples {
		x, y := a.Samples[i].Value, b.Samples[i].Value
		if !(math.IsNaN(x) && math.IsNaN(y)) && math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(y)) {
			return false
		}
		if !reflect.DeepEqual(a.Samples[i].Labels, b.Samples[i].Labels) && len(a.Samples[i].Labels)+len(b.Samples[i].Labels) > 0 {
			return false
		}
	}
	return true
}

// The benchmark's Vane is the product's analysis.Check over a TSDB that
// holds the whole run. Replayed as the product runs it, live (each scrape
// appended, then the look, with instant queries), the same Check rolls
// back at the same look: the benchmark's judge sees nothing from the
// future, for errors and for latency.
func TestVaneJudgeIsTheCheckLive(t *testing.T) {
	horizon := 30 * time.Minute
	for _, c := range []Cell{
		{Metric: MetricErrors, RPS: 50, Weight: 0.25, BaseError: 0.01, Factor: 2, Noise: NoiseOverdispersed},
		{Metric: MetricLatency, RPS: 50, Weight: 0.25, BaseError: latencyBase, Factor: 1.5, Noise: NoisePoisson},
	} {
		for seed := range uint64(3) {
			cs, err := openCellStore()
			if err != nil {
				t.Fatal(err)
			}
			x, err := cs.simulate(c, seed, horizon, nil)
			if err != nil {
				t.Fatal(err)
			}
			bench, benchOK := judgeVane(c.Metric, scrape)(c, &design{horizon: horizon}, x)
			_ = cs.Close()

			w, err := sim.New(c.simConfig(seed))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			store, err := promstore.Open(dir, promstore.Options{Start: engineStart, Service: x.svc, Canary: canaryVersion, Stable: stableVersion})
			if err != nil {
				t.Fatal(err)
			}
			check, err := vaneSpec(c.Metric, scrape).Build(vaneVars(x.svc))
			if err != nil {
				t.Fatal(err)
			}
			check.Reset(engineStart)
			var live time.Duration
			liveOK := false
		live:
			for w.Now() < horizon {
				if err := store.Append(w.Step()); err != nil {
					t.Fatal(err)
				}
				now := engineStart.Add(w.Now())
				var r analysis.Result
				if w.Now()+scrape > horizon {
					r = check.(analysis.LastLooker).EvaluateLast(context.Background(), store, now)
				} else {
					r = check.Evaluate(context.Background(), store, now)
				}
				switch r.Verdict {
				case analysis.Fail:
					live, liveOK = w.Now(), true
					break live
				case analysis.Pass:
					break live
				}
			}
			_ = store.Close()
			_ = os.RemoveAll(dir)
			if bench != live || benchOK != liveOK {
				t.Fatalf("%s seed %d: benchmark judge %v at %s, the live Check %v at %s", c.Metric, seed, benchOK, bench, liveOK, live)
			}
			if !benchOK {
				t.Errorf("%s seed %d: a %gx regression at 50 rps on a 25%% canary was not rolled back", c.Metric, seed, c.Factor)
			}
			t.Logf("%s seed %d: rolled back at %s", c.Metric, seed, bench)
		}
	}
}
