package autoscale

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vaneproj/vane/slo"
)

// SLOSpec configures the slo recommender. Zero fields take the defaults
// of WithDefaults.
type SLOSpec struct {
	// SLOs are the names (or ids) of the SLOs the recommender watches.
	SLOs []string `json:"slos"`
	// PageBurnRate is the page tier's burn-rate threshold for signals that
	// do not carry their SLO's own (default: the first page tier of
	// slo.DefaultTiers, 14.4× on 30 days, 2% of the budget in 1 h): when
	// both the long and the short window burn faster, the service scales
	// up at once.
	PageBurnRate float64 `json:"page_burn_rate"`
	// UpFactor multiplies the ready count on a page-tier burn (default
	// 1.5; at least one more replica), up to UpFactor × the count the
	// plain targets ask for.
	UpFactor float64 `json:"up_factor"`
	// SpareBudget is the budget remaining above which the targets may rise
	// (default 0.5).
	SpareBudget float64 `json:"spare_budget"`
	// MaxTargetFactor bounds how far the targets rise (default 1.25).
	MaxTargetFactor float64 `json:"max_target_factor"`
	// TargetRisePerHour is how fast the targets rise while the budget is
	// spare (default 0.05 per hour); they fall back ten times faster.
	TargetRisePerHour float64 `json:"target_rise_per_hour"`
	// HoldBelow is the budget remaining under which scale-down is held
	// (default 0.1).
	HoldBelow float64 `json:"hold_below"`
	// SpareDownWindow is the scale-down stabilization window used instead
	// of the behavior's while every watched SLO has more than SpareBudget
	// left and none burns now (default 2m; it never lengthens the
	// behavior's): unused budget becomes replicas released sooner.
	SpareDownWindow time.Duration `json:"spare_down_window"`
}

// WithDefaults fills the zero fields.
func (s SLOSpec) WithDefaults() SLOSpec {
	def := func(x *float64, d float64) {
		if *x == 0 {
			*x = d
		}
	}
	def(&s.PageBurnRate, slo.DefaultTiers(slo.DefaultWindow)[0].BurnRate)
	def(&s.UpFactor, 1.5)
	def(&s.SpareBudget, 0.5)
	def(&s.MaxTargetFactor, 1.25)
	def(&s.TargetRisePerHour, 0.05)
	def(&s.HoldBelow, 0.1)
	if s.SpareDownWindow == 0 {
		s.SpareDownWindow = 120 * time.Second
	}
	return s
}

