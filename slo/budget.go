package slo

import (
	"fmt"
	"math"
	"time"
)

// This file holds Vane's error-budget arithmetic. It is the single source of
// truth for the rule generator, the live burn-rate evaluator and the
// backtester: all of them call these functions rather than re-deriving the
// formulas. Everything here is pure: no I/O, no clock.
//
// Conventions: a target (objective) is a ratio in (0, 1), e.g. 0.999 for a
// 99.9% SLO; an error ratio is bad/total in [0, 1]; a burn rate is the error
// ratio divided by the error budget (1 − target), so 1× spends exactly the
// whole budget over the SLO window. The formulas follow the Google SRE
// Workbook, chapter "Alerting on SLOs" (sre.google/workbook/alerting-on-slos).

// Severity says who an alert tier notifies.
type Severity string

// The two severities of multi-window, multi-burn-rate alerting.
const (
	// SeverityPage wakes someone up: the budget is burning fast.
	SeverityPage Severity = "page"
	// SeverityTicket files work for business hours: a slow, steady burn.
	SeverityTicket Severity = "ticket"
)

// DefaultWindow is the SLO window used when a spec does not set one.
const DefaultWindow = 30 * 24 * time.Hour

// Tier is one multi-window, multi-burn-rate alert condition: it holds when
// the error ratio over both Long and Short exceeds BurnRate × (1 − target).
// BudgetFraction is the share of the whole window's error budget spent
// during Long at exactly BurnRate: BudgetFraction = BurnRate × Long / window.
type Tier struct {
	Severity       Severity      `json:"severity"`
	Long           time.Duration `json:"long"`
	Short          time.Duration `json:"short"`
	BudgetFraction float64       `json:"budget_fraction"`
	BurnRate       float64       `json:"burn_rate"`
}

// String describes the tier, e.g. "page 1h/5m 14.4x (2% of budget)".
func (t Tier) String() string {
	return fmt.Sprintf("%s %s/%s %sx (%s%% of budget)", t.Severity, FormatDuration(t.Long), FormatDuration(t.Short),
		formatFloat(t.BurnRate), formatFloat(t.BudgetFraction*100))
}

// Threshold is the error ratio above which both of the tier's windows must
// be for it to fire: BurnRate × (1 − target).
func (t Tier) Threshold(target float64) float64 {
	return t.BurnRate * ErrorBudget(target)
}

// workbookTiers are the SRE Workbook's recommended tiers for a 30-day window.
var workbookTiers = [...]struct {
	sev      Severity
	long     time.Duration
	short    time.Duration
	fraction float64
}{
	{SeverityPage, time.Hour, 5 * time.Minute, 0.02},
	{SeverityPage, 6 * time.Hour, 30 * time.Minute, 0.05},
	{SeverityTicket, 24 * time.Hour, 2 * time.Hour, 0.10},
	{SeverityTicket, 72 * time.Hour, 6 * time.Hour, 0.10},
}

// Bounds on scaled alert windows: a short window must hold several scrapes,
// and a long window must be longer than its short one.
const (
	minShortWindow = 5 * time.Minute
	minLongWindow  = 10 * time.Minute
)

// DefaultTiers returns the SRE Workbook's four tiers scaled to window so
// that each spends the same fraction of the budget as it does on 30 days:
// page 2% in 1h (short 5m, 14.4×), page 5% in 6h (30m, 6×), ticket 10% in
// 1d (2h, 3×), ticket 10% in 3d (6h, 1×). For another window W, every long
// window is scaled by W/30d and rounded to the minute (at least 10m), the
// short window is 1/12 of the long one (at least 5m), and the burn rate is
// recomputed from the rounded long window so the budget fraction is exact.
// A 30-day window yields exactly the Workbook's numbers.
func DefaultTiers(window time.Duration) []Tier {
	if window <= 0 {
		window = DefaultWindow
	}
	out := make([]Tier, 0, len(workbookTiers))
	for _, w := range workbookTiers {
		long := w.long
		short := w.short
		if window != DefaultWindow {
			long = max(roundDuration(time.Duration(float64(w.long)*float64(window)/float64(DefaultWindow)), time.Minute), minLongWindow)
			short = max(roundDuration(long/12, time.Minute), minShortWindow)
		}
		out = append(out, Tier{
			Severity:       w.sev,
			Long:           long,
			Short:          short,
			BudgetFraction: w.fraction,
			BurnRate:       BurnRateForFraction(w.fraction, window, long),
		})
	}
	return out
}

