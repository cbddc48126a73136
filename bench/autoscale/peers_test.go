package autoscale

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The KPA cases follow knative/serving pkg/autoscaler/scaling/
// autoscaler_test.go (TestAutoscalerStableModeIncreaseWithConcurrencyDefault,
// TestAutoscalerPanicModeDoublePodCount, …), restated against the
// documented defaults rather than copied.
func TestKPATargetFollowsContainerConcurrency(t *testing.T) {
	for name, tc := range map[string]struct {
		cc   int
		want float64
	}{
		"a limit of 10 targets 7 per pod":            {10, 7},
		"unlimited targets 70% of the default (100)": {0, 70},
		"a limit of 1 still targets 1":               {1, 1},
	} {
		t.Run(name, func(t *testing.T) {
			if got := DefaultKPAConfig(tc.cc).Target(); got != tc.want {
				t.Fatalf("target %v, want %v", got, tc.want)
			}
		})
	}
	if w := DefaultKPAConfig(0).PanicWindow(); w != 6*time.Second {
		t.Fatalf("panic window %v, want 6s", w)
	}
}

func TestKPAStableModeScalesToConcurrencyOverTarget(t *testing.T) {
	k, err := NewKPA(DefaultKPAConfig(10), 1, t0) // target 7
	if err != nil {
		t.Fatal(err)
	}
	// 50 concurrent requests on 5 pods: ceil(50/7) = 8, no panic (8/5 < 2).
	d, ok := k.Scale(5, 50, 50, true, t0.Add(2*time.Second))
	if !ok || d != 8 || k.Panicking() {
		t.Fatalf("desired %d ok %v panicking %v, want 8 in stable mode", d, ok, k.Panicking())
	}
	// No data: no decision.
	if _, ok := k.Scale(5, 0, 0, false, t0); ok {
		t.Fatal("a decision without data")
	}
	// Scale-down is limited to ready/2 per decision (max-scale-down-rate 2).
	if d, _ := k.Scale(10, 7, 7, true, t0.Add(4*time.Second)); d != 5 {
		t.Fatalf("scale-down to %d, want 5 (10 / max-scale-down-rate 2)", d)
	}
}

func TestKPAPanicsAtTwiceTheReadyPodsAndNeverScalesDownWhilePanicking(t *testing.T) {
	k, _ := NewKPA(DefaultKPAConfig(10), 1, t0)
	now := t0
	// Panic window: 140 concurrent on 5 ready → 20 pods ≥ 2 × 5: panic.
	d, _ := k.Scale(5, 40, 140, true, now)
	if !k.Panicking() || d != 20 {
		t.Fatalf("desired %d panicking %v, want 20 in panic", d, k.Panicking())
	}
	// The burst is gone from the panic window but the decider still panics:
	// no scale-down below 20 until a stable window has passed.
	now = now.Add(30 * time.Second)
	if d, _ := k.Scale(20, 40, 20, true, now); d != 20 || !k.Panicking() {
		t.Fatalf("desired %d panicking %v, want 20 held in panic", d, k.Panicking())
	}
	now = now.Add(31 * time.Second)
	if d, _ := k.Scale(20, 40, 20, true, now); d != 10 || k.Panicking() {
		t.Fatalf("after the stable window: desired %d panicking %v, want 10 (max-scale-down-rate 2) out of panic", d, k.Panicking())
	}
}

func TestKPAStartsInPanicWithSeveralPods(t *testing.T) {
	// newAutoscaler: a decider that starts with more than one ready pod
	// starts in panic mode and keeps that count until the windows fill.
	k, _ := NewKPA(DefaultKPAConfig(10), 6, t0)
	if d, _ := k.Scale(6, 7, 7, true, t0.Add(2*time.Second)); d != 6 || !k.Panicking() {
		t.Fatalf("desired %d panicking %v, want 6 held", d, k.Panicking())
	}
}

func kedaObs(spec int, at time.Duration) Observation {
	return Observation{Now: t0.Add(at), Spec: spec, Ready: spec}
}

// KEDA: the HPA it creates scales on value/threshold (AverageValue); the
// operator activates above activationThreshold and, with minReplicaCount
// 0, goes to zero after cooldownPeriod without activity
// (keda.sh/docs/latest/reference/scaledobject-spec, concepts/scaling-deployments).
func TestKEDAScalesOnAverageValueAndCoolsDownToZero(t *testing.T) {
	cfg := KEDAConfig{Threshold: 10, ActivationThreshold: 0.5, PollingInterval: 30 * time.Second,
		CooldownPeriod: 300 * time.Second, MaxReplicaCount: 100}
	k, err := NewKEDA(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	// 95 req/s against 10 per replica: ceil(9.5) = 10, limited from 2 by
	// the HPA's default scale-up policies (4 pods or 100% per 15 s) to 6.
	if got := k.Decide(kedaObs(2, 0), 95, true); got != 6 {
		t.Fatalf("got %d, want 6", got)
	}
	if got := k.Decide(kedaObs(6, 15*time.Second), 95, true); got != 10 {
		t.Fatalf("got %d, want 10", got)
	}
	// Within the HPA's tolerance (10.4 / 10 replicas): no change.
	if got := k.Decide(kedaObs(10, 30*time.Second), 104, true); got != 10 {
		t.Fatalf("got %d, want 10 (tolerance)", got)
	}
	// No traffic (an empty result reads 0): inactive, but not before the
	// cooldown has passed since the last activity.
	at := 45 * time.Second
	for ; at < 300*time.Second; at += 15 * time.Second {
		if got := k.Decide(kedaObs(10, at), 0, false); got == 0 {
			t.Fatalf("scaled to zero after %v, before the cooldown", at)
		}
	}
	var got int
	for ; at <= 400*time.Second && got != 0; at += 15 * time.Second {
		got = k.Decide(kedaObs(1, at), 0, false)
	}
	if got != 0 {
		t.Fatal("never scaled to zero after the cooldown")
	}
	// Activity again: from 0 to 1 at the next poll, then the HPA.
	got = -1
	for a := at; a < at+time.Minute && got != 1; a += 15 * time.Second {
		got = k.Decide(kedaObs(0, a), 3, true)
	}
	if got != 1 {
		t.Fatalf("activation gave %d, want 1", got)
	}
}
