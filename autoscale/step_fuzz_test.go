package autoscale

import (
	"math"
	"testing"
	"time"
)

// FuzzStep checks Step's invariants on arbitrary inputs: it does not
// panic; a change stays within min..max (or moves toward it); a hold
// changes nothing; with a blind metric it never scales down.
func FuzzStep(f *testing.F) {
	f.Add(int32(1), int32(10), int32(3), int32(3), 250.0, 100.0, false, false, 0.5, 2.0, int64(15))
	f.Add(int32(0), int32(1), int32(0), int32(0), math.NaN(), 1.0, true, true, -1.0, 20.0, int64(0))
	f.Add(int32(5), int32(3), int32(4), int32(2), 1e300, 1e-300, false, true, 0.01, math.Inf(1), int64(-100))
	f.Fuzz(func(t *testing.T, minR, maxR, cur, ready int32, value, target float64, blind, legacy bool, budget, burn float64, dt int64) {
		spec := Spec{Name: "f", Min: minR, Max: maxR, Metrics: []MetricSpec{{Name: "m", Query: "q", Target: MetricTarget{AverageValue, target}}},
			SLO: &SLOSpec{SLOs: []string{"s"}}}
		if !legacy {
			spec.Behavior = &Behavior{}
		}
		spec = spec.WithDefaults()
		if spec.Validate() != nil || cur < 0 || ready < 0 {
			return
		}
		m := MetricInput{Name: "m", Target: MetricTarget{AverageValue, target}, Value: value}
		if blind {
			m.Err = "no data"
		}
		st := Adopt(NewState("f"), cur, t0)
		st.Recommendations = []TimedRecommendation{{t0.Add(-time.Minute), cur}}
		in := Inputs{Scale: Scale{Desired: cur, Ready: ready}, Metrics: []MetricInput{m},
			SLO: []SLOSignal{{SLO: "s", BurnLong: burn, BurnShort: burn, Budget: budget}}}
		_, d := Step(spec, st, in, t0.Add(time.Duration(dt)*time.Second))
		switch d.Action {
		case ActionHold, ActionNone:
			if d.Desired != cur {
				t.Fatalf("%s but desired %d != current %d", d.Action, d.Desired, cur)
			}
		case ActionScaleUp:
			if d.Desired <= cur || (d.Desired > maxR && cur <= maxR) {
				t.Fatalf("scale-up from %d to %d (max %d): %s", cur, d.Desired, maxR, d.Reason)
			}
		case ActionScaleDown:
			if d.Desired >= cur || (d.Desired < minR && cur >= minR) {
				t.Fatalf("scale-down from %d to %d (min %d): %s", cur, d.Desired, minR, d.Reason)
			}
			if blind && cur <= maxR {
				t.Fatalf("scaled down blind: %s", d.Reason)
			}
		}
	})
}
