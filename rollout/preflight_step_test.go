package rollout

import (
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/traffic"
)

// A Pending rollout whose judges failed the preflight does not start: the
// reason is its status, recorded once as a blocked event, and no weight
// moves; it starts once the preflight passes.
func TestPendingRolloutWaitsForThePreflight(t *testing.T) {
	svc := traffic.Service{Name: "checkout",
		Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:9001"}},
		Canary: traffic.Backend{Version: "v2", Endpoints: []string{"127.0.0.1:9002"}}}
	t0 := time.Unix(1_000_000, 0)
	st := NewState(svc, Plan{Steps: []PlanStep{WeightStep(10), AnalysisFor(time.Minute)}}, false, t0)
	why := `judge errors: code=~"5.." can never match`
	o := Tick()
	o.Preflight = why
	var events int
	for i := range 3 {
		next, acts := Step(st, o, t0.Add(time.Duration(i)*time.Second))
		for _, a := range acts {
			switch a.Kind {
			case ActEvent:
				if a.Event.Type != EvBlocked || !strings.Contains(a.Event.Reason, why) {
					t.Fatalf("event %s: %s", a.Event.Type, a.Event.Reason)
				}
				events++
			default:
				t.Fatalf("a blocked rollout acted: %+v", a)
			}
		}
		st = next
	}
	if st.Phase != Pending || !strings.Contains(st.Reason, why) || events != 1 {
		t.Fatalf("phase %s, reason %q, %d blocked events; want Pending, the reason, 1 event", st.Phase, st.Reason, events)
	}
	// A command other than abort does not apply; abort does.
	if err := st.CheckCommand(CmdPromote); err == nil {
		t.Fatal("promote applies to a Pending rollout")
	}
	next, acts := Step(st, Tick(), t0.Add(5*time.Second))
	if next.Phase != Progressing || len(acts) == 0 {
		t.Fatalf("after the preflight passed: %s, %d actions", next.Phase, len(acts))
	}
	applied := false
	for _, a := range acts {
		applied = applied || a.Kind == ActApply && a.Routing.Weights.Canary == 10
	}
	if !applied {
		t.Fatalf("the rollout started without applying its first weight: %+v", acts)
	}
}
