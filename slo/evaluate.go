package slo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// ErrNoData is returned (wrapped) by a Querier when a query's result is
// empty: the series it selects do not exist (yet).
var ErrNoData = errors.New("no data")

// Querier evaluates an instant PromQL query whose result is one number.
// An empty result is an error wrapping ErrNoData; any other failure (a
// query error, a timeout, several series, NaN) is another error. The
// caller gives the implementation (analysis.SLOQuerier reads Prometheus),
// so that this package does no I/O of its own.
type Querier interface {
	Scalar(ctx context.Context, query string, at time.Time) (float64, error)
}

// Status is one SLO's live status: the answer of the API's GET
// /api/v1/slos, per SLO.
type Status struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Service   string  `json:"service"`
	Objective float64 `json:"objective_percent"`
	Window    string  `json:"window"`
	// BudgetRemaining is the share of the window's error budget left (1 =
	// untouched, ≤ 0 = spent); null when it could not be read. It is the
	// error ratio over the data present, as if the whole window ran at it
	// (what the rollout gate reads).
	BudgetRemaining *float64 `json:"budget_remaining"`
	// BudgetCoverage is the share of the SLO window that holds data;
	// BudgetPartial marks a budget read from a window covered less than
	// PartialCoverage, and BudgetRemainingObserved then counts only the
	// errors present against the whole window's budget at the traffic
	// seen: 1 − ratio × coverage / budget (15 s of a full outage spend
	// 0.58% of a 99.9%/30d budget, where BudgetRemaining reads −99,900%).
	BudgetCoverage          *float64 `json:"budget_coverage,omitempty"`
	BudgetPartial           bool     `json:"budget_partial,omitempty"`
	BudgetRemainingObserved *float64 `json:"budget_remaining_observed,omitempty"`
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
	// Coverage is the share of the window that holds data (null when
	// unknown); Partial marks a burn rate read from a window covered less
	// than PartialCoverage.
	Coverage *float64 `json:"coverage,omitempty"`
	Partial  bool     `json:"partial,omitempty"`
}

// PartialCoverage is the coverage below which a window's burn rate and
// budget are marked partial.
const PartialCoverage = 0.95

// coverageSteps is how many points CoverageQuery samples per window.
const coverageSteps = 60

// CoverageQuery is a query for the share of window that holds data for s:
// the share of coverageSteps points over the window at which the SLI's 5m
// total (a raw SLI's ratio) exists.
func CoverageQuery(s *SLO, window time.Duration) string {
	errQ, totQ := s.SLI.Queries(baseWindow)
	q := totQ
	if q == "" {
		q = errQ
	}
	res := max(window/coverageSteps, time.Second)
	n := int(window / res)
	return fmt.Sprintf("count_over_time((%s)[%s:%s]) / %d", q, FormatDuration(window), FormatDuration(res), n)
}

// coverage reads CoverageQuery; no series means no data: 0.
func (e *Evaluator) coverage(ctx context.Context, s *SLO, window time.Duration, now time.Time) (float64, error) {
	c, err := e.scalar(ctx, CoverageQuery(s, window), now)
	if errors.Is(err, ErrNoData) {
		return 0, nil
	}
	if err != nil {
		return math.NaN(), err
	}
	return math.Max(0, math.Min(1, c)), nil
}

// Evaluator computes SLOs' budget remaining and burn rates from their own
// SLI queries, read through a Querier. Its Budget method is the rollout
// error-budget gate's budget reader.
type Evaluator struct {
	SLOs    []*SLO
	Querier Querier
	// Timeout bounds each query (default 10s).
	Timeout time.Duration
	// NowWindow is the short window PageSignal reads as "burning now"
	// (default 1m; a few scrape intervals at least).
	NowWindow time.Duration
}

var errNoTraffic = errors.New("no traffic")

func (e *Evaluator) scalar(ctx context.Context, q string, now time.Time) (float64, error) {
	t := e.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	return e.Querier.Scalar(ctx, q, now)
}

// ratio returns the error ratio over window at now. An error query without
// a series counts zero errors when the total can be read: a Sloth-style
// error query (no `or vector(0)`) selects nothing until the first error.
// Unknown is only when the total (or a raw SLI's ratio) cannot be read.
func (e *Evaluator) ratio(ctx context.Context, s *SLO, window time.Duration, now time.Time) (float64, error) {
	errQ, totQ := s.SLI.Queries(window)
	bad, err := e.scalar(ctx, errQ, now)
	if totQ == "" { // a raw SLI: the query is the ratio
		if err != nil {
			return math.NaN(), err
		}
		return bad, nil
	}
	if errors.Is(err, ErrNoData) {
		bad, err = 0, nil
	}
	if err != nil {
		return math.NaN(), err
	}
	total, err := e.scalar(ctx, totQ, now)
	if err != nil {
		return math.NaN(), err
	}
	r, ok := ErrorRatio(bad, total)
	if !ok {
		return math.NaN(), fmt.Errorf("%w over %s", errNoTraffic, FormatDuration(window))
	}
	return r, nil
}

