package analysis

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// This file holds Vane's sequential canary-vs-stable judge.
//
// Model. In each interval k between two looks the canary served n_c requests
// and the stable version n_s; x of the E bad events of that interval came from
// the canary. Let ρ be the ratio of the canary's bad-event rate to the
// stable version's. Conditional on the interval's totals, x is (up to the
// Poisson approximation for rare events) binomial with
//
//	θ_k(ρ) = a_k ρ / (1 + a_k ρ),   a_k = n_c / n_s,
//
// so under "equally good" (ρ = 1) the canary's share of bad events is its
// share of traffic. With requests drawn per version the exact conditional law
// at ρ = 1 is hypergeometric, which is dominated by that binomial in the
// convex order (Hoeffding 1963), so the martingale below stays a
// supermartingale and the guarantee holds exactly at ρ = 1.
//
// Test. ℓ(ρ) = Σ_k x_k log ρ − E_k log(1 + a_k ρ) is the log-likelihood up
// to a constant. The mixture likelihood ratio
//
//	Λ_fail = Σ_j π_j exp(ℓ(ρ_j) − ℓ(1)),   ρ_j > 1,
//
// is a nonnegative supermartingale under every ρ ≤ 1 (the likelihood ratio
// is monotone in x), so by Ville's inequality P(sup_t Λ_fail ≥ 1/α) ≤ α
// however often and whenever it is looked at: the mixture sequential
// probability ratio test of Robbins (1970) and Johari, Pekelis & Walsh,
// "Always Valid Inference" (2017), applied to the conditional binomial of
// Lindon & Malek (NeurIPS 2022) and Lindon, Sanden & Shirikian (KDD 2022).
// The mixing distribution is discrete, on a log-spaced grid, so Λ is exact
// rather than a numerical integral. Symmetrically Λ_pass mixes ρ_j below the
// tolerance τ against ρ = τ: crossing 1/α means the upper end of the
// confidence sequence is below τ and the canary passes early.
//
// The grid's mixing weights follow a half-Cauchy on log ρ with scale ln 2,
// which puts about 38% of the mass on regressions up to 1.5× while still
// covering 64×; it only affects power, never validity.

// Counts are the requests and bad events of both versions in one interval
// (or, for the cumulative views in Evidence, since the analysis started).
type Counts struct {
	CanaryRequests, CanaryBad float64
	StableRequests, StableBad float64
}

// Valid reports whether c holds usable non-negative numbers with bad ≤
// requests for both versions.
func (c Counts) Valid() bool {
	for _, x := range []float64{c.CanaryRequests, c.CanaryBad, c.StableRequests, c.StableBad} {
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return false
		}
	}
	return c.CanaryBad <= c.CanaryRequests && c.StableBad <= c.StableRequests
}

// SequentialConfig configures a RatioTest.
type SequentialConfig struct {
	// Alpha bounds the probability of failing a canary that is no worse
	// than stable (a false rollback), over the whole analysis.
	Alpha float64
	// PassAlpha bounds the probability of passing a canary whose rate is at
	// least Tolerance times stable's; zero means Alpha.
	PassAlpha float64
	// Tolerance τ > 1: the canary passes early once the test shows its
	// bad-event rate is below τ × stable's.
	Tolerance float64
	// MinRequests is the number of canary requests needed before any
	// decision; MinBad the number of bad events (both versions) before a
	// failure.
	MinRequests, MinBad float64
	// FinalShare in [0, 1) is the share of Alpha reserved for one
	// fixed-sample test at the last look, for steps whose duration is
	// known: the anytime test then runs at Alpha × (1 − FinalShare) and
	// DecideFinal spends the rest. By the union bound the false-rollback
	// probability stays below Alpha; the final test recovers most of the
	// power a fixed-sample test has at the horizon, which an anytime test
	// pays for being valid at every look. 0 keeps the test purely anytime
	// (for steps without a known end).
	FinalShare float64
}

