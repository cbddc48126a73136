package api

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/slo"
)

// ratioQuerier answers error queries with bad and total queries with total,
// per window, and fails when fail is set.
type ratioQuerier struct {
	bad, total float64
	fail       bool
}

func (q ratioQuerier) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	if q.fail {
		return analysis.Vector{}, errors.New("connection refused")
	}
	v := q.total
	if strings.Contains(query, `code=~"5.."`) {
		v = q.bad
	}
	return analysis.Vector{Samples: []analysis.Sample{{Value: v}}}, nil
}

func (q ratioQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, errors.New("not used")
}

const spec = `version: "vane/v1"
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

func TestSLOEvaluator(t *testing.T) {
	slos, err := slo.Load(slo.File{Name: "slo.yaml", Data: []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, now := context.Background(), time.Unix(1e9, 0)
	// 0.05% errors on a 0.1% budget: half the budget left, burn rate 0.5.
	e := &SLOEvaluator{SLOs: slos, Querier: ratioQuerier{bad: 0.5, total: 1000}}
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
	// No traffic: nothing was spent. A failing Prometheus: unknown, never full.
	if b, err := (&SLOEvaluator{SLOs: slos, Querier: ratioQuerier{}}).Budget(ctx, "availability", now); err != nil || b != 1 {
		t.Fatalf("no traffic: %g %v", b, err)
	}
	if b, err := (&SLOEvaluator{SLOs: slos, Querier: ratioQuerier{fail: true}}).Budget(ctx, "availability", now); err == nil || !math.IsNaN(b) {
		t.Fatalf("failing querier: %g %v", b, err)
	}
	st, _ = (&SLOEvaluator{SLOs: slos, Querier: ratioQuerier{fail: true}}).Status(ctx, now)
	if st[0].BudgetRemaining != nil || !strings.Contains(st[0].Error, "connection refused") {
		t.Fatalf("failing status: %+v", st[0])
	}
}

// windowQuerier records the range of every query's window.
type windowQuerier struct{ ranges *[]string }

func (q windowQuerier) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	i := strings.Index(query, "[")
	*q.ranges = append(*q.ranges, query[i+1:i+strings.Index(query[i:], "]")])
	return analysis.Vector{Samples: []analysis.Sample{{Value: 1}}}, nil
}

func (q windowQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, errors.New("not used")
}

func TestCalendarBudgetReadsTheCurrentPeriod(t *testing.T) {
	cal := strings.Replace(spec, "window: 30d", "window: month", 1)
	slos, err := slo.Load(slo.File{Name: "slo.yaml", Data: []byte(cal)})
	if err != nil {
		t.Fatal(err)
	}
	var ranges []string
	e := &SLOEvaluator{SLOs: slos, Querier: windowQuerier{&ranges}}
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC) // 2.5 days into November
	if _, err := e.Budget(context.Background(), "checkout-availability", now); err != nil {
		t.Fatal(err)
	}
	if len(ranges) != 2 || ranges[0] != "2d12h" || ranges[1] != "2d12h" {
		t.Fatalf("budget queries read %v, want the month so far (2d12h)", ranges)
	}
}
