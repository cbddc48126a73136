package canary

import (
	"math"
	"testing"
)

// Scenarios from Flagger's docs (usage/how-it-works.md, "Canary analysis":
// with stepWeight 5 and maxWeight 50 the canary is promoted after ten
// passing checks; with threshold 10 it is rolled back after ten failed
// checks) and its scheduler (failed checks persist over the canary;
// "no values found" fails a check; rollback comes on the tick after the
// threshold is reached).
func TestFlaggerModel(t *testing.T) {
	t.Run("promotes after the weight reaches maxWeight", func(t *testing.T) {
		f := NewFlagger(FlaggerDocs)
		if f.Tick(100) != Running || f.Weight != 5 || f.FailedChecks != 0 {
			t.Fatalf("first tick sets the weight without analysis: %+v", f)
		}
		ticks := 1
		for f.Outcome == Running {
			f.Tick(100)
			ticks++
		}
		// 5 → 50 takes 9 passing checks, the 10th at 50% promotes.
		if f.Outcome != Promoted || ticks != 11 || f.Weight != 50 {
			t.Fatalf("outcome %s after %d ticks at weight %v", f.Outcome, ticks, f.Weight)
		}
	})
	t.Run("failed checks persist and hold the weight", func(t *testing.T) {
		f := NewFlagger(FlaggerConfig{Threshold: 2, StepWeight: 10, MaxWeight: 50, MinSuccessRate: 99})
		f.Tick(100) // weight 10
		f.Tick(98)  // fail 1, weight held
		if f.Weight != 10 || f.FailedChecks != 1 {
			t.Fatalf("%+v", f)
		}
		f.Tick(100) // pass: weight 20, failures kept
		if f.Weight != 20 || f.FailedChecks != 1 {
			t.Fatalf("a pass must not reset failed checks: %+v", f)
		}
		if f.Tick(math.NaN()) != Running || f.FailedChecks != 2 {
			t.Fatalf("NaN must fail the check: %+v", f)
		}
		if f.Tick(100) != RolledBack {
			t.Fatalf("threshold reached: the next tick rolls back, got %+v", f)
		}
		if f.Tick(100) != RolledBack {
			t.Fatal("the outcome sticks")
		}
	})
}

// Scenarios from Argo Rollouts' docs (features/analysis.md: "failureLimit:
// the maximum number of failed measurements before the analysis is
// considered failed"; count; consecutiveErrorLimit defaults to 4) and the
// NaN case of its Prometheus provider.
func TestArgoModel(t *testing.T) {
	t.Run("fails when failures exceed failureLimit", func(t *testing.T) {
		a := NewArgo(ArgoDocs)
		for i, v := range []float64{0.9, 0.99, 0.9, math.NaN()} {
			if a.Measure(v, false) != Running {
				t.Fatalf("measurement %d: %+v", i, a)
			}
		}
		if a.Failed != 3 || a.Measure(0.5, false) != RolledBack {
			t.Fatalf("four failures exceed failureLimit 3: %+v", a)
		}
	})
	t.Run("succeeds after count", func(t *testing.T) {
		a := NewArgo(ArgoConfig{Count: 3, FailureLimit: 1, ConsecutiveErrorLimit: 4, MinSuccess: 0.95})
		a.Measure(0.9, false)
		a.Measure(0.99, false)
		if a.Measure(0.99, false) != Promoted {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("errors count only when consecutive", func(t *testing.T) {
		a := NewArgo(ArgoConfig{ConsecutiveErrorLimit: 2, MinSuccess: 0.95, FailureLimit: 9})
		a.Measure(0, true)
		a.Measure(0, true)
		a.Measure(0.99, false)
		a.Measure(0, true)
		a.Measure(0, true)
		if a.Outcome != Running {
			t.Fatalf("no more than 2 consecutive errors: %+v", a)
		}
		if a.Measure(0, true) != RolledBack {
			t.Fatalf("3 consecutive errors exceed the limit 2: %+v", a)
		}
	})
}

// Flagger's builtin request-duration check: the p99 in milliseconds,
// truncated to a whole millisecond (the observers return
// time.Duration(int64(value)) * time.Millisecond), must not exceed
// thresholdRange.max; no value fails. Argo's latency metric with
// `result[0] <= 1000`: NaN fails it, no series is an error.
func TestLatencyChecks(t *testing.T) {
	f := FlaggerDocsLatency
	for v, want := range map[float64]bool{400: true, 500: true, 500.9: true, 501: false, 2000: false} {
		if got := f.passes(v); got != want {
			t.Errorf("Flagger request-duration max 500 at %v ms: pass %v, want %v", v, got, want)
		}
	}
	if f.passes(math.NaN()) {
		t.Error("Flagger: no values must fail the check")
	}
	fl := NewFlagger(f)
	fl.Tick(math.NaN()) // the first tick sets the weight
	for range 10 {
		fl.Tick(800)
	}
	if fl.Tick(800) != RolledBack {
		t.Fatalf("ten checks at 800 ms against max 500: %+v", fl)
	}
	a := NewArgo(ArgoDocsLatency)
	for i, m := range []struct {
		v       float64
		errored bool
		want    Outcome
	}{{900, false, Running}, {1000, false, Running}, {math.NaN(), false, Running}, {1200, false, Running}, {1001, false, Running}, {1500, false, RolledBack}} {
		if got := a.Measure(m.v, m.errored); got != m.want {
			t.Fatalf("measurement %d (%v): %s, want %s; %+v", i, m.v, got, m.want, a)
		}
	}
	if a.Failed != 4 {
		t.Fatalf("failed measurements %d, want 4 (NaN, 1200, 1001, 1500)", a.Failed)
	}
}