// Grid and mixture parameters of the sequential test.
const (
	seqMaxLogRatio = 4.1588830833596715 // ln 64: the grid covers 1/64…64
	seqTargetStep  = 0.05               // about 5% between grid points
	seqMixScale    = math.Ln2           // half-Cauchy scale on log ρ
)

// RatioTest is the anytime-valid sequential test of a canary's bad-event
// rate against the stable version's. Feed it each interval's increments with
// Observe and read the decision with Decide after any number of looks. It is
// not safe for concurrent use.
type RatioTest struct {
	cfg        SequentialConfig
	logRho     []float64 // grid of log ρ
	rho        []float64
	ll         []float64 // ℓ at each grid point
	i1         int       // index of ρ = 1
	iTol       int       // index of ρ = τ
	failW      []float64 // mixture weights of indices i1+1…
	passW      []float64 // mixture weights of indices iTol−1, iTol−2, …
	total      Counts
	looks      int
	maxLogFail float64
	logFail    float64 // Λ_fail and Λ_pass after the last informative look
	logPass    float64
	decided    *Decision
}

// Decision is a RatioTest's state at one look.
type Decision struct {
	Verdict Verdict
	Reason  string
	// LogEFail and LogEPass are the logarithms of the two mixture
	// likelihood ratios (e-values); the test fails or passes when one
	// reaches log(1/α).
	LogEFail, LogEPass float64
	// PValue is the anytime-valid p-value of "canary no worse than stable":
	// 1/max_t Λ_fail, capped at 1. It is the error probability spent so
	// far: the smallest α at which the test would already have failed.
	PValue float64
	// Estimate is the observed ratio of the canary's bad-event rate to the
	// stable version's over the counts so far (the maximum-likelihood
	// estimate, not capped by the grid): +Inf when only the canary had bad
	// events, NaN without any. Interval gives its confidence bounds.
	Estimate float64
	// Total holds the counts since the test started.
	Total Counts
	Looks int
}

// NewRatioTest returns a test with cfg, which must have 0 < Alpha < 0.5 and
// 1 < Tolerance ≤ 64.
func NewRatioTest(cfg SequentialConfig) (*RatioTest, error) {
	if cfg.PassAlpha == 0 {
		cfg.PassAlpha = cfg.Alpha
	}
	if !(cfg.Alpha > 0 && cfg.Alpha < 0.5) || !(cfg.PassAlpha > 0 && cfg.PassAlpha < 0.5) {
		return nil, fmt.Errorf("analysis: alpha %v must be in (0, 0.5)", cfg.Alpha)
	}
	if !(cfg.Tolerance > 1 && cfg.Tolerance <= 64) {
		return nil, fmt.Errorf("analysis: tolerance %v must be in (1, 64]", cfg.Tolerance)
	}
	if !(cfg.FinalShare >= 0 && cfg.FinalShare < 1) {
		return nil, fmt.Errorf("analysis: final_share %v must be in [0, 1)", cfg.FinalShare)
	}
	if cfg.MinRequests < 0 || cfg.MinBad < 0 {
		return nil, errors.New("analysis: min_requests and min_bad must not be negative")
	}
	lt := math.Log(cfg.Tolerance)
	k := int(math.Ceil(lt / seqTargetStep))
	h := lt / float64(k) // τ falls exactly on the grid
	n := int(math.Ceil(seqMaxLogRatio / h))
	t := &RatioTest{cfg: cfg, i1: n, iTol: n + k}
	for i := -n; i <= n; i++ {
		lr := float64(i) * h
		t.logRho = append(t.logRho, lr)
		t.rho = append(t.rho, math.Exp(lr))
	}
	t.ll = make([]float64, len(t.logRho))
	t.failW = halfCauchyWeights(h, len(t.logRho)-t.i1-1)
	t.passW = halfCauchyWeights(h, t.iTol)
	return t, nil
}

