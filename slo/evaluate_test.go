package slo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeQuerier answers error queries with bad and total queries with total;
// a nil bad means the error series does not exist (a Sloth-style error
// query before the first error), fail makes every query fail, and ranges
// records each query's window.
type fakeQuerier struct {
	bad, total *float64
	fail       bool
	ranges     *[]string
}

func (q fakeQuerier) Scalar(ctx context.Context, query string, at time.Time) (float64, error) {
	if q.ranges != nil {
		i := strings.Index(query, "[")
		*q.ranges = append(*q.ranges, query[i+1:i+strings.Index(query[i:], "]")])
	}
	if q.fail {
		return math.NaN(), errors.New("connection refused")
	}
	v := q.total
	if strings.Contains(query, `code=~"5.."`) {
		v = q.bad
	}
	if v == nil {
		return math.NaN(), fmt.Errorf("query %s: %w", query, ErrNoData)
	}
	return *v, nil
}

func f(x float64) *float64 { return &x }

const evalSpec = `version: "vane/v1"
service: "checkout"
slos:
  - name: "availability"
    objective: 99.9
    window: 30d
    sli:
      events:
        error_query: sum(rate(requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
`

func TestEvaluator(t *testing.T) {
	slos, err := Load(File{Name: "slo.yaml", Data: []byte(evalSpec)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, now := context.Background(), time.Unix(1e9, 0)
	// 0.05% errors on a 0.1% budget: half the budget left, burn rate 0.5.
	e := &Evaluator{SLOs: slos, Querier: fakeQuerier{bad: f(0.5), total: f(1000)}}
	b, err := e.Budget(ctx, "checkout-availability", now)
	if err != nil || math.Abs(b-0.5) > 1e-9 {
		t.Fatalf("Budget = %g, %v; want 0.5", b, err)
	}
	if b2, _ := e.Budget(ctx, "availability", now); b2 != b {
		t.Fatalf("by name: %g", b2)
	}
	if _, err := e.Budget(ctx, "nope", now); err == nil {
		t.Fatal("unknown SLO: no error")
	}
	st, err := e.Status(ctx, now)
	if err != nil || len(st) != 1 {
		t.Fatalf("Status: %v %v", st, err)
	}
	if st[0].ID != "checkout-availability" || st[0].BudgetRemaining == nil || len(st[0].BurnRates) == 0 {
		t.Fatalf("status: %+v", st[0])
	}
	for _, br := range st[0].BurnRates {
		if br.BurnRate == nil || math.Abs(*br.BurnRate-0.5) > 1e-9 {
			t.Fatalf("burn rate over %s: %v", br.Window, br.BurnRate)
		}
	}
	for name, tc := range map[string]struct {
		q    fakeQuerier
		want float64 // NaN: unknown, with an error
	}{
		// No traffic: nothing was spent.
		"no traffic": {fakeQuerier{bad: f(0), total: f(0)}, 1},
		// A Sloth-style error query selects nothing before the first
		// error: with traffic present, the budget is full.
		"no error series, traffic": {fakeQuerier{total: f(1000)}, 1},
		// Unknown only when the total cannot be read.
		"no series at all":   {fakeQuerier{}, math.NaN()},
		"failing Prometheus": {fakeQuerier{fail: true}, math.NaN()},
	} {
		b, err := (&Evaluator{SLOs: slos, Querier: tc.q}).Budget(ctx, "availability", now)
		if math.IsNaN(tc.want) != math.IsNaN(b) || !math.IsNaN(b) && b != tc.want || math.IsNaN(b) != (err != nil) {
			t.Errorf("%s: budget %g, %v; want %g", name, b, err, tc.want)
		}
	}
	st, _ = (&Evaluator{SLOs: slos, Querier: fakeQuerier{total: f(1000)}}).Status(ctx, now)
	if st[0].BudgetRemaining == nil || *st[0].BudgetRemaining != 1 || st[0].BurnRates[0].BurnRate == nil || *st[0].BurnRates[0].BurnRate != 0 {
		t.Fatalf("status without an error series: %+v", st[0])
	}
	st, _ = (&Evaluator{SLOs: slos, Querier: fakeQuerier{fail: true}}).Status(ctx, now)
	if st[0].BudgetRemaining != nil || !strings.Contains(st[0].Error, "connection refused") {
		t.Fatalf("failing status: %+v", st[0])
	}
}

func TestCalendarBudgetReadsTheCurrentPeriod(t *testing.T) {
	cal := strings.Replace(evalSpec, "window: 30d", "window: month", 1)
	slos, err := Load(File{Name: "slo.yaml", Data: []byte(cal)})
	if err != nil {
		t.Fatal(err)
	}
	var ranges []string
	e := &Evaluator{SLOs: slos, Querier: fakeQuerier{bad: f(1), total: f(1), ranges: &ranges}}
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC) // 2.5 days into November
	if _, err := e.Budget(context.Background(), "checkout-availability", now); err != nil {
		t.Fatal(err)
	}
	if len(ranges) != 2 || ranges[0] != "2d12h" || ranges[1] != "2d12h" {
		t.Fatalf("budget queries read %v, want the month so far (2d12h)", ranges)
	}
}

func TestPageSignal(t *testing.T) {
	slos, err := Load(File{Name: "slo.yaml", Data: []byte(evalSpec)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, now := context.Background(), time.Unix(1e9, 0)
	// 2% errors on a 0.1% budget: burn 20× over both page windows.
	e := &Evaluator{SLOs: slos, Querier: fakeQuerier{bad: f(20), total: f(1000)}}
	sig, err := e.PageSignal(ctx, "checkout-availability", now)
	if err != nil || math.Abs(sig.BurnLong-20) > 1e-9 || math.Abs(sig.BurnShort-20) > 1e-9 || math.Abs(sig.Threshold-14.4) > 1e-9 || sig.Budget > -18 ||
		!sig.HasNow || math.Abs(sig.BurnNow-20) > 1e-9 {
		t.Fatalf("%+v %v", sig, err)
	}
	// No traffic: no burn, the whole budget.
	sig, err = (&Evaluator{SLOs: slos, Querier: fakeQuerier{bad: f(0), total: f(0)}}).PageSignal(ctx, "checkout-availability", now)
	if err != nil || sig.BurnLong != 0 || sig.BurnShort != 0 || sig.Budget != 1 {
		t.Fatalf("no traffic: %+v %v", sig, err)
	}
	if _, err := (&Evaluator{SLOs: slos, Querier: fakeQuerier{fail: true}}).PageSignal(ctx, "checkout-availability", now); err == nil {
		t.Fatal("no error from a failing Prometheus")
	}
	if _, err := e.PageSignal(ctx, "nope", now); err == nil {
		t.Fatal("unknown SLO accepted")
	}
}
