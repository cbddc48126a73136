package backtest

import (
	"strings"
	"testing"
	"time"
)

func TestParseDetect(t *testing.T) {
	for _, in := range []string{"10x-within 1h", "10x within 1h", "10x:1h", "10x-within-1h"} {
		b, w, err := ParseDetect(in)
		if err != nil || b != 10 || w != time.Hour {
			t.Errorf("ParseDetect(%q) = %g, %s, %v", in, b, w, err)
		}
	}
	for _, in := range []string{"", "x-within 1h", "10x-within soon", "0x-within 1h"} {
		if _, _, err := ParseDetect(in); err == nil {
			t.Errorf("ParseDetect(%q) accepted", in)
		}
	}
}

// TestTuneKeepsConstraints: over a synthetic month, every policy Tune
// lists meets the constraints when replayed again, the chosen one pages no
// more than the current one, and an impossible constraint proposes
// nothing.
func TestTuneKeepsConstraints(t *testing.T) {
	s := testSLO()
	s.Window.Duration = 30 * 24 * time.Hour
	c, _ := Synth(SynthOptions{Start: time.Unix(0, 0).UTC(), Days: 30, Seed: 3})
	ser := SeriesFromCounters(c)
	cur := SpecPolicy(s)
	cands := Candidates(s, cur)
	if len(cands) < 1000 {
		t.Fatalf("%d candidates, want at least 1000", len(cands))
	}
	// Every fifth candidate keeps the test quick under -race; `vane bench
	// backtest` times the whole grid.
	var some []Policy
	for i := 0; i < len(cands); i += 5 {
		some = append(some, cands[i])
	}
	cands = some
	cons := Constraints{MaxPagesPerWeek: 2, DetectBurn: 10, DetectWithin: time.Hour, MaxBudgetAtPage: 0.05}
	t0 := time.Now()
	res, err := Tune(s, ser, cur, cands, cons, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tuned %d policies over 30 days at 1m in %s; %d feasible, %d on the front", res.Searched, time.Since(t0).Round(time.Millisecond), res.Feasible, len(res.Pareto))
	if res.Chosen == nil {
		t.Fatalf("nothing chosen; current %+v", res.Current)
	}
	for _, cand := range res.Pareto {
		r, err := Evaluate(s, cand.Policy, ser, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.PagesPerWeek > cons.MaxPagesPerWeek || r.MaxBudgetAtPage > cons.MaxBudgetAtPage {
			t.Errorf("%s breaks the constraints: %.2f pages/week, %.3f budget at page", cand.Policy.Name, r.PagesPerWeek, r.MaxBudgetAtPage)
		}
		if d, ok := cand.Policy.detection(s.Target(), 10*s.ErrorBudget(), "page"); !ok || d > time.Hour {
			t.Errorf("%s detects a 10x burn after %s", cand.Policy.Name, d)
		}
	}
	if len(res.Current.Violations) == 0 && res.Chosen.PagesPerWeek > res.Current.PagesPerWeek {
		t.Errorf("chosen pages %.2f/week, current %.2f", res.Chosen.PagesPerWeek, res.Current.PagesPerWeek)
	}
	var b strings.Builder
	WriteTuneTable(&b, res, 5)
	if !strings.Contains(b.String(), "chosen") || !strings.Contains(b.String(), "current") {
		t.Errorf("table:\n%s", b.String())
	}
	t.Logf("\n%s", b.String())
	d := Diff("slos.yaml", cur, res.Chosen.Policy)
	if res.Chosen.Policy.Name != cur.Name && !strings.Contains(d, "+    - {severity: page") {
		t.Errorf("diff:\n%s", d)
	}

	none, err := Tune(s, ser, cur, cands[:100], Constraints{MaxPagesPerWeek: 0.01, DetectBurn: 10, DetectWithin: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if none.Chosen != nil || len(none.Pareto) != 0 {
		t.Errorf("an impossible constraint proposed %+v", none.Chosen)
	}
}