// halfCauchyWeights returns m weights for the offsets h, 2h, … m·h on the
// log scale, proportional to the half-Cauchy mass of each cell, summing to 1.
func halfCauchyWeights(h float64, m int) []float64 {
	w := make([]float64, m)
	var sum float64
	for j := range w {
		lo, hi := (float64(j)+0.5)*h, (float64(j)+1.5)*h
		if j == 0 {
			lo = 0
		}
		w[j] = math.Atan(hi/seqMixScale) - math.Atan(lo/seqMixScale)
		sum += w[j]
	}
	for j := range w {
		w[j] /= sum
	}
	return w
}

// Reset clears all evidence.
func (t *RatioTest) Reset() {
	clear(t.ll)
	t.total = Counts{}
	t.looks = 0
	t.maxLogFail, t.logFail, t.logPass = 0, 0, 0
	t.decided = nil
}

// Observe adds one interval's increments. Invalid counts (negative, NaN,
// bad above requests) are ignored and reported false.
func (t *RatioTest) Observe(c Counts) bool {
	if !c.Valid() {
		return false
	}
	t.looks++
	t.total.CanaryRequests += c.CanaryRequests
	t.total.CanaryBad += c.CanaryBad
	t.total.StableRequests += c.StableRequests
	t.total.StableBad += c.StableBad
	e := c.CanaryBad + c.StableBad
	if e == 0 || c.CanaryRequests == 0 || c.StableRequests == 0 {
		// No bad events, or one version had no traffic: the canary's share
		// of bad events is then known in advance and carries no evidence.
		return true
	}
	a := c.CanaryRequests / c.StableRequests
	x := c.CanaryBad
	for i, lr := range t.logRho {
		t.ll[i] += x*lr - e*math.Log1p(a*t.rho[i])
	}
	t.logFail, t.logPass = t.logEFail(), t.logEPass()
	if t.logFail > t.maxLogFail {
		t.maxLogFail = t.logFail
	}
	return true
}

// logMix returns log Σ_j w_j exp(ll[idx(j)] − ll[base]).
func (t *RatioTest) logMix(base int, w []float64, step int) float64 {
	// log-sum-exp for stability.
	m := math.Inf(-1)
	for j := range w {
		i := base + step*(j+1)
		if i < 0 || i >= len(t.ll) {
			break
		}
		if d := t.ll[i] - t.ll[base]; d > m {
			m = d
		}
	}
	if math.IsInf(m, -1) {
		return 0
	}
	var s float64
	for j, wj := range w {
		i := base + step*(j+1)
		if i < 0 || i >= len(t.ll) {
			break
		}
		s += wj * math.Exp(t.ll[i]-t.ll[base]-m)
	}
	return m + math.Log(s)
}

func (t *RatioTest) logEFail() float64 { return t.logMix(t.i1, t.failW, 1) }
func (t *RatioTest) logEPass() float64 { return t.logMix(t.iTol, t.passW, -1) }