// Validate checks the ranges of the fields (after WithDefaults).
func (s SLOSpec) Validate() error {
	var bad []string
	chk := func(name string, x, lo, hi float64) {
		if math.IsNaN(x) || x < lo || x > hi {
			bad = append(bad, fmt.Sprintf("%s: %v is not within [%v, %v]", name, x, lo, hi))
		}
	}
	chk("page_burn_rate", s.PageBurnRate, 1, 1e6)
	chk("up_factor", s.UpFactor, 1, 100)
	chk("spare_budget", s.SpareBudget, 0, 1)
	chk("max_target_factor", s.MaxTargetFactor, 1, 10)
	chk("target_rise_per_hour", s.TargetRisePerHour, 0, 10)
	chk("hold_below", s.HoldBelow, 0, 1)
	if s.SpareDownWindow < 0 {
		bad = append(bad, fmt.Sprintf("spare_down_window: %s is negative", s.SpareDownWindow))
	}
	if len(s.SLOs) == 0 {
		bad = append(bad, "slos: at least one SLO is needed")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// SLOSignal is one SLO's state as the slo recommender needs it.
type SLOSignal struct {
	SLO string `json:"slo"`
	// BurnLong and BurnShort are the burn rates over the page tier's long
	// and short windows.
	BurnLong  float64 `json:"burn_long"`
	BurnShort float64 `json:"burn_short"`
	// BurnNow is the burn rate over the shortest window read (for example
	// 1m): what the service does now, when HasNow is set. The urgent
	// scale-up then needs it past the page tier too, so that it stops once
	// the service is healthy again while the page tier's windows still
	// remember the burn.
	BurnNow float64 `json:"burn_now,omitempty"`
	HasNow  bool    `json:"has_now,omitempty"`
	// Budget is the error budget remaining, as a ratio (≤ 1; negative
	// when overspent).
	Budget float64 `json:"budget"`
	// PageBurnRate is the SLO's own page-tier threshold (0: the spec's).
	PageBurnRate float64 `json:"page_burn_rate,omitempty"`
	// FromCanary says the burn is the canary's (its error ratio is above
	// the stable version's during a rollout): it is the rollout's to judge,
	// and scaling must not hide it.
	FromCanary bool `json:"from_canary,omitempty"`
	// Err, when set, says why the signal could not be read.
	Err string `json:"err,omitempty"`
}

// SLOResult is the slo recommender's output.
type SLOResult struct {
	Recommendation
	// TargetFactor is the new target factor to keep in the state.
	TargetFactor float64 `json:"target_factor"`
	// Spare is true when every watched SLO is read, has more than
	// SpareBudget left and does not burn now (BurnNow under 1, or, when
	// BurnNow is not read, both page windows under 1): the step may then
	// use SpareDownWindow.
	Spare bool `json:"spare,omitempty"`
}

// RecommendSLO is the slo recommender. It proposes the hpa recommender's
// count with targets raised by a factor that rises slowly while every
// watched SLO has spare budget and falls back quickly when one has not;
// on a page-tier burn that is not the canary's it proposes an urgent
// scale-up (past the up-stabilization window); under HoldBelow budget it
// holds scale-down. factor and last are the factor kept in the state and
// when it was last updated.
func RecommendSLO(spec SLOSpec, sigs []SLOSignal, hpa HPAInput, factor float64, last, now time.Time) SLOResult {
	out := SLOResult{Recommendation: Recommendation{Recommender: RecommenderSLO}}
	if factor < 1 {
		factor = 1
	}
	dt := 0.0
	if !last.IsZero() && now.After(last) {
		dt = now.Sub(last).Hours()
	}
	var reasons []string
	spare, known, burning, canaryBurn, hold := true, true, []string(nil), []string(nil), []string(nil)
	calm := true
	for _, s := range sigs {
		if s.Err != "" || math.IsNaN(s.Budget) || math.IsNaN(s.BurnLong) || math.IsNaN(s.BurnShort) {
			known = false
			reasons = append(reasons, fmt.Sprintf("%s unreadable (%s)", s.SLO, s.Err))
			continue
		}
		if s.Budget < spec.SpareBudget {
			spare = false
		}
		if s.Budget < spec.HoldBelow {
			hold = append(hold, fmt.Sprintf("%s has %.1f%% of its budget left", s.SLO, 100*s.Budget))
		}
		page := spec.PageBurnRate
		if s.PageBurnRate > 0 {
			page = s.PageBurnRate
		}
		hasNow := s.HasNow && !math.IsNaN(s.BurnNow)
		if hasNow && s.BurnNow >= 1 || !hasNow && (s.BurnShort >= 1 || s.BurnLong >= 1) {
			calm = false
		}
		if s.BurnLong >= page && s.BurnShort >= page && (!hasNow || s.BurnNow >= page) {
			b := fmt.Sprintf("%s burns at %.1f×/%.1f× (page tier %.1f×)", s.SLO, s.BurnLong, s.BurnShort, page)
			if s.FromCanary {
				canaryBurn = append(canaryBurn, b)
			} else {
				burning = append(burning, b)
			}
		}
	}
	if len(sigs) == 0 {
		known = false
		reasons = append(reasons, "no SLO signal")
	}
	switch {
	case known && spare:
		factor = math.Min(spec.MaxTargetFactor, factor+spec.TargetRisePerHour*dt)
	default:
		factor = math.Max(1, factor-10*spec.TargetRisePerHour*dt)
	}
	out.TargetFactor = factor
	out.Spare = known && spare && calm && len(sigs) > 0
	hpa.TargetFactor = factor
	base, _ := RecommendHPA(hpa)
	if !known && len(burning) == 0 {
		out.Reason = strings.Join(reasons, "; ")
		return out
	}
	out.Valid = base.Valid
	out.Replicas = base.Replicas
	out.Reason = fmt.Sprintf("targets ×%.2f: %s", factor, base.Reason)
	if len(hpa.Metrics) == 0 {
		// Without metrics there is no count of its own: it only scales up
		// on a burn and holds scale-down on a spent budget.
		out.Valid, out.Replicas, out.Abstain = false, 0, true
		out.Reason = "no page-tier burn"
	}
	if len(burning) > 0 {
		// UpFactor × the ready replicas, so that looks made while the
		// added replicas start (the burn windows lag behind a recovery) do
		// not compound; and no more than UpFactor × what the plain targets
		// ask for, when they can be read.
		ready := max(hpa.Ready, 1)
		up := max(ready+1, ceil32(float64(ready)*spec.UpFactor))
		plain := hpa
		plain.TargetFactor = 1
		if p, _ := RecommendHPA(plain); p.Valid {
			up = min(up, max(hpa.Current, ceil32(float64(p.Replicas)*spec.UpFactor)))
		}
		up = max(up, hpa.Current)
		if !out.Valid || up > out.Replicas {
			out.Replicas = up
		}
		out.Valid, out.Abstain = true, false
		out.Urgent = true
		out.Reason = fmt.Sprintf("%s: scale up at once to %d", strings.Join(burning, "; "), out.Replicas)
	}
	if len(canaryBurn) > 0 {
		out.Reason += "; not scaling for " + strings.Join(canaryBurn, "; ") + ": the burn is the canary's, the rollout judges it"
	}
	if len(hold) > 0 {
		out.HoldDown = true
		out.Reason += "; scale-down held: " + strings.Join(hold, "; ")
	}
	if len(reasons) > 0 {
		out.Reason += "; " + strings.Join(reasons, "; ")
	}
	return out
}
