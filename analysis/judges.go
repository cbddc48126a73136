package analysis

import (
	"fmt"
	"math"
	"time"

	"github.com/vaneproj/vane/slo"
)

// ThresholdState is a threshold check's memory between measurements.
type ThresholdState struct {
	// Failures counts failed measurements since the analysis started.
	Failures int
	// Measurements counts all measurements.
	Measurements int
}

// ThresholdConfig bounds a measured value.
type ThresholdConfig struct {
	// Min and Max are the accepted range; nil means unbounded.
	Min, Max *float64
	// FailureLimit is the number of failed measurements tolerated: the check
	// fails when failures exceed it.
	FailureLimit int
}

// Threshold judges one measurement against cfg, compatible with Flagger's
// thresholdRange (fluxcd/flagger pkg/controller/scheduler_metrics.go: a value
// outside [min, max] is a failed check, and a missing value — "no values
// found" — is one too) and Argo Rollouts' failureLimit
// (argoproj/argo-rollouts analysis/analysis.go: the run fails when failed
// measurements exceed failureLimit; a NaN result fails a plain
// successCondition). A NaN value counts as a failure here as in both; an
// unreadable query is the caller's Inconclusive and never reaches this
// function. Flagger's `threshold: N` is FailureLimit N−1.
//
// It returns the new state and the verdict: Continue for a value in range
// or a failure within the limit, Fail beyond it. It never passes on its
// own: as in Flagger (a step advances after its interval's checks) and in
// Argo Rollouts (a run succeeds after its measurements), a step passes
// when its analysis ends with the checks within their limit, not after one
// good measurement. The state is meant to be kept for the whole rollout:
// failed checks are not forgiven at a new step.
func Threshold(st ThresholdState, cfg ThresholdConfig, value float64) (ThresholdState, Verdict, string) {
	st.Measurements++
	ok := !math.IsNaN(value)
	why := ""
	switch {
	case !ok:
		why = "value is NaN (no traffic in the window?)"
	case cfg.Min != nil && value < *cfg.Min:
		ok, why = false, fmt.Sprintf("%g is below min %g", value, *cfg.Min)
	case cfg.Max != nil && value > *cfg.Max:
		ok, why = false, fmt.Sprintf("%g is above max %g", value, *cfg.Max)
	}
	if ok {
		return st, Continue, fmt.Sprintf("%g is within range (%d failed of %d measurements, limit %d)", value, st.Failures, st.Measurements, cfg.FailureLimit)
	}
	st.Failures++
	if st.Failures > cfg.FailureLimit {
		return st, Fail, fmt.Sprintf("%s: %d failed measurements exceed the failure limit %d", why, st.Failures, cfg.FailureLimit)
	}
	return st, Continue, fmt.Sprintf("%s: %d failed measurements, limit %d", why, st.Failures, cfg.FailureLimit)
}

// BurnWindow is one window's bad and total events (or their rates) for the
// canary alone.
type BurnWindow struct {
	Window     time.Duration
	Bad, Total float64
}

// BurnRateGate fails when the canary alone burns its SLO's error budget
// faster than burnRate over both the short and the long window, the
// multi-window rule of the SRE Workbook's page tier (slo.BurnRate does the
// arithmetic). target is the objective as a ratio (0.999). A window with no
// traffic or NaN is Inconclusive; both windows below the burn rate Pass.
func BurnRateGate(target, burnRate float64, short, long BurnWindow) (Verdict, string, map[string]float64) {
	ev := map[string]float64{"objective": target, "burn_rate_threshold": burnRate}
	var rates [2]float64
	for i, w := range []BurnWindow{short, long} {
		if math.IsNaN(w.Bad) || math.IsNaN(w.Total) {
			return Inconclusive, fmt.Sprintf("canary's %s window is NaN", w.Window), ev
		}
		r, ok := slo.BurnRate(w.Bad, w.Total, target)
		if !ok {
			return Inconclusive, fmt.Sprintf("canary had no traffic in the %s window", w.Window), ev
		}
		rates[i] = r
	}
	ev["burn_rate_short"], ev["burn_rate_long"] = rates[0], rates[1]
	if rates[0] > burnRate && rates[1] > burnRate {
		return Fail, fmt.Sprintf("canary burns its error budget at %.3g× (%s) and %.3g× (%s), above the page tier's %g×",
			rates[0], short.Window, rates[1], long.Window, burnRate), ev
	}
	return Pass, fmt.Sprintf("canary's burn rate is %.3g× (%s) and %.3g× (%s); the page tier needs both above %g×",
		rates[0], short.Window, rates[1], long.Window, burnRate), ev
}