// Decide returns the verdict after the looks so far. Once the test has
// failed or passed, the decision sticks until Reset.
func (t *RatioTest) Decide() Decision {
	if t.decided != nil {
		d := *t.decided
		return d
	}
	d := Decision{
		LogEFail: t.logFail,
		LogEPass: t.logPass,
		PValue:   math.Min(1, math.Exp(-t.maxLogFail)),
		Estimate: observedRatio(t.total),
		Total:    t.total,
		Looks:    t.looks,
	}
	bad := t.total.CanaryBad + t.total.StableBad
	failAt, passAt := math.Log(1/t.seqAlpha()), math.Log(1/t.cfg.PassAlpha)
	switch {
	case t.total.CanaryRequests < t.cfg.MinRequests:
		d.Verdict = Continue
		d.Reason = fmt.Sprintf("too few canary requests so far (%.0f of %.0f needed)", t.total.CanaryRequests, t.cfg.MinRequests)
		return d
	case d.LogEFail >= failAt && bad >= t.cfg.MinBad:
		d.Verdict = Fail
		d.Reason = fmt.Sprintf("canary's bad-event rate %s is worse than stable's %s with error probability below %g",
			rateText(t.total.CanaryBad, t.total.CanaryRequests), rateText(t.total.StableBad, t.total.StableRequests), t.cfg.Alpha)
	case d.LogEPass >= passAt:
		d.Verdict = Pass
		d.Reason = fmt.Sprintf("canary's bad-event rate %s is below %g× stable's %s with error probability below %g",
			rateText(t.total.CanaryBad, t.total.CanaryRequests), t.cfg.Tolerance, rateText(t.total.StableBad, t.total.StableRequests), t.cfg.PassAlpha)
	default:
		d.Verdict = Continue
		if bad == 0 {
			d.Reason = fmt.Sprintf("no bad events yet in %.0f canary and %.0f stable requests", t.total.CanaryRequests, t.total.StableRequests)
		} else {
			d.Reason = fmt.Sprintf("not enough evidence yet: canary %s vs stable %s bad events",
				rateText(t.total.CanaryBad, t.total.CanaryRequests), rateText(t.total.StableBad, t.total.StableRequests))
		}
		return d
	}
	t.decided = &d
	return d
}

// seqAlpha is the α the anytime test spends.
func (t *RatioTest) seqAlpha() float64 { return t.cfg.Alpha * (1 - t.cfg.FinalShare) }

// DecideFinal is the decision at the last look of a step whose end was
// known in advance: Decide's, unless that continues; then, with FinalShare
// set, the fixed-sample test of "canary no worse than stable" at level
// Alpha × FinalShare: conditional on all bad events E, the canary's count X
// is binomial with its share of traffic θ when ρ = 1, and the test fails
// when P(Bin(E, θ) ≥ X) ≤ Alpha × FinalShare (and E ≥ MinBad). Otherwise
// the step ends in a pass: no evidence of a regression within it. Without
// FinalShare it passes whatever Decide continues. The decision sticks.
func (t *RatioTest) DecideFinal() Decision {
	d := t.Decide()
	if d.Verdict != Continue || t.total.CanaryRequests < t.cfg.MinRequests {
		return d
	}
	e := t.total.CanaryBad + t.total.StableBad
	level := t.cfg.Alpha * t.cfg.FinalShare
	theta := t.total.CanaryRequests / (t.total.CanaryRequests + t.total.StableRequests)
	if level > 0 && e >= t.cfg.MinBad && e > 0 && theta > 0 && theta < 1 {
		p := binomialUpperTail(e, theta, t.total.CanaryBad)
		if p <= level {
			d.Verdict = Fail
			d.PValue = math.Min(d.PValue, p)
			d.Reason = fmt.Sprintf("at the step's end the canary had %.0f of %.0f bad events with %.3g of the traffic (%.0f/%.0f vs %.0f/%.0f): worse than stable with error probability below %g",
				t.total.CanaryBad, e, theta, t.total.CanaryBad, t.total.CanaryRequests, t.total.StableBad, t.total.StableRequests, t.cfg.Alpha)
			t.decided = &d
			return d
		}
	}
	d.Verdict = Pass
	d.Reason = fmt.Sprintf("the step ended without evidence that the canary is worse than stable (%.0f/%.0f vs %.0f/%.0f bad events)",
		t.total.CanaryBad, t.total.CanaryRequests, t.total.StableBad, t.total.StableRequests)
	t.decided = &d
	return d
}

// binomialUpperTail is P(X ≥ x) for X ~ Bin(n, p), n and x rounded to
// whole counts (rates from PromQL need not be integers).
func binomialUpperTail(n, p, x float64) float64 {
	n, x = math.Round(n), math.Ceil(x-1e-9)
	if x <= 0 {
		return 1
	}
	if x > n {
		return 0
	}
	return distuv.Binomial{N: n, P: p}.Survival(x - 1)
}

