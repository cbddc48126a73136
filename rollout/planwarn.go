package rollout

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// intervalErrors reports analysis steps shorter than the plan's look
// interval: such a step ends before its first look, so its judges never
// speak. Each error starts with the field's path, as Validate's do.
func (p Plan) intervalErrors() []error {
	iv := time.Duration(p.Analysis.Interval)
	if iv == 0 {
		iv = DefaultAnalysisInterval
	}
	var errs []error
	for i, s := range p.Steps {
		if s.Analysis == nil {
			continue
		}
		d := time.Duration(s.Analysis.Duration)
		if d == 0 {
			d = DefaultAnalysisDuration
		}
		if d > 0 && iv > d {
			errs = append(errs, fmt.Errorf("steps[%d].analysis.duration: %s is shorter than analysis.interval %s: the step would end before the judges' first look; lengthen it or shorten the interval",
				i, model.Duration(d), model.Duration(iv)))
		}
	}
	return errs
}

// Warnings reports what is legal in the plan but likely a mistake: a
// promote that follows a weight with no analysis in between (the last
// weight is never judged), and a weight below an earlier one (traffic moves
// back to stable mid-rollout). Each starts with the field's path.
func (p Plan) Warnings() []string {
	var out []string
	last, lastAt := -1, -1
	judged := true
	for i, s := range p.Steps {
		switch {
		case s.Weight != nil:
			w := *s.Weight
			if last >= 0 && w < last {
				out = append(out, fmt.Sprintf("steps[%d].weight: %d%% is below the %d%% of steps[%d]: traffic moves back to the stable version mid-rollout; if that is meant, ignore this", i, w, last, lastAt))
			}
			last, lastAt = w, i
			judged = w == 0
		case s.Analysis != nil:
			judged = true
		case s.Promote:
			if !judged && last > 0 {
				out = append(out, fmt.Sprintf("steps[%d]: promote right after the weight %d%% of steps[%d] with no analysis step between: that weight is never judged; add `- analysis: {duration: D}` before promote", i, last, lastAt))
			}
		}
	}
	return out
}
