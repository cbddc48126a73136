package autoscale

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The page-tier scale-up needs the service to burn now when the shortest
// window is read: the 1 h/5 m windows remember a burn after a recovery.
func TestSLOBurnNowGatesTheUrgentScaleUp(t *testing.T) {
	spec := SLOSpec{SLOs: []string{"lat"}}.WithDefaults()
	hpa := HPAInput{Current: 4, Ready: 4, Tolerance: DefaultTolerance, Metrics: qps(400)}
	for _, tc := range []struct {
		name   string
		sig    SLOSignal
		urgent bool
		spare  bool
	}{
		{"windows burn, now not read", SLOSignal{SLO: "lat", BurnLong: 20, BurnShort: 30, Budget: 0.9}, true, false},
		{"windows burn, burning now", SLOSignal{SLO: "lat", BurnLong: 20, BurnShort: 30, Budget: 0.9, BurnNow: 40, HasNow: true}, true, false},
		{"windows remember, healthy now", SLOSignal{SLO: "lat", BurnLong: 20, BurnShort: 30, Budget: 0.9, BurnNow: 0, HasNow: true}, false, true},
		{"healthy now, budget short", SLOSignal{SLO: "lat", BurnLong: 2, BurnShort: 3, Budget: 0.3, BurnNow: 0.2, HasNow: true}, false, false},
		{"NaN now reads as not read", SLOSignal{SLO: "lat", BurnLong: 20, BurnShort: 30, Budget: 0.9, BurnNow: math.NaN(), HasNow: true}, true, false},
	} {
		r := RecommendSLO(spec, []SLOSignal{tc.sig}, hpa, 1, time.Time{}, t0)
		if r.Urgent != tc.urgent || r.Spare != tc.spare {
			t.Errorf("%s: urgent %v spare %v, want %v %v (%s)", tc.name, r.Urgent, r.Spare, tc.urgent, tc.spare, r.Reason)
		}
	}
}

func queueSLOSpec() Spec {
	return Spec{Name: "checkout", Min: 1, Max: 100, Behavior: &Behavior{},
		Metrics: []MetricSpec{{Name: "qps", Query: "q", Target: MetricTarget{AverageValue, 100}}},
		SLO:     &SLOSpec{SLOs: []string{"lat"}, UpFactor: 3},
		Queue:   &QueueSpec{Percentile: 0.99, Threshold: 300 * time.Millisecond}}.WithDefaults()
}

// The urgent scale-up is sized by the queue model (at least one more than
// the ready replicas), not by the fixed factor.
func TestStepUrgentScaleUpSizedByTheQueueModel(t *testing.T) {
	spec := queueSLOSpec()
	st := Adopt(NewState("checkout"), 10, t0)
	burn := []SLOSignal{{SLO: "lat", BurnLong: 20, BurnShort: 30, Budget: 0.9, BurnNow: 30, HasNow: true}}
	// 100 req/s at S = 50 ms need a few replicas; qps 1000/100 = 10.
	q := QueueInput{Throughput: 100, Latency: meanSojourn(10, 100, 0.05), Budget: math.NaN()}
	_, d := look(spec, st, 10, Inputs{Metrics: qps(1000), SLO: burn, Queue: q}, t0)
	slo := d.Recommendations[1]
	if !slo.Urgent || slo.Replicas != 11 || !strings.Contains(slo.Reason, "sized by the queue model: 11") || d.Desired != 11 {
		t.Fatalf("urgent: %+v; %+v", slo, d)
	}
	// Without the queue recommender: the factor (3 × 10, at most 3 × the
	// targets' 10).
	noq := spec
	noq.Queue = nil
	_, d = look(noq, st, 10, Inputs{Metrics: qps(1000), SLO: burn}, t0)
	if d.Recommendations[1].Replicas != 30 {
		t.Fatalf("factor: %+v", d.Recommendations[1])
	}
}

