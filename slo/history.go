package slo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// RangeQuerier evaluates a range PromQL query whose result is at most one
// series: its points from start to end every step (a step without a value
// is absent). An empty result is no points and no error; several series
// are an error. An Evaluator's Querier that also implements RangeQuerier
// (analysis.SLOQuerier's does) lets it compute History.
type RangeQuerier interface {
	Range(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]Point, error)
}

// Point is one value of a series at a time. It encodes in JSON as
// Prometheus's range results do: [unix seconds, value].
type Point struct {
	T time.Time
	V float64
}

// MarshalJSON encodes p as [unix seconds, value].
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{float64(p.T.UnixMilli()) / 1000, p.V})
}

// UnmarshalJSON decodes [unix seconds, value].
func (p *Point) UnmarshalJSON(b []byte) error {
	var a [2]float64
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("point: %w", err)
	}
	p.T, p.V = time.UnixMilli(int64(math.Round(a[0]*1000))), a[1]
	return nil
}

// History is an SLO's burn rate over each of its tiers' windows and its
// error budget remaining from Start to End, computed as Status computes
// them at each time (the SLI's own queries, not recorded series).
type History struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Service   string    `json:"service"`
	Objective float64   `json:"objective_percent"`
	Window    string    `json:"window"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	// Step is the spacing of the burn-rate points; BudgetStep that of the
	// budget points (coarser for a calendar window, whose length changes
	// at every step: each point is one Budget read).
	Step       string `json:"step"`
	BudgetStep string `json:"budget_step"`
	// Budget is the error budget remaining (1 = untouched); a time without
	// traffic over the window has its whole budget, one whose SLI could not
	// be read has no point.
	Budget []Point `json:"budget"`
	// BurnRates holds one series per tier window, shortest first; a time
	// without traffic over the window has no point.
	BurnRates []WindowHistory `json:"burn_rates"`
	// Errors explains series that could not be read (the others are still
	// given).
	Errors []string `json:"errors,omitempty"`
}

// WindowHistory is the burn rate over one window at each step.
type WindowHistory struct {
	Window string  `json:"window"`
	Points []Point `json:"points"`
}

// MaxCalendarBudgetPoints bounds the budget points of a calendar window's
// History: each is one Budget read (two instant queries).
const MaxCalendarBudgetPoints = 48

// Find returns the SLO of service named name, or nil.
func (e *Evaluator) Find(service, name string) *SLO {
	for _, s := range e.SLOs {
		if s.Service == service && s.Name == name {
			return s
		}
	}
	return nil
}

// ErrRangeUnsupported is returned (wrapped) by History when the
// Evaluator's Querier cannot run range queries.
var ErrRangeUnsupported = errors.New("the querier cannot run range queries")

// History computes s's burn rate per tier window and its budget remaining
// from start to end every step, with range queries of the SLI's own
// queries through the Evaluator's Querier, which must implement
// RangeQuerier. The ratio at each time is the one Status reads there: an
// error query without a value where the total has one counts zero errors.
// A failed series is reported in History.Errors; an error is returned
// only when no series could be read at all.
func (e *Evaluator) History(ctx context.Context, s *SLO, start, end time.Time, step time.Duration) (History, error) {
	h := History{ID: s.ID(), Name: s.Name, Service: s.Service, Objective: s.Objective, Window: s.Window.String(),
		Start: start, End: end, Step: FormatDuration(step), Budget: []Point{}, BurnRates: []WindowHistory{}}
	rq, ok := e.Querier.(RangeQuerier)
	if !ok {
		return h, ErrRangeUnsupported
	}
	if !(step > 0) || end.Before(start) {
		return h, fmt.Errorf("history of %s: a positive step and start ≤ end are needed", s.ID())
	}
	failed, series := 0, 0
	for _, w := range tierWindows(s) {
		series++
		wh := WindowHistory{Window: FormatDuration(w), Points: []Point{}}
		pts, err := e.rangeRatio(ctx, rq, s, w, start, end, step)
		if err != nil {
			failed++
			h.Errors = append(h.Errors, fmt.Sprintf("burn rate over %s: %v", FormatDuration(w), err))
		}
		for _, p := range pts {
			wh.Points = append(wh.Points, Point{T: p.T, V: p.V / s.ErrorBudget()})
		}
		h.BurnRates = append(h.BurnRates, wh)
	}
	series++
	if s.Window.Calendar != "" {
		// The window grows at every step: read each point as Budget does.
		bstep := max(step, (end.Sub(start) / MaxCalendarBudgetPoints).Round(time.Second))
		h.BudgetStep = FormatDuration(bstep)
		var errs []error
		for t := start; !t.After(end); t = t.Add(bstep) {
			b, err := e.Budget(ctx, s.ID(), t)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			h.Budget = append(h.Budget, Point{T: t, V: b})
		}
		if len(errs) > 0 && len(h.Budget) == 0 {
			failed++
			h.Errors = append(h.Errors, fmt.Sprintf("budget: %v", errs[0]))
		}
	} else {
		h.BudgetStep = h.Step
		pts, err := e.rangeRatio(ctx, rq, s, s.Window.Duration, start, end, step)
		if err != nil {
			failed++
			h.Errors = append(h.Errors, fmt.Sprintf("budget: %v", err))
		}
		// A time with a total but no traffic has spent nothing.
		for _, p := range pts {
			v := 1.0
			if !math.IsNaN(p.V) {
				v = 1 - p.V/s.ErrorBudget()
			}
			h.Budget = append(h.Budget, Point{T: p.T, V: v})
		}
	}
	for i := range h.BurnRates {
		h.BurnRates[i].Points = finite(h.BurnRates[i].Points)
	}
	if failed == series {
		return h, fmt.Errorf("history of %s: %s", s.ID(), h.Errors[0])
	}
	return h, nil
}

// tierWindows returns the long and short windows of s's tiers, shortest
// first, each once.
func tierWindows(s *SLO) []time.Duration {
	seen := map[time.Duration]bool{}
	var ws []time.Duration
	for _, t := range s.Tiers() {
		for _, w := range []time.Duration{t.Long, t.Short} {
			if !seen[w] {
				seen[w] = true
				ws = append(ws, w)
			}
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
	return ws
}

func finite(ps []Point) []Point {
	out := ps[:0]
	for _, p := range ps {
		if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
			out = append(out, p)
		}
	}
	return out
}

// rangeRatio returns the error ratio over window at each step from start
// to end, as ratio reads it at one time: a raw SLI's query is the ratio;
// an events SLI divides its error query by its total query, counting zero
// errors where only the total has a value. A time whose total is zero (no
// traffic) gives NaN; a time without a total, or a raw SLI's NaN, gives no
// point.
func (e *Evaluator) rangeRatio(ctx context.Context, rq RangeQuerier, s *SLO, window time.Duration, start, end time.Time, step time.Duration) ([]Point, error) {
	t := e.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	read := func(q string) ([]Point, error) {
		ctx, cancel := context.WithTimeout(ctx, t)
		defer cancel()
		return rq.Range(ctx, q, start, end, step)
	}
	errQ, totQ := s.SLI.Queries(window)
	bad, err := read(errQ)
	if err != nil {
		return nil, err
	}
	if totQ == "" {
		return finite(bad), nil // NaN: the ratio is unknown there
	}
	total, err := read(totQ)
	if err != nil {
		return nil, err
	}
	badAt := make(map[int64]float64, len(bad))
	for _, p := range bad {
		badAt[p.T.UnixMilli()] = p.V
	}
	out := make([]Point, 0, len(total))
	for _, p := range total {
		r, ok := ErrorRatio(badAt[p.T.UnixMilli()], p.V)
		if !ok {
			r = math.NaN()
		}
		out = append(out, Point{T: p.T, V: r})
	}
	return out, nil
}
