package autoscale

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func qpsSpec() Spec {
	return Spec{Name: "checkout", Min: 1, Max: 20, Behavior: &Behavior{},
		Metrics: []MetricSpec{{Name: "qps", Query: "q", Target: MetricTarget{AverageValue, 100}}}}.WithDefaults()
}

func qps(v float64) []MetricInput {
	return []MetricInput{{Name: "qps", Target: MetricTarget{AverageValue, 100}, Value: v}}
}

func look(spec Spec, st State, cur int32, in Inputs, now time.Time) (State, Decision) {
	in.Scale = Scale{Desired: cur, Ready: cur}
	st, d := Step(spec, st, in, now)
	if d.Action == ActionScaleUp || d.Action == ActionScaleDown {
		st = Confirm(spec, st, d.Current, d.Desired, now)
	}
	return st, d
}

func TestStepScalesUpAtOnceAndDownAfterTheWindow(t *testing.T) {
	spec := qpsSpec()
	st := Adopt(NewState("checkout"), 2, t0)
	st, d := look(spec, st, 2, Inputs{Metrics: qps(800)}, t0)
	// 800/100 = 8, limited by 4 pods or 100% per 15 s: 6.
	if d.Desired != 6 || d.Action != ActionScaleUp {
		t.Fatalf("first look: %+v", d)
	}
	st, d = look(spec, st, 6, Inputs{Metrics: qps(800)}, t0.Add(15*time.Second))
	if d.Desired != 8 {
		t.Fatalf("second look: %+v", d)
	}
	// Load falls: the 300 s down window holds 8 until it has passed.
	now := t0.Add(30 * time.Second)
	for ; now.Before(t0.Add(315 * time.Second)); now = now.Add(15 * time.Second) {
		st, d = look(spec, st, 8, Inputs{Metrics: qps(200)}, now)
		if d.Desired != 8 {
			t.Fatalf("at %s: scaled down inside the window: %+v", now.Sub(t0), d)
		}
	}
	_, d = look(spec, st, 8, Inputs{Metrics: qps(200)}, now.Add(30*time.Second))
	if d.Desired != 2 || !strings.Contains(d.Reason, "qps") {
		t.Fatalf("after the window: %+v", d)
	}
}

// The first look records the current count, as the HPA's
// recordInitialRecommendation does (kubernetes/kubernetes
// pkg/controller/podautoscaler/horizontal.go): a fresh autoscaler whose
// first readings are low (a rate over a window not yet filled) does not
// scale down before its scale-down window has passed. A restart that kept
// its state keeps its own window instead.
func TestStepFirstLookRecordsTheCurrentCount(t *testing.T) {
	spec := qpsSpec()
	st, d := look(spec, NewState("checkout"), 5, Inputs{Metrics: qps(200)}, t0)
	if d.Desired != 5 || !strings.Contains(d.Reason, "highest recommendation of the last 5m is 5") {
		t.Fatalf("first look: %+v", d)
	}
	if len(st.Recommendations) != 2 || st.Recommendations[0].Replicas != 5 || !st.Recommendations[0].At.Equal(t0) {
		t.Fatalf("recommendations: %+v", st.Recommendations)
	}
	now := t0.Add(15 * time.Second)
	for ; now.Before(t0.Add(300 * time.Second)); now = now.Add(15 * time.Second) {
		st, d = look(spec, st, 5, Inputs{Metrics: qps(200)}, now)
		if d.Desired != 5 {
			t.Fatalf("at %s: scaled down inside the first window: %+v", now.Sub(t0), d)
		}
	}
	if _, d = look(spec, st, 5, Inputs{Metrics: qps(200)}, now); d.Desired != 2 {
		t.Fatalf("after the first window: %+v", d)
	}
	// Without a known count nothing is recorded.
	st, _ = Step(spec, NewState("checkout"), Inputs{ScaleErr: "not found", Metrics: qps(200)}, t0)
	if st.Recommendations != nil {
		t.Fatalf("recorded %+v without a count", st.Recommendations)
	}
	// Scale-up is not held by it.
	if _, d = look(spec, NewState("checkout"), 5, Inputs{Metrics: qps(800)}, t0); d.Desired != 8 {
		t.Fatalf("first look, up: %+v", d)
	}
}

