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

// The slo recommender's target factor raises the utilization cap: a load
// bound by the cap needs fewer replicas at a factor of 1.1, no fewer than
// the cap MaxRaisedUtilization allows at any factor, and the same count
// at a factor of 1, 0 or NaN.
func TestQueueUtilizationCapRisesWithTheTargetFactor(t *testing.T) {
	spec := QueueSpec{Percentile: 0.99, Threshold: time.Second, Slots: 2}.WithDefaults()
	// S = 60 ms, 400 req/s: 24 servers of load, the cap 0.85 asks for 29
	// servers (15 replicas); the 1 s tail is far from binding.
	in := QueueInput{Throughput: 400, Arrivals: 400, Latency: meanSojourn(30, 400, 0.06), Ready: 15, Budget: math.NaN()}
	rec := func(f float64) Recommendation {
		in := in
		in.TargetFactor = f
		r, _ := RecommendQueue(spec, in, QueueState{}, t0)
		return r
	}
	base := rec(1)
	if !base.Valid || !strings.Contains(base.Reason, "utilization ≤ 0.85") {
		t.Fatalf("factor 1: %+v", base)
	}
	for _, f := range []float64{0, math.NaN(), math.Inf(1), 0.5} {
		if r := rec(f); r.Replicas != base.Replicas || r.Reason != base.Reason {
			t.Errorf("factor %v: %+v, want %+v", f, r, base)
		}
	}
	raised := rec(1.1)
	if raised.Replicas >= base.Replicas || !strings.Contains(raised.Reason, "utilization ≤ 0.935") ||
		!strings.Contains(raised.Reason, "target factor 1.10") {
		t.Fatalf("factor 1.1: %+v (factor 1: %d)", raised, base.Replicas)
	}
	top := rec(1.25)
	if !strings.Contains(top.Reason, "utilization ≤ 0.95") {
		t.Fatalf("factor 1.25: %+v", top)
	}
	// ρ ≤ 0.95 at the estimated service time.
	s := 0.06
	if c := 2 * int(top.Replicas); float64(c)*MaxRaisedUtilization < 400*s*0.999 {
		t.Fatalf("factor 1.25: %d replicas overrun the cap", top.Replicas)
	}
	// A cap already above MaxRaisedUtilization is kept, not lowered.
	if got := raisedUtilization(0.97, 1.2); got != 0.97 {
		t.Fatalf("raisedUtilization(0.97, 1.2) = %v", got)
	}
}

// In the step, the slo recommender's factor, risen over hours of spare
// budget, reaches the queue recommender: the same load then asks the
// queue model for fewer replicas than it does with the budget short.
func TestStepPassesTheTargetFactorToTheQueueModel(t *testing.T) {
	spec := queueSLOSpec()
	spec.Queue.Slots = 2
	spec.Queue.Threshold = time.Second
	spare := []SLOSignal{{SLO: "lat", BurnLong: 0.2, BurnShort: 0.2, Budget: 0.95, BurnNow: 0.2, HasNow: true}}
	q := QueueInput{Throughput: 400, Arrivals: 400, Latency: meanSojourn(30, 400, 0.06), Budget: 0.95}
	run := func(sigs []SLOSignal) (State, Decision) {
		st := Adopt(NewState("checkout"), 15, t0)
		st.TargetFactor, st.FactorAt = 1, t0
		var d Decision
		// Four hours of looks every 15 minutes (the factor rises 0.05 per
		// hour while the budget is spare).
		for i := 1; i <= 16; i++ {
			now := t0.Add(time.Duration(i) * 15 * time.Minute)
			in := Inputs{Metrics: qps(400), SLO: sigs, Queue: q}
			in.Scale = Scale{Desired: 15, Ready: 15}
			st, d = Step(spec, st, in, now)
		}
		return st, d
	}
	st, d := run(spare)
	short := []SLOSignal{{SLO: "lat", BurnLong: 0.2, BurnShort: 0.2, Budget: 0.3, BurnNow: 0.2, HasNow: true}}
	_, dShort := run(short)
	qr, qs := d.Recommendations[2], dShort.Recommendations[2]
	if st.TargetFactor < 1.19 || qr.Recommender != RecommenderQueue || qr.Replicas >= qs.Replicas ||
		!strings.Contains(qr.Reason, "target factor") || strings.Contains(qs.Reason, "target factor") {
		t.Fatalf("factor %.2f: spare %+v, short %+v", st.TargetFactor, qr, qs)
	}
}
