package slo

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// coverageQuerier answers coverage queries with cov, error queries with a
// 100% error ratio and total queries with 1: a fresh Prometheus during an
// outage.
type coverageQuerier struct{ cov map[string]float64 }

func (q coverageQuerier) Scalar(_ context.Context, query string, _ time.Time) (float64, error) {
	if strings.HasPrefix(query, "count_over_time(") {
		w := query[strings.LastIndex(query, ")[")+2 : strings.LastIndex(query, ":")]
		if c, ok := q.cov[w]; ok {
			return c, nil
		}
		return 1, nil
	}
	return 1, nil
}

// TestStatusCoverage: fifteen seconds into a fresh Prometheus during an
// outage, the status marks every window partial with its coverage and
// counts only the errors present against the month's budget next to the
// −99,900% the present ratio extrapolates to.
func TestStatusCoverage(t *testing.T) {
	slos, err := Load(File{Name: "slo.yaml", Data: []byte(evalSpec)})
	if err != nil {
		t.Fatal(err)
	}
	month := 30 * 24 * time.Hour
	cov := map[string]float64{"30d": (15 * time.Second).Seconds() / month.Seconds(), "5m": 0.05, "1h": 15.0 / 3600, "3d": 0.25}
	ev := &Evaluator{SLOs: slos, Querier: coverageQuerier{cov: cov}}
	st, err := ev.Status(context.Background(), time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	s := st[0]
	if !s.BudgetPartial || s.BudgetCoverage == nil || *s.BudgetCoverage != cov["30d"] {
		t.Fatalf("budget not marked partial: %+v", s)
	}
	// 15 s of 100% errors spend 15 s / 30 d / 0.1% = 0.58% of the budget.
	want := 1 - 15.0/month.Seconds()/0.001
	if s.BudgetRemainingObserved == nil || math.Abs(*s.BudgetRemainingObserved-want) > 1e-9 {
		t.Errorf("observed budget remaining %v, want %g", s.BudgetRemainingObserved, want)
	}
	if *s.BudgetRemaining != 1-1/0.001 {
		t.Errorf("budget remaining at the present ratio %g, want %g", *s.BudgetRemaining, 1-1/0.001)
	}
	for _, b := range s.BurnRates {
		c, known := cov[b.Window]
		if !known {
			c = 1
		}
		if b.Coverage == nil || *b.Coverage != c || b.Partial != (c < PartialCoverage) {
			t.Errorf("window %s: coverage %v partial %v, want %g", b.Window, b.Coverage, b.Partial, c)
		}
	}
	if q := CoverageQuery(slos[0], time.Hour); q != "count_over_time((sum(rate(requests_total[5m])))[1h:1m]) / 60" {
		t.Errorf("CoverageQuery = %s", q)
	}
}
