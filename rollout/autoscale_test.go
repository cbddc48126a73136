package rollout

import (
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/traffic"
)

func TestCanaryLoad(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:1"}},
		Canary: traffic.Backend{Version: "v2", Endpoints: []string{"127.0.0.1:2"}}}
	plan := Plan{Steps: []PlanStep{WeightStep(10), AnalysisFor(2 * time.Minute), WeightStep(50), {Promote: true}}}
	st := NewState(svc, plan, false, now)
	if _, ok := st.CanaryLoad(); ok {
		t.Fatal("a pending rollout has no canary load")
	}
	st.Phase, st.Step, st.Applied = Progressing, 1, true
	st.Routing.Weights.Canary = 10
	st.AnalysisStarted = now
	st.Results = []analysis.Result{{Judge: "sequential", Verdict: analysis.Continue}}
	c, ok := st.CanaryLoad()
	if !ok || c.Weight != 0.1 || c.NextWeight != 0.5 || !c.NextStepAt.Equal(now.Add(2*time.Minute)) || !c.Analyzing || c.Cleared {
		t.Fatalf("%+v %v", c, ok)
	}
	st.Results[0].Verdict = analysis.Pass
	if c, _ := st.CanaryLoad(); !c.Cleared {
		t.Fatalf("passed judges: %+v", c)
	}
	st.Phase = Succeeded
	if _, ok := st.CanaryLoad(); ok {
		t.Fatal("a finished rollout has no canary load")
	}
}