// A jump in the short window's arrival rate (JumpRatio over the smoothed
// one) sizes the count from that rate; far above what the ready replicas
// serve it is a panic: urgent, past the behavior's rate limits. A small
// excursion of the short window changes nothing.
func TestQueuePanicOnASuddenJump(t *testing.T) {
	spec := QueueSpec{Percentile: 0.99, Threshold: time.Second}.WithDefaults()
	st := QueueState{}
	in := QueueInput{Throughput: 100, Arrivals: 100, Latency: meanSojourn(8, 100, 0.05), Ready: 8, Budget: math.NaN()}
	base, st := RecommendQueue(spec, in, st, t0)
	noisy := in
	noisy.ArrivalsNow = 120 // under JumpRatio × 100
	r, _ := RecommendQueue(spec, noisy, st, t0.Add(15*time.Second))
	if r.Panic || r.Urgent || r.Replicas != base.Replicas {
		t.Fatalf("noise: %+v (base %d)", r, base.Replicas)
	}
	mid := in
	mid.ArrivalsNow = 140
	r, _ = RecommendQueue(spec, mid, st, t0.Add(15*time.Second))
	if r.Panic || r.Replicas <= base.Replicas || !strings.Contains(r.Reason, "a jump to 140.0 req/s") {
		t.Fatalf("jump without panic: %+v (base %d)", r, base.Replicas)
	}
	jump := in
	jump.ArrivalsNow = 1000
	r, _ = RecommendQueue(spec, jump, st, t0.Add(15*time.Second))
	want, _ := serversFor(1000, 1/st.ServiceTime, 1, 0.01, spec.MaxUtilization)
	if !r.Panic || !r.Urgent || int(r.Replicas) != want || !strings.Contains(r.Reason, "panic") {
		t.Fatalf("jump: %+v, want %d", r, want)
	}
	if err := (QueueSpec{Percentile: 0.99, Threshold: time.Second, PanicThreshold: 1}).WithDefaults().Validate(); err == nil ||
		!strings.Contains(err.Error(), "panic_threshold") {
		t.Fatalf("panic_threshold 1 accepted: %v", err)
	}
}

func TestStepPanicGoesPastTheRateLimits(t *testing.T) {
	spec := queueSLOSpec()
	st := Adopt(NewState("checkout"), 4, t0)
	calm := []SLOSignal{{SLO: "lat", BurnLong: 0, BurnShort: 0, Budget: 1, BurnNow: 0, HasNow: true}}
	q := QueueInput{Throughput: 100, Arrivals: 100, Latency: meanSojourn(4, 100, 0.02), Budget: math.NaN()}
	spec.Behavior.ScaleDown.StabilizationWindowSeconds = ptr(int32(600))
	st, d := look(spec, st, 4, Inputs{Metrics: qps(400), SLO: calm, Queue: q}, t0)
	if d.Desired != 4 {
		t.Fatalf("first look: %+v", d)
	}
	q.ArrivalsNow = 2000
	_, d = look(spec, st, 4, Inputs{Metrics: qps(400), SLO: calm, Queue: q}, t0.Add(15*time.Second))
	// 4 pods or 100% per 15 s would allow 8.
	if d.Desired <= 8 || d.Desired != d.Recommendations[2].Replicas || !strings.Contains(d.Reason, "panic: past the scale-up rate limits") {
		t.Fatalf("panic: %+v", d)
	}
	// The same jump without the panic (the plain metric): limited to 8.
	_, d = look(spec, st, 4, Inputs{Metrics: qps(2000), SLO: calm, Queue: QueueInput{Err: "no data"}}, t0.Add(15*time.Second))
	if d.Desired != 8 {
		t.Fatalf("no panic: %+v", d)
	}
}

// With spare budget, no burn now and every recommender seeing, a large
// drop is released after SpareDownWindow instead of the behavior's 300 s;
// not before the autoscaler has seen a full window, not with budget
// short, and no longer after a scale-up reversed such a release.
func TestStepSpareBudgetShortensTheDownWindow(t *testing.T) {
	spec := sloSpec() // qps target 100; SpareDownWindow 2m
	spare := []SLOSignal{{SLO: "checkout-latency", BurnLong: 0.1, BurnShort: 0.1, Budget: 0.9, BurnNow: 0, HasNow: true}}
	short := []SLOSignal{{SLO: "checkout-latency", BurnLong: 0.1, BurnShort: 0.1, Budget: 0.3, BurnNow: 0, HasNow: true}}
	run := func(sigs []SLOSignal, warm time.Duration) (State, time.Duration) {
		st := Adopt(NewState("checkout"), 10, t0)
		now := t0
		for ; now.Before(t0.Add(warm)); now = now.Add(15 * time.Second) {
			st, _ = look(spec, st, 10, Inputs{Metrics: qps(1000), SLO: sigs}, now)
		}
		drop := now
		for ; now.Before(drop.Add(10 * time.Minute)); now = now.Add(15 * time.Second) {
			var d Decision
			st, d = look(spec, st, 10, Inputs{Metrics: qps(200), SLO: sigs}, now)
			if d.Desired < 10 {
				if d.Desired != 2 {
					t.Fatalf("scaled to %d, want 2", d.Desired)
				}
				return st, now.Sub(drop)
			}
		}
		return st, -1
	}
	// The last high recommendation was 15 s before the drop: it leaves a
	// window of w at drop + w − 15 s.
	if _, after := run(spare, 6*time.Minute); after != 105*time.Second {
		t.Errorf("spare budget: scaled down after %s, want 1m45s", after)
	}
	if _, after := run(short, 6*time.Minute); after != 285*time.Second {
		t.Errorf("budget short: scaled down after %s, want 4m45s", after)
	}
	// First look at t0, drop at t0+1m: the shorter window waits until
	// t0+5m (drop + 4m).
	if _, after := run(spare, time.Minute); after != 4*time.Minute {
		t.Errorf("fresh autoscaler: scaled down after %s, want 4m", after)
	}
	// A scale-up within 5 minutes of an early release: a reversal; the
	// shorter window is off for 30 minutes.
	st, _ := run(spare, 6*time.Minute)
	now := st.Updated.Add(time.Minute)
	st, d := look(spec, st, 2, Inputs{Metrics: qps(1000), SLO: spare}, now)
	if d.Action != ActionScaleUp || !st.SpareDownOffUntil.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("reversal: %+v, off until %s", d, st.SpareDownOffUntil)
	}
}