// BurnRateForFraction is the burn rate that spends fraction of the window's
// budget in long: fraction × window / long (2% of 30d in 1h → 14.4).
func BurnRateForFraction(fraction float64, window, long time.Duration) float64 {
	if long <= 0 {
		return math.Inf(1)
	}
	return roundFloat(fraction * float64(window) / float64(long))
}

// FractionForBurnRate is the share of the window's budget spent in long at
// burnRate: burnRate × long / window (the inverse of BurnRateForFraction).
func FractionForBurnRate(burnRate float64, window, long time.Duration) float64 {
	if window <= 0 {
		return math.Inf(1)
	}
	return roundFloat(burnRate * float64(long) / float64(window))
}

// ErrorBudget is the allowed error ratio, 1 − target.
func ErrorBudget(target float64) float64 {
	return roundFloat(1 - target)
}

// ErrorRatio is bad/total. It reports ok=false when total is not positive
// (no traffic): there is no ratio, and callers must not treat that as 0 or 1.
func ErrorRatio(bad, total float64) (ratio float64, ok bool) {
	if !(total > 0) || math.IsNaN(bad) || math.IsInf(total, 0) {
		return 0, false
	}
	return bad / total, true
}

// BurnRate is how fast the budget is spent over a window in which bad of
// total events failed: (bad/total) / (1 − target). 1 spends exactly the
// budget over the SLO window. ok=false means no traffic (total ≤ 0) or a
// target of 1 or more, for which no budget exists.
func BurnRate(bad, total, target float64) (rate float64, ok bool) {
	r, ok := ErrorRatio(bad, total)
	b := ErrorBudget(target)
	if !ok || !(b > 0) {
		return 0, false
	}
	return r / b, true
}

// BudgetRemaining is the share of the window's error budget left after bad
// of total events failed over the whole window: 1 − (bad/total)/(1 − target).
// It is 1 when nothing failed, 0 when the budget is spent and negative when
// it is overspent. With no traffic (total ≤ 0) nothing was spent: 1.
func BudgetRemaining(bad, total, target float64) float64 {
	r, ok := BurnRate(bad, total, target)
	if !ok {
		return 1
	}
	return 1 - r
}

// TimeToExhaustion is how long the remaining budget (a share of the whole
// window's budget, as BudgetRemaining returns) lasts at burnRate:
// remaining × window / burnRate. It reports ok=false when the budget never
// runs out at that rate (burnRate ≤ 0); it returns 0 when nothing is left.
func TimeToExhaustion(remaining, burnRate float64, window time.Duration) (d time.Duration, ok bool) {
	if remaining <= 0 {
		return 0, true
	}
	if !(burnRate > 0) {
		return 0, false
	}
	return durationOf(remaining * float64(window) / burnRate), true
}

// DetectionTime is how long after a step from healthy traffic to a steady
// errorRatio the tier fires: (1 − target)/errorRatio × Long × BurnRate, the
// time for the long window's ratio to cross the threshold (the short window
// crosses sooner). It reports ok=false when errorRatio never exceeds the
// threshold, i.e. the tier never fires.
func DetectionTime(t Tier, target, errorRatio float64) (d time.Duration, ok bool) {
	th := t.Threshold(target)
	if !(errorRatio > th) || !(th > 0) {
		return 0, false
	}
	return durationOf(th / errorRatio * float64(t.Long)), true
}

