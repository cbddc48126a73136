package backtest

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vaneproj/vane/slo"
)

// Alert is one alert of a replay: it fired at Start (the first step at
// which one of its tiers held for its `for`) and resolved at End (the first
// step at which none held), as Prometheus evaluates an alert rule at each
// step.
type Alert struct {
	Severity slo.Severity `json:"severity"`
	Start    time.Time    `json:"start"`
	End      time.Time    `json:"end"`
	// Open says the alert was still firing at the end of the range.
	Open bool `json:"open,omitempty"`
	// Tiers held at Start.
	Tiers []string `json:"tiers"`
	// BurnStart is the start of the run of steps burning faster than 1×
	// that led to the alert; Detection is Start − BurnStart.
	BurnStart time.Time     `json:"burn_start"`
	Detection time.Duration `json:"detection"`
	// BudgetSpent is the share of the SLO window's error budget spent from
	// BurnStart to Start (0.02 = 2%).
	BudgetSpent float64 `json:"budget_spent"`
	// Reset is how long the alert kept firing after the last step burning
	// faster than 1×.
	Reset time.Duration `json:"reset"`
	// PeakBurn is the highest long-window burn rate while firing.
	PeakBurn float64 `json:"peak_burn"`
	// Partial says a window behind the alert covered less than its length.
	Partial bool `json:"partial,omitempty"`
}

// Duration is End − Start.
func (a Alert) Duration() time.Duration { return a.End.Sub(a.Start) }

// FlapGap is the quiet time after an alert within which a new alert of the
// same severity counts as a flap.
const FlapGap = time.Hour

// UnalertedWindow is the window whose burn rate above 1× with no alert
// firing counts as unalerted burn.
const UnalertedWindow = time.Hour

// Replay runs policy p of SLO s over series and returns the alerts it
// would have fired. It evaluates each tier as the generated rules do: the
// error ratio over the long and the short window both above
// BurnRate × (1 − target), the long window holding at least min_events
// events and covering at least min_coverage of its length, for at least
// the tier's `for`.
func Replay(s *slo.SLO, p Policy, series *Series) ([]Alert, error) {
	if err := series.Validate(); err != nil {
		return nil, err
	}
	if len(p.Tiers) == 0 {
		return nil, fmt.Errorf("backtest: policy %q has no tiers", p.Name)
	}
	w := newWindows(series)
	return replay(s, p, series, w), nil
}

func replay(s *slo.SLO, p Policy, series *Series, w *windows) []Alert {
	target := s.Target()
	n := series.Len()
	type tierState struct {
		t          Tier
		th         float64
		long, shrt *windowStats
	}
	states := make([]tierState, len(p.Tiers))
	for i, t := range p.Tiers {
		states[i] = tierState{t: t, th: round12(t.Threshold(target)), long: w.stats(t.Long), shrt: w.stats(t.Short)}
	}
	stepBurn := w.stats(series.Step)
	budget := s.ErrorBudget()
	meanTotal := 1.0
	if !w.raw && w.present[n] > 0 {
		meanTotal = w.totSum[n] / float64(w.present[n])
	}
	window := s.Window.Duration
	if window <= 0 {
		window = slo.DefaultWindow
	}

	var alerts []Alert
	for _, sev := range []slo.Severity{slo.SeverityPage, slo.SeverityTicket} {
		var mine []int
		for i, st := range states {
			if st.t.Severity == sev {
				mine = append(mine, i)
			}
		}
		if len(mine) == 0 {
			continue
		}
		activeSince := make([]int, len(states)) // step the tier's condition began holding, -1 if not
		for i := range activeSince {
			activeSince[i] = -1
		}
		var cur *Alert
		for i := 0; i < n; i++ {
			firing := false
			var held []string
			for _, k := range mine {
				st := &states[k]
				ok := st.long.ratio[i] > st.th && st.shrt.ratio[i] > st.th
				if ok && p.MinEvents > 0 && !w.raw && !(st.long.events[i] >= p.MinEvents) {
					ok = false
				}
				if ok && p.MinCoverage > 0 && st.long.coverage[i] < p.MinCoverage {
					ok = false
				}
				if !ok {
					activeSince[k] = -1
					continue
				}
				if activeSince[k] < 0 {
					activeSince[k] = i
				}
				if series.At(i).Sub(series.At(activeSince[k])) >= st.t.For {
					firing = true
					held = append(held, slo.TierName(st.t.Tier))
				}
			}
			switch {
			case firing && cur == nil:
				cur = &Alert{Severity: sev, Start: series.At(i), Tiers: held}
				for _, k := range mine {
					if states[k].long.coverage[i] < 1 || states[k].shrt.coverage[i] < 1 {
						cur.Partial = true
					}
				}
				b := i
				for b > 0 && stepBurn.ratio[b-1]/budget > 1 {
					b--
				}
				cur.BurnStart = series.At(b)
				cur.Detection = cur.Start.Sub(cur.BurnStart)
				spent := 0.0
				for j := b; j <= i; j++ {
					if e := series.Errors[j]; !math.IsNaN(e) {
						spent += e
					}
				}
				cur.BudgetSpent = spent / meanTotal * series.Step.Seconds() / (budget * window.Seconds())
			case !firing && cur != nil:
				cur.End = series.At(i)
				finish(cur, series, stepBurn, budget, i)
				alerts = append(alerts, *cur)
				cur = nil
			}
			if cur != nil {
				for _, k := range mine {
					if r := states[k].long.ratio[i] / budget; r > cur.PeakBurn {
						cur.PeakBurn = r
					}
				}
			}
		}
		if cur != nil {
			cur.End = series.At(n)
			cur.Open = true
			finish(cur, series, stepBurn, budget, n)
			alerts = append(alerts, *cur)
		}
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].Start.Before(alerts[j].Start) })
	return alerts
}

// finish sets the reset time: from the last step burning above 1× before
// end to the alert's end.
func finish(a *Alert, series *Series, stepBurn *windowStats, budget float64, end int) {
	start := series.Index(a.Start)
	last := -1
	for j := end - 1; j >= start; j-- {
		if stepBurn.ratio[j]/budget > 1 {
			last = j
			break
		}
	}
	if last >= 0 {
		a.Reset = a.End.Sub(series.At(last + 1))
	} else {
		a.Reset = a.End.Sub(a.Start)
	}
	if a.Reset < 0 {
		a.Reset = 0
	}
}

// round12 rounds to 12 significant digits, as the rule generator prints
// thresholds.
func round12(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) || x == 0 {
		return x
	}
	p := math.Pow(10, 12-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}