func (e *Evaluator) find(name string) *SLO {
	for _, s := range e.SLOs {
		if s.ID() == name || s.Name == name {
			return s
		}
	}
	return nil
}

// Budget returns the error budget remaining of the SLO named name (its ID
// "service-name", or its name) at now, as a ratio (1 = untouched). A
// window without errors, or without traffic, has its whole budget; the
// budget is unknown (NaN and an error) only when the SLI's total cannot be
// read.
func (e *Evaluator) Budget(ctx context.Context, name string, now time.Time) (float64, error) {
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

// Status computes every SLO's budget remaining and its burn rate over each
// window of its alert tiers.
func (e *Evaluator) Status(ctx context.Context, now time.Time) ([]Status, error) {
	out := make([]Status, 0, len(e.SLOs))
	for _, s := range e.SLOs {
		st := Status{ID: s.ID(), Name: s.Name, Service: s.Service, Objective: s.Objective, Window: s.Window.String(), BurnRates: []WindowBurnRate{}}
		if b, err := e.Budget(ctx, s.ID(), now); err != nil {
			st.Error = fmt.Sprintf("budget: %v", err)
		} else {
			st.BudgetRemaining = &b
			if c, err := e.coverage(ctx, s, s.Window.Range(now), now); err == nil {
				st.BudgetCoverage = &c
				if c < PartialCoverage {
					st.BudgetPartial = true
					obs := 1 - (1-b)*c
					st.BudgetRemainingObserved = &obs
				}
			}
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
			br := WindowBurnRate{Window: FormatDuration(w)}
			if r, err := e.ratio(ctx, s, w, now); err == nil {
				x := r / s.ErrorBudget()
				br.BurnRate = &x
			}
			if c, err := e.coverage(ctx, s, w, now); err == nil {
				br.Coverage = &c
				br.Partial = c < PartialCoverage
			}
			st.BurnRates = append(st.BurnRates, br)
		}
		out = append(out, st)
	}
	return out, nil
}

// PageSignal is an SLO's burn over its first page tier's windows and its
// remaining budget: what an autoscaler reads to scale on the SLO.
type PageSignal struct {
	// BurnLong and BurnShort are the burn rates over the page tier's long
	// and short windows (0 without traffic).
	BurnLong, BurnShort float64
	// Budget is the error budget remaining, as a ratio (≤ 1; negative when
	// overspent).
	Budget float64
	// Threshold is the page tier's burn-rate threshold.
	Threshold float64
	// BurnNow is the burn rate over Evaluator.NowWindow, when HasNow: what
	// the service does now, while the page windows still remember a burn
	// that has ended.
	BurnNow float64
	HasNow  bool
}

// PageSignal reads the named SLO's page-tier burn rates and its remaining
// budget at now. An SLO without a page tier, an unknown name or an
// unreadable SLI is an error.
func (e *Evaluator) PageSignal(ctx context.Context, name string, now time.Time) (PageSignal, error) {
	sig := PageSignal{BurnLong: math.NaN(), BurnShort: math.NaN(), Budget: math.NaN()}
	s := e.find(name)
	if s == nil {
		return sig, fmt.Errorf("no SLO named %q", name)
	}
	var page *Tier
	for _, t := range s.Tiers() {
		if t.Severity == SeverityPage {
			page = &t
			break
		}
	}
	if page == nil {
		return sig, fmt.Errorf("SLO %q has no page tier", name)
	}
	b, err := e.Budget(ctx, s.ID(), now)
	if err != nil {
		return sig, fmt.Errorf("budget: %w", err)
	}
	sig.Budget, sig.Threshold = b, page.BurnRate
	for _, w := range []struct {
		d  time.Duration
		to *float64
	}{{page.Long, &sig.BurnLong}, {page.Short, &sig.BurnShort}} {
		r, err := e.ratio(ctx, s, w.d, now)
		if errors.Is(err, errNoTraffic) {
			*w.to = 0
			continue
		}
		if err != nil {
			return sig, fmt.Errorf("burn rate over %s: %w", FormatDuration(w.d), err)
		}
		*w.to = r / s.ErrorBudget()
	}
	// The short window is best effort: without it the page windows decide.
	nw := e.NowWindow
	if nw <= 0 {
		nw = time.Minute
	}
	if r, err := e.ratio(ctx, s, nw, now); errors.Is(err, errNoTraffic) {
		sig.BurnNow, sig.HasNow = 0, true
	} else if err == nil {
		sig.BurnNow, sig.HasNow = r/s.ErrorBudget(), true
	}
	return sig, nil
}
