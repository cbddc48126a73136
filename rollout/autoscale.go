package rollout

import (
	"time"

	"github.com/vaneproj/vane/analysis"
)

// CanaryLoad is what an autoscaler needs to know of a rollout in progress.
type CanaryLoad struct {
	// Weight is the canary's share of requests in [0, 1].
	Weight float64
	// NextWeight and NextStepAt are the next weight of the plan and the
	// earliest time it can be applied (zero when unknown or none).
	NextWeight float64
	NextStepAt time.Time
	// Analyzing is true while the judges compare canary and stable.
	Analyzing bool
	// Cleared is true when every judge's last verdict is Pass: the canary
	// is no worse than stable, so a burn is not the canary's.
	Cleared bool
}

// CanaryLoad reports the rollout's load split for an autoscaler; ok is
// false when no canary takes traffic (no rollout, or a finished one).
func (s State) CanaryLoad() (c CanaryLoad, ok bool) {
	if s.Phase != Progressing && s.Phase != Paused {
		return c, false
	}
	c.Weight = float64(s.Routing.Weights.Canary) / 100
	c.Analyzing = s.Analyzing()
	c.Cleared = len(s.Results) > 0
	for _, r := range s.Results {
		c.Cleared = c.Cleared && r.Verdict == analysis.Pass
	}
	// The current step's end, when it is timed, is the earliest next step.
	var end time.Time
	switch st := s.CurrentStep(); {
	case st.Analysis != nil:
		d := time.Duration(st.Analysis.Duration)
		if d == 0 {
			d = 2 * time.Minute
		}
		if !s.AnalysisStarted.IsZero() {
			end = s.AnalysisStarted.Add(d)
		}
	case st.Pause != nil && st.Pause.Duration > 0:
		end = s.StepStarted.Add(time.Duration(st.Pause.Duration))
	}
	for i := s.Step + 1; i < len(s.Plan.Steps); i++ {
		next := s.Plan.Steps[i]
		if next.Weight != nil {
			c.NextWeight = float64(*next.Weight) / 100
			c.NextStepAt = end
			break
		}
		if next.Promote {
			c.NextWeight, c.NextStepAt = 1, end
			break
		}
		if next.Pause != nil && next.Pause.Duration == 0 {
			break // waits for an operator: no known time
		}
	}
	return c, c.Weight > 0
}