func TestStepRestartKeepsTheStabilizationWindow(t *testing.T) {
	spec := qpsSpec()
	st := Adopt(NewState("checkout"), 8, t0)
	st, _ = look(spec, st, 8, Inputs{Metrics: qps(800)}, t0)
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var restored State
	if err := json.Unmarshal(b, &restored); err != nil {
		t.Fatal(err)
	}
	_, d := look(spec, restored, 8, Inputs{Metrics: qps(100)}, t0.Add(time.Minute))
	if d.Desired != 8 {
		t.Fatalf("a restart lost the window and scaled down: %+v", d)
	}
}

func TestStepHoldsWhenBlind(t *testing.T) {
	spec := qpsSpec()
	tests := map[string]struct {
		in   Inputs
		want string
	}{
		"no data":       {Inputs{Metrics: []MetricInput{{Name: "qps", Target: MetricTarget{AverageValue, 100}, Err: "query q: analysis: no data"}}}, "no valid recommendation"},
		"NaN":           {Inputs{Metrics: qps(math.NaN())}, "no valid recommendation"},
		"stale":         {Inputs{Metrics: qps(100), ObservedAt: t0.Add(-10 * time.Minute)}, "stale data"},
		"unknown scale": {Inputs{Metrics: qps(100), ScaleErr: "get scale: connection refused"}, "current scale unknown"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := Adopt(NewState("checkout"), 6, t0)
			tc.in.Scale = Scale{Desired: 6, Ready: 6}
			_, d := Step(spec, st, tc.in, t0)
			if d.Action != ActionHold || d.Desired != 6 || !strings.Contains(d.Reason, tc.want) {
				t.Fatalf("got %+v, want a hold saying %q", d, tc.want)
			}
		})
	}
}

func TestStepDetectsAFightAndStops(t *testing.T) {
	spec := qpsSpec()
	st := Adopt(NewState("checkout"), 4, t0)
	st, d := Step(spec, st, Inputs{Scale: Scale{Desired: 9, Ready: 9}, Metrics: qps(100)}, t0)
	if d.Event != "fight" || d.Action != ActionHold || st.Fight == "" {
		t.Fatalf("fight not detected: %+v", d)
	}
	_, d = Step(spec, st, Inputs{Scale: Scale{Desired: 9, Ready: 9}, Metrics: qps(100)}, t0.Add(15*time.Second))
	if d.Action != ActionHold || !strings.Contains(d.Reason, "someone else") {
		t.Fatalf("acted after a fight: %+v", d)
	}
	// Resume adopts the count.
	st = Adopt(st, 9, t0.Add(20*time.Second))
	_, d = Step(spec, st, Inputs{Scale: Scale{Desired: 9, Ready: 9}, Metrics: qps(900)}, t0.Add(30*time.Second))
	if d.Action != ActionNone || d.Desired != 9 {
		t.Fatalf("after resume: %+v", d)
	}
}

func TestStepPausedHolds(t *testing.T) {
	st := Adopt(NewState("checkout"), 2, t0)
	st.Paused, st.PauseReason = true, "incident 42"
	_, d := Step(qpsSpec(), st, Inputs{Scale: Scale{Desired: 2, Ready: 2}, Metrics: qps(900)}, t0)
	if d.Action != ActionHold || !strings.Contains(d.Reason, "incident 42") {
		t.Fatalf("%+v", d)
	}
}

func TestStepMinMaxCorrections(t *testing.T) {
	spec := qpsSpec()
	_, d := Step(spec, NewState("x"), Inputs{Scale: Scale{Desired: 30, Ready: 30}, Metrics: qps(3000)}, t0)
	if d.Desired != 20 {
		t.Fatalf("above max: %+v", d)
	}
	_, d = Step(spec, NewState("x"), Inputs{Scale: Scale{Desired: 0, Ready: 0}, Metrics: qps(3000)}, t0)
	if d.Action != ActionHold {
		t.Fatalf("scaled to zero by its owner: %+v", d)
	}
}

func TestSpecValidation(t *testing.T) {
	spec := qpsSpec()
	spec.Min, spec.Max = 5, 3
	spec.Metrics[0].Target.Value = 0
	err := spec.Validate()
	if err == nil || !strings.Contains(err.Error(), "min: 5 is greater than max 3") || !strings.Contains(err.Error(), "metrics[0].target") {
		t.Fatalf("got %v", err)
	}
	if err := (Spec{Name: "x", Max: 3}).Validate(); err == nil || !strings.Contains(err.Error(), "no metrics") {
		t.Fatalf("got %v", err)
	}
}