// A load that swings by a replica's worth around the count, look after
// look, after a fall (the bottom of a sawtooth, or the noise of the load's
// estimate): with the queue recommender, the small scale-ups that follow
// a scale-down within its window are held, so there is no reversal within
// 5 minutes; a larger step, an urgent one, and the plain HPA still scale up.
func TestStepHoldsSmallScaleUpsAfterAScaleDown(t *testing.T) {
	withQueue := qpsSpec()
	withQueue.Queue = &QueueSpec{Percentile: 0.99, Threshold: 300 * time.Millisecond}
	withQueue = withQueue.WithDefaults()
	// The queue model sees a light load (a replica or two): the qps
	// metric sizes the service, the queue recommender stays valid.
	q := QueueInput{Throughput: 10, Arrivals: 10, Latency: meanSojourn(1, 10, 0.02), Budget: math.NaN()}
	type move struct {
		at   time.Duration
		from int32
		to   int32
	}
	run := func(spec Spec, load func(i int) float64, looks int) []move {
		st := Adopt(NewState("checkout"), 10, t0)
		cur := int32(10)
		var moves []move
		for i := range looks {
			now := t0.Add(time.Duration(i) * 15 * time.Second)
			var d Decision
			st, d = look(spec, st, cur, Inputs{Metrics: qps(load(i)), Queue: q}, now)
			if d.Desired != cur {
				moves = append(moves, move{now.Sub(t0), cur, d.Desired})
				cur = d.Desired
			}
		}
		return moves
	}
	reversals := func(ms []move) int {
		n := 0
		for i := 1; i < len(ms); i++ {
			up, prevUp := ms[i].to > ms[i].from, ms[i-1].to > ms[i-1].from
			if up != prevUp && ms[i].at-ms[i-1].at <= 5*time.Minute {
				n++
			}
		}
		return n
	}
	// 1000 req/s for 6 minutes (10 replicas), 780 for 6 minutes (8 after
	// the window), then 780 and 900 in turn: 9 on every other look (900
	// against 800 is past the tolerance).
	swing := func(i int) float64 {
		switch {
		case i < 24:
			return 1000
		case i < 48 || i%2 == 0:
			return 780
		}
		return 900
	}
	ms := run(withQueue, swing, 48+60)
	if len(ms) == 0 || ms[0].to >= 10 {
		t.Fatalf("no scale-down after the fall: %v", ms)
	}
	if n := reversals(ms); n != 0 {
		t.Fatalf("%d reversals within 5 minutes with the queue recommender: %v", n, ms)
	}
	// The plain HPA follows the swing: it scales down to 8 after its
	// window, then up to 9 on the next high look.
	if n := reversals(run(qpsSpec(), swing, 48+60)); n == 0 {
		t.Fatal("the HPA's step no longer reverses on this swing: the test lost its contrast")
	}
	// A step past the tolerance goes through at once.
	st := Adopt(NewState("checkout"), 10, t0)
	st = Confirm(withQueue, st, 10, 8, t0)
	_, d := look(withQueue, st, 8, Inputs{Metrics: qps(900), Queue: q}, t0.Add(time.Minute))
	if d.Desired != 8 || !strings.Contains(d.Reason, "held at 8") {
		t.Fatalf("small step: %+v", d)
	}
	_, d = look(withQueue, st, 8, Inputs{Metrics: qps(1000), Queue: q}, t0.Add(time.Minute))
	if d.Desired != 10 {
		t.Fatalf("a step of 2 from 8 (tolerance 0.1): %+v", d)
	}
	// After the window, the small step goes through.
	_, d = look(withQueue, st, 8, Inputs{Metrics: qps(900), Queue: q}, t0.Add(5*time.Minute+15*time.Second))
	if d.Desired != 9 {
		t.Fatalf("after the window: %+v", d)
	}
	// An urgent scale-up (a jump the queue model sizes at once) goes through.
	jump := q
	jump.ArrivalsNow = 600
	_, d = look(withQueue, st, 8, Inputs{Metrics: qps(780), Queue: jump}, t0.Add(time.Minute))
	if d.Desired <= 8 {
		t.Fatalf("urgent: %+v", d)
	}
}
