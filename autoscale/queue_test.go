package autoscale

import (
	"fmt"
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
	// No load: one replica, whether a service time was estimated or not.
	for _, s := range []QueueState{{}, {ServiceTime: 0.05}} {
		rec5, _ := RecommendQueue(spec, QueueInput{Ready: 12, Budget: math.NaN()}, s, t0.Add(time.Minute))
		if !rec5.Valid || rec5.Replicas != 1 || !strings.Contains(rec5.Reason, "no load") {
			t.Fatalf("no load, service time %v: %+v", s.ServiceTime, rec5)
		}
	}
	// Arrivals and nothing served yet: no estimate, no count.
	if rec6, _ := RecommendQueue(spec, QueueInput{Arrivals: 50, Ready: 2, Budget: math.NaN()}, QueueState{}, t0); rec6.Valid {
		t.Fatalf("a count without a service time: %+v", rec6)
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

// After a sawtooth's sharp fall the slope's noise is inflated for minutes,
// so the slope test lets a rise back go by; the rise from the window's
// low holds scale-down. A flat load with its rate's jitter does not.
func TestQueueHoldsScaleDownWhileTheLoadRisesFromItsLow(t *testing.T) {
	spec := QueueSpec{Percentile: 0.99, Threshold: time.Second}.WithDefaults()
	st := QueueState{}
	var rec Recommendation
	look := func(i int, lam float64) {
		in := QueueInput{Throughput: lam, Arrivals: lam, Latency: meanSojourn(20, lam, 0.05), Ready: 20, Budget: math.NaN()}
		rec, st = RecommendQueue(spec, in, st, t0.Add(time.Duration(i)*15*time.Second))
	}
	i := 0
	for ; i < 20; i++ { // a tooth's rise to 290 req/s
		look(i, 100+10*float64(i))
	}
	look(i, 200) // the fall, seen by the 1 m rate over two looks
	i++
	look(i, 100)
	i++
	fromLow := 0
	for k := 1; k <= 8; k++ { // the next tooth: 100 → 180 over two minutes
		look(i, 100+10*float64(k))
		i++
		t.Logf("rise look %d: slope test %.2f: %s", k, risingBeyondNoise(st), rec.Reason)
		if k >= 3 && !rec.HoldDown {
			t.Fatalf("rise look %d (%v req/s): scale-down not held: %+v", k, 100+10*k, rec)
		}
		if strings.Contains(rec.Reason, "the load rose from 100.0 req/s") {
			fromLow++
		}
	}
	if fromLow == 0 {
		t.Fatal("the slope test held every look: the case is not the one meant")
	}
	// Flat at 200 req/s with ±7% from look to look: never held by the
	// rise from the low.
	st = QueueState{}
	for k := range 40 {
		look(k, 200*(1+0.07*float64(k%2*2-1)))
		if strings.Contains(rec.Reason, "the load rose from") {
			t.Fatalf("look %d: jitter held scale-down: %+v", k, rec)
		}
	}
	// The deque keeps the window's low and leaves the caller's state alone.
	lows := []RatePoint{{At: t0, Rate: 100}, {At: t0.Add(15 * time.Second), Rate: 150}}
	got := trailingLows(lows, RatePoint{At: t0.Add(30 * time.Second), Rate: 120}, RiseWindow)
	if len(got) != 2 || got[0].Rate != 100 || got[1].Rate != 120 || lows[1].Rate != 150 {
		t.Fatalf("trailingLows: %+v (input now %+v)", got, lows)
	}
	got = trailingLows(got, RatePoint{At: t0.Add(RiseWindow + 20*time.Second), Rate: 130}, RiseWindow)
	if got[0].Rate != 120 {
		t.Fatalf("the low older than the window is kept: %+v", got)
	}
}

// A step from 100 to 200 req/s: the 1 m rate climbs for a minute, the
// 30 s rate is flat half a minute sooner. The forecast follows the short
// window's trend and does not run ahead of the load; on a steady ramp it
// still leads.
func TestQueueForecastAfterAStep(t *testing.T) {
	spec := QueueSpec{Percentile: 0.99, Threshold: time.Second, Slots: 2}.WithDefaults()
	// Looks 15 s apart; the step lands at look 4. Rates over 1 m and 30 s.
	long := []float64{100, 100, 100, 100, 125, 150, 175, 200, 200, 200}
	short := []float64{100, 100, 100, 100, 150, 200, 200, 200, 200, 200}
	st := QueueState{}
	var rec Recommendation
	for i := range long {
		in := QueueInput{Throughput: long[i], Arrivals: long[i], ArrivalsNow: short[i], Latency: 0.06, Ready: 10, Budget: math.NaN()}
		rec, st = RecommendQueue(spec, in, st, t0.Add(time.Duration(i)*15*time.Second))
		t.Logf("look %d: %s (slope %.2f, short %.2f)", i, rec.Reason, st.Slope, st.NowSlope)
		switch i {
		case 7:
			// The 1 m rate's own trend would forecast 200 + 30 s × slope.
			if own, ahead := long[i]+30*st.Slope, aheadOf(t, rec.Reason); own < 240 || ahead > own-15 {
				t.Fatalf("look %d: forecast %v, the 1 m trend's %v: %s", i, ahead, own, rec.Reason)
			}
		case 9:
			if ahead := aheadOf(t, rec.Reason); ahead > 210 {
				t.Fatalf("look %d: forecast %v req/s for a load flat at 200 for a minute: %s", i, ahead, rec.Reason)
			}
		}
	}
	// A steady ramp of 1 req/s per second: both windows see it.
	st = QueueState{}
	for i := range 12 {
		at := float64(i) * 15
		in := QueueInput{Throughput: 100 + at - 30, Arrivals: 100 + at - 30, ArrivalsNow: 100 + at - 15, Latency: 0.06, Ready: 10, Budget: math.NaN()}
		rec, st = RecommendQueue(spec, in, st, t0.Add(time.Duration(i)*15*time.Second))
	}
	if ahead, lam := aheadOf(t, rec.Reason), 100+11*15-30.0; ahead < lam+20 {
		t.Fatalf("ramp: forecast %v for a rate of %v rising 1 req/s per second: %s", ahead, lam, rec.Reason)
	}
}

// aheadOf reads the forecast out of a queue recommendation's reason.
func aheadOf(t *testing.T, reason string) float64 {
	t.Helper()
	var ms, ahead float64
	if _, err := fmt.Sscanf(reason, "service time %fms, %f req/s expected", &ms, &ahead); err != nil {
		t.Fatalf("reason %q: %v", reason, err)
	}
	return ahead
}

// While a backlog drains (throughput well above the arrivals) the mean
// latency is not a steady state's: the service time is not re-estimated
// from it.
func TestQueueServiceTimeOnlyFromSteadyLooks(t *testing.T) {
	spec := QueueSpec{Percentile: 0.99, Threshold: time.Second}.WithDefaults()
	st := QueueState{}
	steady := QueueInput{Throughput: 100, Arrivals: 100, Latency: meanSojourn(10, 100, 0.05), Ready: 10, Budget: math.NaN()}
	_, st = RecommendQueue(spec, steady, st, t0)
	s0 := st.ServiceTime
	draining := QueueInput{Throughput: 130, Arrivals: 100, Latency: 2.5, Ready: 10, Budget: math.NaN()}
	_, st = RecommendQueue(spec, draining, st, t0.Add(15*time.Second))
	if st.ServiceTime != s0 {
		t.Fatalf("a draining look moved the service time from %v to %v", s0, st.ServiceTime)
	}
	slower := QueueInput{Throughput: 100, Arrivals: 105, Latency: meanSojourn(10, 100, 0.07), Ready: 10, Budget: math.NaN()}
	_, st = RecommendQueue(spec, slower, st, t0.Add(30*time.Second))
	if !(st.ServiceTime > s0) {
		t.Fatalf("a steady look within the tolerance did not update the estimate: %v", st.ServiceTime)
	}
	// A lasting mismatch (a fifth of the arrivals never served) is not a
	// backlog: the estimate follows it after SteadyWait.
	s1, at := st.ServiceTime, t0.Add(30*time.Second)
	shed := QueueInput{Throughput: 80, Arrivals: 100, Latency: meanSojourn(10, 80, 0.09), Ready: 10, Budget: math.NaN()}
	for now := at.Add(15 * time.Second); now.Before(at.Add(SteadyWait)); now = now.Add(15 * time.Second) {
		if _, st = RecommendQueue(spec, shed, st, now); st.ServiceTime != s1 {
			t.Fatalf("at %s: updated before SteadyWait", now.Sub(at))
		}
	}
	if _, st = RecommendQueue(spec, shed, st, at.Add(SteadyWait)); !(st.ServiceTime > s1) {
		t.Fatalf("a mismatch lasting %s did not update the estimate: %v", SteadyWait, st.ServiceTime)
	}
}