func sloSpec() Spec {
	s := qpsSpec()
	s.SLO = &SLOSpec{SLOs: []string{"checkout-latency"}}
	return s.WithDefaults()
}

func TestStepSLOPageBurnScalesUpPastTheUpWindow(t *testing.T) {
	spec := sloSpec()
	spec.Behavior.ScaleUp.StabilizationWindowSeconds = ptr(int32(120))
	st := Adopt(NewState("checkout"), 4, t0)
	st, _ = look(spec, st, 4, Inputs{Metrics: qps(400), SLO: []SLOSignal{{SLO: "checkout-latency", BurnLong: 1, BurnShort: 1, Budget: 0.4}}}, t0)
	burn := []SLOSignal{{SLO: "checkout-latency", BurnLong: 20, BurnShort: 30, Budget: 0.3}}
	_, d := look(spec, st, 4, Inputs{Metrics: qps(400), SLO: burn}, t0.Add(15*time.Second))
	if d.Desired != 6 || !strings.Contains(d.Reason, "urgent") {
		t.Fatalf("page burn: %+v", d)
	}
	// The same burn, the canary's: no scale-up.
	burn[0].FromCanary = true
	_, d = look(spec, st, 4, Inputs{Metrics: qps(400), SLO: burn}, t0.Add(15*time.Second))
	if d.Desired != 4 || !strings.Contains(d.Recommendations[1].Reason, "the rollout judges it") {
		t.Fatalf("canary burn: %+v", d)
	}
}

func TestStepSLOSpareBudgetRaisesTargetsSlowly(t *testing.T) {
	spec := sloSpec()
	spec.Behavior.ScaleDown.StabilizationWindowSeconds = ptr(int32(0))
	st := Adopt(NewState("checkout"), 10, t0)
	spare := []SLOSignal{{SLO: "checkout-latency", BurnLong: 0.2, BurnShort: 0.1, Budget: 0.9}}
	var d Decision
	now := t0
	cur := int32(10)
	for i := 0; i <= 6*60; i++ { // 6 hours of looks, 1 a minute
		st, d = look(spec, st, cur, Inputs{Metrics: qps(1000), SLO: spare}, now)
		cur = d.Desired
		now = now.Add(time.Minute)
		if i == 60 && (st.TargetFactor < 1.04 || st.TargetFactor > 1.06) {
			t.Fatalf("after 1h the factor is %v, want 1.05", st.TargetFactor)
		}
	}
	if st.TargetFactor != 1.25 {
		t.Fatalf("factor %v, want the cap 1.25", st.TargetFactor)
	}
	// 1000 against 125 per replica: 8 (the plain hpa's 10 is superseded).
	if d.Recommendations[1].Replicas != 8 || d.Recommendations[0].Replicas != 10 || !d.Recommendations[0].Superseded || d.Desired != 8 {
		t.Fatalf("%+v", d.Recommendations)
	}
	// Nearly spent budget: the factor falls back and scale-down is held.
	spent := []SLOSignal{{SLO: "checkout-latency", BurnLong: 1, BurnShort: 1, Budget: 0.05}}
	st, d = look(spec, st, 8, Inputs{Metrics: qps(500), SLO: spent}, now)
	if d.Desired != 8 || !strings.Contains(d.Reason, "scale-down held") {
		t.Fatalf("spent budget: %+v", d)
	}
}

func TestStepRolloutAware(t *testing.T) {
	spec := qpsSpec()
	st := Adopt(NewState("checkout"), 10, t0)
	// 1000 qps → 10 replicas; canary at 10%, next step 50% in 20 s.
	ro := &RolloutInput{CanaryWeight: 0.1, NextWeight: 0.5, NextStepAt: t0.Add(20 * time.Second)}
	_, d := look(spec, st, 10, Inputs{Metrics: qps(1000), Rollout: ro}, t0)
	if d.Split == nil || d.Split.Stable != 9 || d.Split.Canary != 5 || d.Desired != 14 {
		t.Fatalf("before a step: %+v split %+v", d, d.Split)
	}
	// During analysis: no scale-down, past the scale-down window of the
	// autoscaler's first look.
	ro = &RolloutInput{CanaryWeight: 0.1, Analyzing: true}
	running := Adopt(NewState("checkout"), 20, t0)
	running.Recommendations = []TimedRecommendation{{At: t0, Replicas: 20}}
	_, d = look(spec, running, 20, Inputs{Metrics: qps(1000), Rollout: ro}, t0.Add(time.Hour))
	if d.Desired != 20 || !strings.Contains(d.Reason, "canary analysis in progress") {
		t.Fatalf("analysis: %+v", d)
	}
}

