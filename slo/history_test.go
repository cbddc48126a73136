package slo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// timeQuerier answers the same numbers to instant and range queries: an
// error query reads bad(t), a total query total(t), each without a value
// where it returns ok=false; a query containing fail errors.
type timeQuerier struct {
	bad, total func(t time.Time) (float64, bool)
	fail       string
}

func (q timeQuerier) value(query string, t time.Time) (float64, bool, error) {
	if q.fail != "" && strings.Contains(query, q.fail) {
		return 0, false, errors.New("connection refused")
	}
	if strings.Contains(query, `code=~"5.."`) {
		v, ok := q.bad(t)
		return v, ok, nil
	}
	v, ok := q.total(t)
	return v, ok, nil
}

func (q timeQuerier) Scalar(ctx context.Context, query string, at time.Time) (float64, error) {
	v, ok, err := q.value(query, at)
	if err != nil {
		return math.NaN(), err
	}
	if !ok {
		return math.NaN(), fmt.Errorf("query %s: %w", query, ErrNoData)
	}
	return v, nil
}

func (q timeQuerier) Range(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]Point, error) {
	var out []Point
	for t := start; !t.After(end); t = t.Add(step) {
		v, ok, err := q.value(query, t)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, Point{T: t, V: v})
		}
	}
	return out, nil
}

// TestHistoryMatchesStatus: each point of History is what Status and
// Budget read at its time, through the same SLI queries: errors missing
// where the total exists count zero, a time without traffic keeps the
// whole budget and has no burn rate, a time without a total has no point.
func TestHistoryMatchesStatus(t *testing.T) {
	slos, err := Load(File{Name: "slo.yaml", Data: []byte(evalSpec)})
	if err != nil {
		t.Fatal(err)
	}
	s := slos[0]
	t0 := time.Unix(1.7e9, 0)
	q := timeQuerier{
		bad: func(t time.Time) (float64, bool) {
			m := int(t.Sub(t0) / time.Minute)
			return float64(m%5) * 0.1, m%7 != 3 // no error series now and then
		},
		total: func(t time.Time) (float64, bool) {
			m := int(t.Sub(t0) / time.Minute)
			switch {
			case m == 10:
				return 0, true // no traffic
			case m == 11:
				return 0, false // no data
			}
			return 100, true
		},
	}
	e := &Evaluator{SLOs: slos, Querier: q}
	ctx := context.Background()
	h, err := e.History(ctx, s, t0, t0.Add(20*time.Minute), time.Minute)
	if err != nil || len(h.Errors) > 0 {
		t.Fatalf("History: %v %v", err, h.Errors)
	}
	if len(h.Budget) != 20 { // 21 times, one without data
		t.Fatalf("%d budget points, want 20", len(h.Budget))
	}
	for _, p := range h.Budget {
		want, err := e.Budget(ctx, s.ID(), p.T)
		if err != nil || math.Abs(p.V-want) > 1e-12 {
			t.Errorf("budget at %s: %g, Budget reads %g (%v)", p.T, p.V, want, err)
		}
	}
	if len(h.BurnRates) != len(tierWindows(s)) || h.BurnRates[0].Window != "5m" {
		t.Fatalf("windows: %+v", h.BurnRates)
	}
	for _, w := range h.BurnRates {
		if len(w.Points) != 19 { // no traffic at one time, no data at another
			t.Errorf("%s: %d points, want 19", w.Window, len(w.Points))
		}
		for _, p := range w.Points {
			st, _ := e.Status(ctx, p.T)
			var want *float64
			for _, br := range st[0].BurnRates {
				if br.Window == w.Window {
					want = br.BurnRate
				}
			}
			if want == nil || math.Abs(p.V-*want) > 1e-12 {
				t.Errorf("burn over %s at %s: %g, Status reads %v", w.Window, p.T, p.V, want)
			}
		}
	}
	b, err := json.Marshal(h.Budget[:1])
	if err != nil || string(b) != "[[1700000000,1]]" {
		t.Errorf("JSON points: %s %v", b, err)
	}

	// A failing series is reported, the others still given; all failing
	// is an error.
	q.fail = "[5m]"
	e.Querier = q
	h, err = e.History(ctx, s, t0, t0.Add(5*time.Minute), time.Minute)
	if err != nil || len(h.Errors) != 1 || !strings.Contains(h.Errors[0], "burn rate over 5m: connection refused") || len(h.Budget) != 6 {
		t.Errorf("one failing window: %v %q %d", err, h.Errors, len(h.Budget))
	}
	q.fail = "requests_total"
	e.Querier = q
	if _, err = e.History(ctx, s, t0, t0.Add(5*time.Minute), time.Minute); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("every series failing: %v", err)
	}
	// A querier without range queries.
	e.Querier = fakeQuerier{bad: f(0), total: f(1)}
	if _, err := e.History(ctx, s, t0, t0.Add(time.Minute), time.Minute); !errors.Is(err, ErrRangeUnsupported) {
		t.Errorf("Scalar-only querier: %v", err)
	}
}

// TestHistoryCalendarWindow: a calendar window's budget is read point by
// point with Budget, at most MaxCalendarBudgetPoints of them.
func TestHistoryCalendarWindow(t *testing.T) {
	slos, err := Load(File{Name: "slo.yaml", Data: []byte(strings.Replace(evalSpec, "window: 30d", "window: month", 1))})
	if err != nil {
		t.Fatal(err)
	}
	s := slos[0]
	var windows []string
	q := timeQuerier{bad: func(time.Time) (float64, bool) { return 0.05, true }, total: func(time.Time) (float64, bool) { return 100, true }}
	e := &Evaluator{SLOs: slos, Querier: recordingQuerier{q, &windows}}
	end := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	h, err := e.History(context.Background(), s, end.Add(-6*time.Hour), end, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Budget) != MaxCalendarBudgetPoints+1 || h.BudgetStep != "7m30s" || h.Step != "30s" {
		t.Fatalf("%d budget points every %s", len(h.Budget), h.BudgetStep)
	}
	if math.Abs(h.Budget[0].V-0.5) > 1e-12 {
		t.Errorf("budget %g, want 0.5", h.Budget[0].V)
	}
	// The first point reads the month up to its own time.
	if !strings.Contains(strings.Join(windows, " "), "[29d]") || !strings.Contains(strings.Join(windows, " "), "[29d6h]") {
		t.Errorf("budget windows read: %v", windows)
	}
}

type recordingQuerier struct {
	timeQuerier
	windows *[]string
}

func (q recordingQuerier) Scalar(ctx context.Context, query string, at time.Time) (float64, error) {
	i := strings.Index(query, "[")
	*q.windows = append(*q.windows, query[i:i+strings.Index(query[i:], "]")+1])
	return q.timeQuerier.Scalar(ctx, query, at)
}
