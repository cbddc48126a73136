package rollout

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
)

// analysis.interval governs every judge that does not set its own; a
// judge's own interval overrides it; the controller looks at the shortest.
func TestAnalysisIntervalGovernsJudges(t *testing.T) {
	maxV := 0.1
	p := Plan{Analysis: Analysis{Interval: model.Duration(time.Second), RequestsMetric: "demo_requests_total"}}.WithDefaults()
	if j := p.Analysis.Judges; len(j) != 1 || time.Duration(j[0].Common().Interval) != time.Second || j[0].Kind() != analysis.KindSequential {
		t.Fatalf("default judge: %+v", j)
	}
	if d := p.Analysis.LookInterval(); d != time.Second {
		t.Fatalf("look interval %s", d)
	}
	p = Plan{Analysis: Analysis{Interval: model.Duration(2 * time.Second), Judges: []analysis.Spec{
		{Judge: &analysis.ThresholdSpec{CommonSpec: analysis.CommonSpec{Name: "ratio"}, Query: `sum(rate(x[{{.window}}]))`, Max: &maxV}},
		{Judge: &analysis.ThresholdSpec{CommonSpec: analysis.CommonSpec{Name: "slow", Interval: model.Duration(30 * time.Second)}, Query: `sum(rate(x[{{.window}}]))`, Max: &maxV}},
		{Judge: &analysis.SequentialSpec{CommonSpec: analysis.CommonSpec{Name: "fast", Interval: model.Duration(time.Second)}, Counters: analysis.Counters{RequestsMetric: "x"}}},
	}}}.WithDefaults()
	want := map[string]time.Duration{"ratio": 2 * time.Second, "slow": 30 * time.Second, "fast": time.Second}
	for _, j := range p.Analysis.Judges {
		if c := j.Common(); time.Duration(c.Interval) != want[c.Name] {
			t.Errorf("judge %s looks every %s, want %s", c.Name, c.Interval, want[c.Name])
		}
	}
	// The threshold judge taking the plan's 2s keeps its kind's 1m query window.
	if w := time.Duration(p.Analysis.Judges[0].WithDefaults().Judge.(*analysis.ThresholdSpec).Window); w != time.Minute {
		t.Errorf("window of a judge on the plan's interval: %s, want 1m", w)
	}
	if d := p.Analysis.LookInterval(); d != time.Second {
		t.Fatalf("look interval %s, want the shortest judge's 1s", d)
	}
	// Without analysis.interval the default 15s applies to every judge.
	p = Plan{Analysis: Analysis{Judges: []analysis.Spec{{Judge: &analysis.ThresholdSpec{Query: `sum(x)`, Max: &maxV}}}}}.WithDefaults()
	if c := p.Analysis.Judges[0].Common(); time.Duration(c.Interval) != DefaultAnalysisInterval {
		t.Fatalf("threshold judge without intervals looks every %s", c.Interval)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}