// The slo recommender without metrics abstains: the queue recommender
// sizes; a page burn still scales up at once; a spent budget holds down.
func TestStepSLOWithQueueOnly(t *testing.T) {
	spec := Spec{Name: "checkout", Min: 1, Max: 50, Behavior: &Behavior{ScaleDown: &Rules{StabilizationWindowSeconds: ptr(int32(0))}},
		SLO:   &SLOSpec{SLOs: []string{"lat"}},
		Queue: &QueueSpec{Percentile: 0.99, Threshold: 300 * time.Millisecond}}.WithDefaults()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	q := QueueInput{Throughput: 100, Latency: meanSojourn(20, 100, 0.05), Budget: math.NaN()}
	calm := []SLOSignal{{SLO: "lat", BurnLong: 0.5, BurnShort: 0.5, Budget: 0.8}}
	st := Adopt(NewState("checkout"), 20, t0)
	st, d := look(spec, st, 20, Inputs{Queue: q, SLO: calm}, t0)
	if d.Action != ActionScaleDown || !d.Recommendations[0].Abstain || !strings.HasPrefix(d.Reason, "queue:") {
		t.Fatalf("calm: %+v", d)
	}
	cur := d.Desired
	burn := []SLOSignal{{SLO: "lat", BurnLong: 20, BurnShort: 20, Budget: 0.5}}
	q.Latency = meanSojourn(int(cur), 100, 0.05)
	_, d = look(spec, st, cur, Inputs{Queue: q, SLO: burn}, t0.Add(15*time.Second))
	if d.Desired <= cur || !strings.Contains(d.Reason, "urgent") {
		t.Fatalf("burn: %+v", d)
	}
	spent := []SLOSignal{{SLO: "lat", BurnLong: 1, BurnShort: 1, Budget: 0.02}}
	q.Throughput = 10
	_, d = look(spec, st, cur, Inputs{Queue: q, SLO: spent}, t0.Add(15*time.Second))
	if d.Desired != cur || !strings.Contains(d.Reason, "scale-down held (slo)") {
		t.Fatalf("spent: %+v", d)
	}
}

// The queue recommender's count honours the tolerance: within 10% of the
// current count it proposes the current count (its count moves by a
// replica from look to look on the rates' noise); a larger change goes
// through, and so does a panic.
func TestStepQueueCountWithinTheTolerance(t *testing.T) {
	spec := Spec{Name: "checkout", Min: 1, Max: 100, Behavior: &Behavior{},
		Queue: &QueueSpec{Percentile: 0.99, Threshold: time.Second, Slots: 2}}.WithDefaults()
	// S = 60 ms at 400 req/s: the cap 0.85 asks for 15 replicas.
	q := QueueInput{Throughput: 400, Arrivals: 400, Latency: meanSojourn(30, 400, 0.06), Ready: 15, Budget: math.NaN()}
	want, _ := RecommendQueue(*spec.Queue, q, QueueState{}, t0)
	if want.Replicas != 15 {
		t.Fatalf("the queue model asks for %d, want 15: %s", want.Replicas, want.Reason)
	}
	for _, tc := range []struct {
		cur, rec int32
	}{{14, 14}, {16, 16}, {15, 15}, {13, 15}, {17, 15}, {9, 15}} {
		st := Adopt(NewState("checkout"), tc.cur, t0)
		_, d := look(spec, st, tc.cur, Inputs{Queue: q}, t0)
		r := d.Recommendations[0]
		if r.Replicas != tc.rec {
			t.Errorf("current %d: the queue proposes %d, want %d (%s)", tc.cur, r.Replicas, tc.rec, r.Reason)
		}
		if tc.rec == tc.cur && tc.cur != 15 && !strings.Contains(r.Reason, "within the tolerance 0.1 of the current") {
			t.Errorf("current %d: reason %q", tc.cur, r.Reason)
		}
	}
	// A panic is kept even when within the tolerance.
	r := queueTolerance(Recommendation{Valid: true, Replicas: 21, Urgent: true, Panic: true}, 20, 0.1)
	if r.Replicas != 21 {
		t.Fatalf("panic: %+v", r)
	}
}