// Estimate returns the grid's maximum-likelihood ratio of the canary's
// bad-event rate to the stable version's; NaN before any informative look.
func (t *RatioTest) Estimate() float64 {
	best, bi := math.Inf(-1), -1
	informative := false
	for i, v := range t.ll {
		if v != 0 {
			informative = true
		}
		if v > best {
			best, bi = v, i
		}
	}
	if !informative || bi < 0 {
		return math.NaN()
	}
	return t.rho[bi]
}

// Interval returns the current (1 − alpha) confidence-sequence bounds of
// the ratio on the grid: every ρ0 that neither one-sided mixture test at
// level alpha/2 rejects. Bounds at the grid's ends (1/64, 64) mean "at
// most" and "at least". It costs O(grid²): call it for evidence, not in
// tight loops.
func (t *RatioTest) Interval(alpha float64) (lo, hi float64) {
	cut := math.Log(2 / alpha)
	lo, hi = math.NaN(), math.NaN()
	up := halfCauchyWeights(t.logRho[1]-t.logRho[0], len(t.ll))
	for i := range t.ll {
		if t.logMix(i, up, 1) >= cut || t.logMix(i, up, -1) >= cut {
			continue
		}
		if math.IsNaN(lo) {
			lo = t.rho[i]
		}
		hi = t.rho[i]
	}
	return lo, hi
}

// Evidence returns d's numbers by name for a Result.
func (d Decision) Evidence(cfg SequentialConfig) map[string]float64 {
	return map[string]float64{
		"canary_requests": d.Total.CanaryRequests,
		"canary_bad":      d.Total.CanaryBad,
		"stable_requests": d.Total.StableRequests,
		"stable_bad":      d.Total.StableBad,
		"ratio_estimate":  d.Estimate,
		"log_e_fail":      d.LogEFail,
		"log_e_pass":      d.LogEPass,
		"p_value":         d.PValue,
		"alpha":           cfg.Alpha,
		"fail_progress":   d.LogEFail / math.Log(1/cfg.Alpha),
		"tolerance":       cfg.Tolerance,
		"looks":           float64(d.Looks),
	}
}

// observedRatio is the ratio of the canary's bad-event rate to the stable
// version's: +Inf when only the canary had bad events, NaN when neither
// had any (or a version had no requests).
func observedRatio(c Counts) float64 {
	if c.CanaryRequests <= 0 || c.StableRequests <= 0 || c.CanaryBad+c.StableBad <= 0 {
		return math.NaN()
	}
	return (c.CanaryBad / c.CanaryRequests) / (c.StableBad / c.StableRequests)
}

// rateText is "bad/total (pct%)", e.g. "4/24 (16.7%)".
func rateText(bad, total float64) string {
	if total <= 0 {
		return fmt.Sprintf("%.0f/%.0f", bad, total)
	}
	return fmt.Sprintf("%.0f/%.0f (%.3g%%)", bad, total, 100*bad/total)
}

// IntervalText describes the (1 − alpha) bounds lo, hi of Interval in
// words: "ratio 1.5×–12×", or "ratio at least 1.5×" / "at most 0.2×" when a
// bound is at the end of the grid (where the test cannot tell more), with
// the confidence; empty when the bounds are unknown.
func IntervalText(lo, hi, alpha float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return ""
	}
	top, bottom := math.Exp(seqMaxLogRatio)*0.99, math.Exp(-seqMaxLogRatio)*1.01
	conf := fmt.Sprintf("%.4g%% confidence", 100*(1-alpha))
	switch {
	case hi >= top && lo <= bottom:
		return ""
	case hi >= top:
		return fmt.Sprintf("canary/stable ratio at least %.3g× (%s)", lo, conf)
	case lo <= bottom:
		return fmt.Sprintf("canary/stable ratio at most %.3g× (%s)", hi, conf)
	}
	return fmt.Sprintf("canary/stable ratio %.3g×–%.3g× (%s)", lo, hi, conf)
}