// BudgetSpentAtDetection is the share of the window's error budget spent
// between the start of a step to errorRatio and the tier firing:
// errorRatio × DetectionTime / ((1 − target) × window). For a step from
// healthy traffic it equals BurnRate × Long / window, the tier's budget
// fraction, whatever the error ratio. ok=false when the tier never fires.
func BudgetSpentAtDetection(t Tier, target, errorRatio float64, window time.Duration) (spent float64, ok bool) {
	d, ok := DetectionTime(t, target, errorRatio)
	if !ok || window <= 0 {
		return 0, false
	}
	return errorRatio * float64(d) / (ErrorBudget(target) * float64(window)), true
}

// ResetTime is how long the tier keeps firing after a steady errorRatio
// that filled its windows drops to zero: the short window's ratio falls
// below the threshold after Short × (1 − threshold/errorRatio), and the
// tier needs both windows. It is 0 when errorRatio never crossed the
// threshold.
func ResetTime(t Tier, target, errorRatio float64) time.Duration {
	th := t.Threshold(target)
	if !(errorRatio > th) {
		return 0
	}
	return durationOf(float64(t.Short) * (1 - th/errorRatio))
}

// Window is an SLO's compliance window: a rolling duration, or a calendar
// month or ISO week for budget reports. Calendar windows are evaluated as
// rolling 30d/7d windows by alert rules (Prometheus has no calendar ranges).
type Window struct {
	// Duration is the rolling length; for calendar windows, the nominal
	// length used by alert rules (30d for a month, 7d for a week).
	Duration time.Duration `json:"duration"`
	// Calendar is "", "month" or "week".
	Calendar string `json:"calendar,omitempty"`
}

// Calendar window names accepted in specs.
const (
	CalendarMonth = "month"
	CalendarWeek  = "week"
)

// String returns "30d", "month" or "week".
func (w Window) String() string {
	if w.Calendar != "" {
		return w.Calendar
	}
	return FormatDuration(w.Duration)
}

// Bounds returns the window that contains now: [now−Duration, now] for a
// rolling window, the calendar month or the ISO week (Monday 00:00) in
// now's location for a calendar one.
func (w Window) Bounds(now time.Time) (start, end time.Time) {
	switch w.Calendar {
	case CalendarMonth:
		y, m, _ := now.Date()
		start = time.Date(y, m, 1, 0, 0, 0, 0, now.Location())
		return start, start.AddDate(0, 1, 0)
	case CalendarWeek:
		y, m, d := now.Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		start = day.AddDate(0, 0, -back)
		return start, start.AddDate(0, 0, 7)
	default:
		return now.Add(-w.Duration), now
	}
}

// Range is the range to query at now for the budget spent so far in the
// window: Duration for a rolling window; for a calendar one, the time since
// the month or week began (at least one minute, so the range is valid).
func (w Window) Range(now time.Time) time.Duration {
	if w.Calendar == "" {
		return w.Duration
	}
	start, _ := w.Bounds(now)
	return max(now.Sub(start).Truncate(time.Minute), time.Minute)
}

// Length is the window's length at now: Duration for a rolling window, the
// whole month or week that contains now for a calendar one.
func (w Window) Length(now time.Time) time.Duration {
	s, e := w.Bounds(now)
	return e.Sub(s)
}

// durationOf converts float nanoseconds to a Duration, rounded to the
// millisecond to hide floating-point noise, saturating instead of overflowing.
func durationOf(ns float64) time.Duration {
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Round(ns/1e6)) * time.Millisecond
}

func roundDuration(d, unit time.Duration) time.Duration {
	return (d + unit/2) / unit * unit
}

// roundFloat drops binary noise (1−0.999 = 0.0010000000000000009) so that
// thresholds print as users write them.
func roundFloat(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) || x == 0 {
		return x
	}
	p := math.Pow(10, 12-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}
