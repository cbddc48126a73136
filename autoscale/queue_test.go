package autoscale

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestErlangC(t *testing.T) {
	// Known values: C(1, a) = a; C(2, 1) = 1/3; C(10, 8) ≈ 0.4092.
	for _, tc := range []struct {
		c    int
		a    float64
		want float64
	}{{1, 0.5, 0.5}, {2, 1, 1.0 / 3}, {10, 8, 0.409}} {
		if got := erlangC(tc.c, tc.a); math.Abs(got-tc.want) > 1e-3 {
			t.Errorf("C(%d, %v) = %v, want %v", tc.c, tc.a, got, tc.want)
		}
	}
	// M/M/1: P(T > t) = e^{−(μ−λ)t}.
	if got, want := tailSojourn(1, 5, 10, 0.2), math.Exp(-(10-5)*0.2); math.Abs(got-want) > 1e-9 {
		t.Errorf("M/M/1 tail %v, want %v", got, want)
	}
}

func TestQueueEstimatesTheServiceTime(t *testing.T) {
	// 8 replicas, S = 50 ms, λ = 120/s: the mean sojourn it implies is
	// inverted back to S.
	w := meanSojourn(8, 120, 0.05)
	if s := estimateServiceTime(8, 120, w); math.Abs(s-0.05) > 1e-6 {
		t.Fatalf("estimated %v, want 0.05", s)
	}
}

func TestQueueRecommendation(t *testing.T) {
	spec := QueueSpec{Percentile: 0.99, Threshold: 300 * time.Millisecond}.WithDefaults()
	// S = 50 ms measured at light load.
	st := QueueState{}
	rec, st := RecommendQueue(spec, QueueInput{Throughput: 20, Latency: meanSojourn(4, 20, 0.05), Ready: 4, Budget: math.NaN()}, st, t0)
	if !rec.Valid || math.Abs(st.ServiceTime-0.05) > 1e-6 {
		t.Fatalf("%+v %+v", rec, st)
	}
	small := rec.Replicas
	// More load, rising: more replicas, and the forecast looks ahead.
	rec2, st2 := RecommendQueue(spec, QueueInput{Throughput: 200, Latency: meanSojourn(12, 200, 0.05), Ready: 12, Budget: math.NaN()}, st, t0.Add(15*time.Second))
	if rec2.Replicas <= small || st2.Slope <= 0 || !strings.Contains(rec2.Reason, "expected in 30s") {
		t.Fatalf("%+v %+v", rec2, st2)
	}
	// The chosen count meets the tail target and one fewer does not.
	ahead := 200 + st2.Slope*30
	c := int(rec2.Replicas)
	if p := tailSojourn(c, ahead, 1/st2.ServiceTime, 0.3); p > 0.01 {
		t.Fatalf("P(T>0.3s) with %d = %v", c, p)
	}
	if p := tailSojourn(c-1, ahead, 1/st2.ServiceTime, 0.3); p <= 0.01 && float64(c-1)*spec.MaxUtilization >= ahead*st2.ServiceTime {
		t.Fatalf("%d replicas were enough (%v)", c-1, p)
	}
	// Less budget: more headroom.
	rec3, _ := RecommendQueue(spec, QueueInput{Throughput: 200, Latency: meanSojourn(12, 200, 0.05), Ready: 12, Budget: 0.0}, st, t0.Add(15*time.Second))
	if rec3.Replicas < rec2.Replicas {
		t.Fatalf("spent budget chose fewer: %d < %d", rec3.Replicas, rec2.Replicas)
	}
	// No data.
	rec4, _ := RecommendQueue(spec, QueueInput{Err: "no data"}, st, t0)
	if rec4.Valid {
		t.Fatal("valid without data")
	}
}

// A load rising faster than its noise holds scale-down; a flat load whose
// rate only jitters from look to look, and a falling one, do not.
func TestQueueHoldsScaleDownWhileTheLoadRises(t *testing.T) {
	spec := QueueSpec{Percentile: 0.99, Threshold: time.Second}.WithDefaults()
	run := func(rate func(i int) float64) (Recommendation, QueueState) {
		st := QueueState{}
		var rec Recommendation
		for i := range 20 {
			lam := rate(i)
			in := QueueInput{Throughput: lam, Arrivals: lam, Latency: meanSojourn(20, lam, 0.05), Ready: 20, Budget: math.NaN()}
			rec, st = RecommendQueue(spec, in, st, t0.Add(time.Duration(i)*15*time.Second))
		}
		return rec, st
	}
	// 100 → 290 req/s over 5 minutes: 0.67 req/s per second, the teeth of
	// the benchmark's sawtooth, with ±3 req/s of jitter.
	jitter := func(i int) float64 { return 3 * float64(i%2*2-1) }
	rec, st := run(func(i int) float64 { return 100 + 10*float64(i) + jitter(i) })
	if !rec.HoldDown || !strings.Contains(rec.Reason, "the load rises") || risingBeyondNoise(st) <= 0 {
		t.Fatalf("rising: %+v (slope %v, var %v)", rec, st.Slope, st.SlopeVar)
	}
	// Flat with ±15 req/s from look to look: noise, not a trend.
	rec, st = run(func(i int) float64 { return 200 + 5*jitter(i) })
	if rec.HoldDown {
		t.Fatalf("jitter held scale-down: %+v (slope %v, var %v)", rec, st.Slope, st.SlopeVar)
	}
	rec, _ = run(func(i int) float64 { return 300 - 10*float64(i) })
	if rec.HoldDown {
		t.Fatalf("falling load held scale-down: %+v", rec)
	}
}
