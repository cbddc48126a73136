package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/slo"
)

var errNoTraffic = errors.New("no traffic")

// SLOStatus is one SLO's live status.
type SLOStatus struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Service   string  `json:"service"`
	Objective float64 `json:"objective_percent"`
	Window    string  `json:"window"`
	// BudgetRemaining is the share of the window's error budget left (1 =
	// untouched, ≤ 0 = spent); null when it could not be read.
	BudgetRemaining *float64 `json:"budget_remaining"`
	// BurnRates holds the burn rate over each alert window.
	BurnRates []WindowBurnRate `json:"burn_rates"`
	// Error explains a value that could not be read.
	Error string `json:"error,omitempty"`
}

// WindowBurnRate is the burn rate over one window; null when unknown (no
// traffic or a failed query).
type WindowBurnRate struct {
	Window   string   `json:"window"`
	BurnRate *float64 `json:"burn_rate"`
}

// SLOEvaluator computes SLO status from Prometheus through the SLOs' own
// SLI queries. It serves GET /api/v1/slos, and its Budget method is the
// rollout error-budget gate's rollout.BudgetFunc.
type SLOEvaluator struct {
	SLOs    []*slo.SLO
	Querier analysis.Querier
	// Timeout bounds each query (default 10s).
	Timeout time.Duration
}

// ratio returns the error ratio over window at now.
func (e *SLOEvaluator) ratio(ctx context.Context, s *slo.SLO, window time.Duration, now time.Time) (float64, error) {
	t := e.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	errQ, totQ := s.SLI.Queries(window)
	bad, err := e.scalar(ctx, errQ, now)
	if err != nil {
		return math.NaN(), err
	}
	if totQ == "" { // a raw SLI: the query is the ratio
		return bad, nil
	}
	total, err := e.scalar(ctx, totQ, now)
	if err != nil {
		return math.NaN(), err
	}
	r, ok := slo.ErrorRatio(bad, total)
	if !ok {
		return math.NaN(), fmt.Errorf("%w over %s", errNoTraffic, slo.FormatDuration(window))
	}
	return r, nil
}

func (e *SLOEvaluator) scalar(ctx context.Context, q string, now time.Time) (float64, error) {
	v, err := e.Querier.Query(ctx, q, now)
	if err != nil {
		return math.NaN(), err
	}
	if len(v.Samples) == 0 {
		return math.NaN(), fmt.Errorf("query %s: %w", q, analysis.ErrNoData)
	}
	sum := 0.0
	for _, s := range v.Samples {
		sum += s.Value
	}
	if math.IsNaN(sum) {
		return math.NaN(), fmt.Errorf("query %s: %w", q, analysis.ErrNaN)
	}
	return sum, nil
}

func (e *SLOEvaluator) find(name string) *slo.SLO {
	for _, s := range e.SLOs {
		if s.ID() == name || s.Name == name {
			return s
		}
	}
	return nil
}

// Budget returns the error budget remaining of the SLO named name (its ID
// "service-name", or its name) at now.
func (e *SLOEvaluator) Budget(ctx context.Context, name string, now time.Time) (float64, error) {
	s := e.find(name)
	if s == nil {
		return math.NaN(), fmt.Errorf("no SLO named %q", name)
	}
	// A rolling window reads its whole length; a calendar one (month,
	// week) the part of the current period up to now.
	r, err := e.ratio(ctx, s, s.Window.Range(now), now)
	if errors.Is(err, errNoTraffic) {
		return 1, nil // nothing was spent
	}
	if err != nil {
		return math.NaN(), err
	}
	return 1 - r/s.ErrorBudget(), nil
}

// Status computes every SLO's budget remaining and burn rates.
func (e *SLOEvaluator) Status(ctx context.Context, now time.Time) ([]SLOStatus, error) {
	out := make([]SLOStatus, 0, len(e.SLOs))
	for _, s := range e.SLOs {
		st := SLOStatus{ID: s.ID(), Name: s.Name, Service: s.Service, Objective: s.Objective, Window: s.Window.String(), BurnRates: []WindowBurnRate{}}
		var errs []error
		if b, err := e.Budget(ctx, s.ID(), now); err != nil {
			errs = append(errs, fmt.Errorf("budget: %w", err))
		} else {
			st.BudgetRemaining = &b
		}
		windows := map[time.Duration]bool{}
		for _, t := range s.Tiers() {
			windows[t.Long], windows[t.Short] = true, true
		}
		ws := make([]time.Duration, 0, len(windows))
		for w := range windows {
			ws = append(ws, w)
		}
		sort.Slice(ws, func(i, j int) bool { return ws[i] < ws[j] })
		for _, w := range ws {
			br := WindowBurnRate{Window: slo.FormatDuration(w)}
			if r, err := e.ratio(ctx, s, w, now); err == nil {
				x := r / s.ErrorBudget()
				br.BurnRate = &x
			}
			st.BurnRates = append(st.BurnRates, br)
		}
		if err := errors.Join(errs...); err != nil {
			st.Error = err.Error()
		}
		out = append(out, st)
	}
	return out, nil
}
