package rollout

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
)

// TestPlanJSONDurations checks that a plan's durations, its judges' too,
// are written in the API's JSON as Prometheus writes them, and read back.
func TestPlanJSONDurations(t *testing.T) {
	maxV := 0.1
	p := Plan{
		Steps: []PlanStep{WeightStep(5), AnalysisFor(90 * time.Second), PauseFor(1500 * time.Millisecond)},
		Analysis: Analysis{Interval: model.Duration(time.Minute), Judges: []analysis.Spec{{Judge: &analysis.ThresholdSpec{
			CommonSpec: analysis.CommonSpec{Name: "ratio", Interval: model.Duration(2 * time.Hour)}, Query: "up", Max: &maxV}}}},
		ProgressDeadline: model.Duration(36 * time.Hour),
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"duration":"1m30s"`, `"duration":"1s500ms"`, `"interval":"1m"`,
		`"judges":[{"kind":"threshold","name":"ratio","interval":"2h","query":"up","max":0.1}]`, `"progress_deadline":"1d12h"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s\nlacks %s", b, want)
		}
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("read back %+v\nwant %+v", back, p)
	}
}

// TestStateReadsAStoredGoConclusiveTime checks that a state stored with
// its conclusive time as Go wrote it resumes, and that the state's JSON
// reads back what it wrote.
func TestStateReadsAStoredGoConclusiveTime(t *testing.T) {
	var st State
	if err := json.Unmarshal([]byte(`{"name":"checkout","phase":"Progressing","conclusive":"1m2.0345678s","plan":{"progress_deadline":"10m0s"}}`), &st); err != nil {
		t.Fatal(err)
	}
	if st.Name != "checkout" || st.Phase != Progressing || time.Duration(st.Conclusive) != 62034*time.Millisecond ||
		time.Duration(st.Plan.ProgressDeadline) != 10*time.Minute {
		t.Fatalf("read %+v", st)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"conclusive":"1m2s34ms"`) {
		t.Errorf("%s lacks the conclusive time as a Prometheus duration", b)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil || back.Conclusive != st.Conclusive || back.Name != st.Name {
		t.Fatalf("read back %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"conclusive":"soon"}`), &back); err == nil {
		t.Error("a conclusive time that is no duration was read")
	}
}
