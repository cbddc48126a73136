package rollout

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/traffic"
)

// The look that completes an analysis step's window is the one whose
// conclusive looking, added to the window's, reaches the step's duration;
// only a look after a conclusive one counts, and only while progressing in
// an analysis step.
func TestLastLookCompletesTheConclusiveWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := State{Phase: Progressing, Applied: true, AnalysisStarted: t0, Step: 1,
		Routing: traffic.Routing{Weights: traffic.Weights{Stable: 90, Canary: 10}},
		Plan:    Plan{Steps: []PlanStep{WeightStep(10), AnalysisFor(2 * time.Minute)}}}
	tests := map[string]struct {
		conclusive time.Duration
		countFrom  time.Duration // after t0; negative: none (the last look was inconclusive)
		now        time.Duration
		mutate     func(*State)
		want       bool
	}{
		"A look that completes two minutes of conclusive looking is the last.": {conclusive: 105 * time.Second, countFrom: 105 * time.Second, now: 120 * time.Second, want: true},
		"A look before the window is complete is not.":                         {conclusive: 90 * time.Second, countFrom: 90 * time.Second, now: 105 * time.Second},
		"Inconclusive time does not count: the window goes on.":                {conclusive: 60 * time.Second, countFrom: 150 * time.Second, now: 165 * time.Second},
		"After an inconclusive look the next look only restarts the count.":    {conclusive: 115 * time.Second, countFrom: -1, now: 130 * time.Second},
		"A paused rollout's looks are not the window's end.": {conclusive: 105 * time.Second, countFrom: 105 * time.Second, now: 120 * time.Second,
			mutate: func(s *State) { s.Phase = Paused }},
		"A weight step has no window.": {conclusive: 105 * time.Second, countFrom: 105 * time.Second, now: 120 * time.Second,
			mutate: func(s *State) { s.Step = 0 }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := base
			s.Conclusive = model.Duration(tc.conclusive)
			if tc.countFrom >= 0 {
				s.CountFrom = t0.Add(tc.countFrom)
			}
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			if got := s.LastLook(t0.Add(tc.now)); got != tc.want {
				t.Fatalf("LastLook = %v, want %v", got, tc.want)
			}
		})
	}
}
