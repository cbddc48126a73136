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
//
// Overdispersion. Production errors are not independent: pods differ,
// errors come in bursts that span several looks, a beta-binomial spread
// widens each interval's count. The canary's share of bad events then
// varies more than binomially, Var(x | E) = φ E θ(1 − θ) with φ > 1, and a
// test that trusts the binomial model treats a one-minute burst on one
// canary pod as proof of a regression. The quasi-likelihood answer
// (Wedderburn 1974; McCullagh & Nelder, Generalized Linear Models, §9) is to
// keep the model's mean and divide its log-likelihood by φ, that is, to
// treat the counts as φ times fewer independent events: ℓ_φ = ℓ/φ. The test
// estimates φ from the data by batch means: the looks so far are cut into
// B consecutive batches of b = ⌊√K⌋ informative looks each (so that a burst
// spanning several looks lands inside a batch and its effect on the
// cumulative count is seen), and
//
//	φ̂ = max(1, (ν₀ + X²) / (ν₀ + B − 1)),   X² = Σ_b (x_b − E_b θ_b)² / (E_b θ_b (1 − θ_b)),
//
// Pearson's statistic of the batches' canary shares around the fitted ratio
// ρ̂ (θ_b = a_b ρ̂ / (1 + a_b ρ̂)), shrunk towards 1 by ν₀ prior degrees
// of freedom so that a few early batches do not swing it. It reads the
// canary's share, not each version's own counts, so a failure that hits
// both versions alike (a shared dependency) does not dilute the test.
//
// The stable version's batches, with many more events, add a second
// estimate early: the relative variance c of its rate beyond Poisson, which
// if the canary's pods vary alike gives φ ≈ 1 + 2c μ_c μ_s / (μ_c + μ_s)
// per batch; φ̂ is the larger of the two.
//
// Bursts. A dispersion estimated from half an hour of data cannot foresee
// a burst that comes once an hour: the first burst on a canary pod is the
// evidence. So the test also asks that the evidence survive the window of
// w = max(⌊√K⌋, 8) consecutive looks (after K informative looks; 8 looks
// cover nine in ten one-minute bursts at 15 s looks) where the canary's bad
// events most exceed its share of traffic. When that window is out of line
// with the other looks (binomial z ≥ 3) it is left out; otherwise — and in
// the first w looks, when the window is all there is — it is capped: it
// counts only as evidence that ρ exceeds B = 2.5, the most a burst on one
// pod of several makes of its version's rate (logEFailCapped), where a
// B-fold burst of a healthy canary would be significant in the window (z
// ≥ 2.5; the canary's healthy count is read from the stable version's
// rate in the window, μ₀ = y_w n_c/n_s, which a regression does not
// inflate; with few bad events a burst cannot fail the canary, and
// capping would only cost time). The test fails only when both Λ_φ of all
// looks and that burst-free Λ_φ reach 1/α. A regression shows in every
// window, a burst in one; a regression beyond B still fails at the first
// looks, one below B on the evidence outside its worst window, which
// costs time (measured in `vane bench canary`). The final test at a known
// horizon (DecideFinal) leaves out the window when it is out of line.
//
// When the cap applies. The cap is a price paid for bursts; under
// binomial counts it buys nothing. The stable version is the control: it
// runs under the same noise, is read through the same queries at the same
// looks, and has the more bad events wherever the canary is the smaller
// version. So the test measures the noise on it: Pearson's dispersion of
// its per-look bad events y_k around its pooled ratio p̂,
//
//	φ̂_s = Σ_k (y_k − p̂ n_k)² / (p̂ n_k (1 − p̂)) / (K − 1),
//
// with standard error under the binomial model about √(Σ_k (2 + 1/(p̂
// n_k))) / (K − 1). Robust until shown otherwise, the cap applies during
// the first 16 looks, and after them as long as either
//
//   - φ̂_s + 1 standard error ≥ 1.5: the stable version's own counts may
//     be overdispersed; or
//   - (φ̂_s − 1 + 2 standard errors) × w n_c/n_s ≥ 1: the variance beyond
//     binomial that the stable version's dispersion implies for the
//     canary's count over the window of w looks may reach the binomial
//     variance itself. Extra variance c μ² on a count of mean μ gives the
//     stable version φ_s − 1 = c μ_s a look; over w looks of a burst that
//     spans them the canary's count has c (w μ_c)² against its binomial
//     w μ_c, a ratio c w μ_c = (φ_s − 1) w μ_c/μ_s. With the canary at a
//     quarter of the traffic a window of 8 looks holds more of its bad
//     events than a look of the stable version, and the stable version
//     must show its dispersion that much more closely.
//
// Under sim.Overdispersed noise at the benchmark's counts the stable
// version's looks are overdispersed (per-pod beta-binomial errors) and the
// cap stays on; under Poisson noise, at 5% canary weight, it is off in
// about two runs of three by look 20 and nine of ten by look 60, and at
// 25% later, still on at the horizon in about half the runs. What
// the stable version cannot show is a burst that has not happened yet:
// noise whose only departure from the binomial model is rare bursts, with
// binomial counts between them, turns the cap off, and such a burst is
// then held back only by leaving out a window out of line with the others
// (which stays on whatever the stable version shows).
//
// What remains guaranteed. For any φ ≥ 1, chosen however from the data,
//
//	Σ_j π_j exp(Z_j/φ) ≤ (Σ_j π_j exp(Z_j))^{1/φ}
//
// (Jensen: t ↦ t^{1/φ} is concave), so Λ_φ ≥ 1/α > 1 implies Λ ≥ 1/α: the
// dispersed test never fails (or passes) a canary the binomial test would
// not; asking the burst-free evidence as well only removes failures,
// whichever the looks at which it is asked (chosen from the data, as the
// stable version's dispersion chooses them for the cap). Its
// false-rollback probability therefore stays below α exactly under the
// Poisson/binomial model, at every look. Under overdispersion the guarantee
// is the quasi-likelihood's: approximate, holding as φ̂ tracks the
// dispersion of the cumulative counts (errors whose correlation spans
// more than about √K looks are underestimated) and, for bursts, as the
// stable version's looks show the noise the canary's counts have (above).
// What it costs under the binomial model is the spread of φ̂ above 1, and
// the burst cap until the stable version's looks have shown binomial
// counts (measured in `vane bench canary`).

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
	// seqDispPrior is ν₀, the prior degrees of freedom at φ = 1 of the
	// dispersion estimate.
	seqDispPrior = 4
	// seqBurstZ is the z above which the worst window counts as out of
	// line with the other looks, a burst to leave out.
	seqBurstZ = 3
	// seqBurstLooks is the shortest window of looks the burst guard
	// considers: a burst on one pod lasts about a minute, four looks of
	// 15 s, and often longer; eight looks cover nine bursts in ten.
	seqBurstLooks = 8
	// seqBurstCap is B, the ratio a burst can reach: a window that is not
	// out of line with the rest still counts as evidence only for ratios
	// beyond B (one pod of three at 4× its errors raises its version's
	// rate about 2×).
	seqBurstCap = 2.5
	// seqCapZ: the cap applies only where a B-fold burst of a healthy
	// canary over the window would itself be evidence, its excess at least
	// seqCapZ standard deviations of the window's binomial count; with
	// fewer bad events a burst cannot fail the canary and capping would
	// only cost time.
	seqCapZ = 2.5
	// seqStableLooks is the number of looks at the stable version before
	// its counts may turn the burst cap off: until then the judge assumes
	// overdispersed noise.
	seqStableLooks = 16
	// seqStableDisp and seqStableZ: the cap stays on while the stable
	// version's per-look dispersion φ̂_s, seqStableZ standard errors up,
	// reaches seqStableDisp.
	seqStableDisp = 1.5
	seqStableZ    = 1
	// seqCanaryDisp and seqCanaryZ: the cap stays on while the variance
	// the stable version's dispersion implies for the canary's count over
	// a window of looks, seqCanaryZ standard errors up, exceeds the
	// binomial's by seqCanaryDisp times or more.
	seqCanaryDisp = 1
	seqCanaryZ    = 2
)

// look is one informative look's counts, kept for the dispersion estimate.
type look struct{ x, e, nc, ns float64 }

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
	hist       []look // informative looks, for the dispersion estimate
	scratch    []float64
	finalSpent bool    // DecideLast ran the final test
	phi        float64 // dispersion estimate φ̂ ≥ 1 after the last look
	stable     stableLooks
	stablePhi  float64 // the stable version's per-look dispersion φ̂_s (NaN before it is known)
	capOn      bool    // the burst cap applies: the noise may be overdispersed
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
	// Dispersion is the estimated overdispersion φ ≥ 1 of the canary's
	// share of bad events (1 is the binomial model); the log-likelihoods
	// behind the e-values are divided by it.
	Dispersion float64
	// StableDispersion is Pearson's dispersion of the stable version's
	// per-look bad events (about 1 under the binomial model; NaN before
	// two looks with stable traffic, or while the stable version has had
	// no bad event, or only bad events; +Inf if its counts overflow).
	// BurstCap reports whether the burst cap
	// applies: until the stable version's looks show the noise is close
	// enough to binomial that a burst cannot be what fails the canary.
	StableDispersion float64
	BurstCap         bool
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
	t := &RatioTest{cfg: cfg, i1: n, iTol: n + k, phi: 1, stablePhi: math.NaN(), capOn: true}
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
	t.hist = t.hist[:0]
	t.finalSpent = false
	t.phi = 1
	t.stable = stableLooks{}
	t.stablePhi = math.NaN()
	t.capOn = true
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
	if c.StableRequests > 0 {
		t.stable.add(c.StableBad, c.StableRequests)
		t.stablePhi, t.capOn = t.stableDispersion()
	}
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
	t.hist = append(t.hist, look{x: x, e: e, nc: c.CanaryRequests, ns: c.StableRequests})
	t.phi = t.dispersion()
	t.logFail, t.logPass = t.logEFail(), t.logEPass()
	if t.logFail > 0 {
		t.logFail = math.Min(t.logFail, t.logEFailWithoutBurst())
	}
	if t.logFail > t.maxLogFail {
		t.maxLogFail = t.logFail
	}
	return true
}

// dispersion returns φ̂, the batch-means estimate of the overdispersion
// of the canary's share of bad events (see the file comment).
func (t *RatioTest) dispersion() float64 {
	k := len(t.hist)
	b := int(math.Sqrt(float64(k)))
	nb := k / b
	if nb < 2 {
		return 1
	}
	rho := t.Estimate()
	if math.IsNaN(rho) {
		return 1
	}
	var x2 float64
	df := 0
	// The batches end at the latest look; the oldest k mod b looks are
	// left out.
	batches := make([]look, 0, nb)
	var stable look
	for j := k - nb*b; j < k; j += b {
		var bt look
		for _, l := range t.hist[j : j+b] {
			bt.x += l.x
			bt.e += l.e
			bt.nc += l.nc
			bt.ns += l.ns
		}
		batches = append(batches, bt)
		stable.x += bt.e - bt.x
		stable.ns += bt.ns
		ar := bt.nc / bt.ns * rho
		th := ar / (1 + ar)
		if v := bt.e * th * (1 - th); v > 0 {
			d := bt.x - bt.e*th
			x2 += d * d / v
			df++
		}
	}
	phi := 1.0
	if df >= 2 {
		phi = math.Max(1, (seqDispPrior+x2)/(seqDispPrior+float64(df-1)))
	}
	// The stable version's batches, with many more events, show early how
	// much the error rate itself varies between batches: c, the relative
	// variance of the rate beyond Poisson (Var y = μ + c μ², the negative
	// binomial's), by the method of moments. If the canary's rate varies
	// as much, the canary's share has Var(x | E) ≈ Eθ(1−θ)(1 + 2c μ_c μ_s
	// / (μ_c + μ_s)) (delta method): the second estimate of φ.
	p := stable.x / stable.ns
	if p <= 0 || rho <= 0 {
		return phi
	}
	var num, den, mix float64
	for _, bt := range batches {
		mu := p * bt.ns
		d := (bt.e - bt.x) - mu
		num += d*d - mu
		den += mu * mu
		muc := p * rho * bt.nc
		mix += muc * mu / (muc + mu)
	}
	if c := num / den; c > 0 && den > 0 {
		phi = math.Max(phi, 1+2*c*mix/float64(len(batches)))
	}
	return phi
}

// logEFailWithoutBurst is log Λ_fail over all looks but the window of
// max(⌊√K⌋, seqBurstLooks) consecutive informative looks where the canary's
// bad events most exceed its share of traffic: the evidence that remains if
// that window was a burst rather than a regression. When that window is not
// out of line with the rest (or is all the looks so far), it is not left
// out but capped: it counts only as evidence of a ratio beyond
// seqBurstCap. The test fails only when this too crosses 1/α (see the file
// comment).
func (t *RatioTest) logEFailWithoutBurst() float64 {
	best, ok := t.worstWindow()
	if !ok {
		if !t.capOn {
			return t.logFail
		}
		return t.logEFailCapped()
	}
	if best.e <= 0 || best.ns <= 0 {
		return t.logFail
	}
	ll := t.scratch[:0]
	a := best.nc / best.ns
	for i, lr := range t.logRho {
		ll = append(ll, t.ll[i]-(best.x*lr-best.e*math.Log1p(a*t.rho[i])))
	}
	t.scratch = ll
	return logMixOf(ll, t.i1, t.failW, 1, t.phi)
}

// stableLooks accumulates the stable version's per-look bad events y and
// requests n for its dispersion: Σy, Σy²/n, Σn, Σ1/n and the looks.
type stableLooks struct {
	y, y2n, n, invN float64
	k               int
}

func (s *stableLooks) add(y, n float64) {
	s.y += y
	s.y2n += y * y / n
	s.n += n
	s.invN += 1 / n
	s.k++
}

// stableDispersion returns φ̂_s, Pearson's dispersion of the stable
// version's per-look bad events around its pooled ratio (NaN while it
// cannot be computed), and whether the burst cap applies: while fewer than
// seqStableLooks looks have been seen, or while the looks so far do not
// show, one standard error up, φ_s below seqStableDisp, or the canary's
// window's variance within 1 + seqCanaryDisp of the binomial's, seqCanaryZ
// standard errors up (see the file comment).
func (t *RatioTest) stableDispersion() (phi float64, capOn bool) {
	s := t.stable
	p := s.y / s.n
	if s.k < 2 || !(p > 0 && p < 1) {
		return math.NaN(), true
	}
	df := float64(s.k - 1)
	// Σy²/n ≥ (Σy)²/Σn, so the sum is ≥ 0 but for rounding (φ̂_s = 0
	// when every look is at the pooled rate).
	phi = math.Max(0, (s.y2n/p-s.y)/(1-p)/df)
	if s.k < seqStableLooks || t.total.StableRequests <= 0 {
		return phi, true
	}
	// Under the binomial model each look's Pearson term has mean 1 and
	// variance 2 + 1/μ_k (Poisson's fourth moment), μ_k = p n_k.
	se := math.Sqrt(2*float64(s.k)+s.invN/p) / df
	if phi+seqStableZ*se >= seqStableDisp {
		return phi, true
	}
	w := float64(min(max(int(math.Sqrt(float64(len(t.hist)))), seqBurstLooks), max(len(t.hist), 1)))
	share := t.total.CanaryRequests / t.total.StableRequests * w
	return phi, (phi-1+seqCanaryZ*se)*share >= seqCanaryDisp
}

// logEFailCapped is log Λ_fail with the evidence of the worst window (of
// max(⌊√K⌋, seqBurstLooks) looks, or all of them) counted only beyond
// the ratio B = seqBurstCap: the log-likelihood becomes
//
//	ℓ'(ρ) = ℓ_rest(ρ) + ℓ_w(1) + ℓ_w(ρ) − ℓ_w(min(ρ, B)),   ρ ≥ 1,
//
// so that ℓ'(ρ) − ℓ'(1) is the rest's evidence for ρ ≤ B, plus the
// window's evidence of ρ against B beyond it. A burst that raises the
// canary's rate at most B-fold for a window cannot fail the canary by
// itself; a regression beyond B still fails at the first looks, and one
// below B on the evidence of the other looks.
func (t *RatioTest) logEFailCapped() float64 {
	k := len(t.hist)
	best := t.maxExcessWindow(min(max(int(math.Sqrt(float64(k))), seqBurstLooks), k))
	if best.e <= 0 || best.ns <= 0 {
		return t.logFail
	}
	// Where a B-fold burst over the window would not itself be evidence
	// (its excess below seqCapZ standard deviations), bursts cannot fail
	// the canary and the window is not capped.
	//
	// The canary's bad events a healthy canary would have had in the
	// window are read from the stable version's rate, μ₀ = y_w n_c/n_s, not
	// from the window's own events, which a regression inflates.
	th := best.nc / (best.nc + best.ns)
	mu0 := (best.e - best.x) * best.nc / best.ns
	if !(mu0 > 0) || (seqBurstCap-1)*mu0/math.Sqrt(mu0*(1-th)) < seqCapZ {
		return t.logFail
	}
	a := best.nc / best.ns
	lw := func(lr, r float64) float64 { return best.x*lr - best.e*math.Log1p(a*r) }
	lb := math.Log(seqBurstCap)
	l1, lB := lw(0, 1), lw(lb, seqBurstCap)
	ll := t.scratch[:0]
	for i, lr := range t.logRho {
		v := t.ll[i]
		if lr > 0 {
			v += l1 - lw(lr, t.rho[i])
			if lr > lb {
				v += lw(lr, t.rho[i]) - lB
			}
		}
		ll = append(ll, v)
	}
	t.scratch = ll
	return math.Min(t.logFail, logMixOf(ll, t.i1, t.failW, 1, t.phi))
}

// maxExcessWindow returns the totals of the w consecutive looks (w at
// most the number of looks) where the canary's bad events most exceed its
// share of traffic.
func (t *RatioTest) maxExcessWindow(w int) look {
	var best, cur look
	bestEx := math.Inf(-1)
	for i, l := range t.hist {
		cur.x += l.x
		cur.e += l.e
		cur.nc += l.nc
		cur.ns += l.ns
		if i >= w {
			o := t.hist[i-w]
			cur.x -= o.x
			cur.e -= o.e
			cur.nc -= o.nc
			cur.ns -= o.ns
		}
		if i < w-1 {
			continue
		}
		if ex := cur.x - cur.e*cur.nc/(cur.nc+cur.ns); ex > bestEx {
			best, bestEx = cur, ex
		}
	}
	return best
}

// worstWindow returns the totals of the window of max(⌊√K⌋,
// seqBurstLooks) consecutive informative looks where the canary's bad
// events most exceed its share of traffic, when it is out of line with the
// other looks; ok is false when it is not, or when that window would hold
// every look (then logEFailCapped caps it instead).
func (t *RatioTest) worstWindow() (best look, ok bool) {
	k := len(t.hist)
	w := max(int(math.Sqrt(float64(k))), seqBurstLooks)
	if w >= k {
		return look{}, false
	}
	best = t.maxExcessWindow(w)
	// Only a window out of line with the rest is a burst: its canary share
	// against the one the other looks' ratio ρ_r predicts, binomial z above
	// seqBurstZ (a regression raises every window alike, and then nothing
	// is left out).
	rest := look{x: t.total.CanaryBad - best.x, e: t.total.CanaryBad + t.total.StableBad - best.e,
		nc: t.total.CanaryRequests - best.nc, ns: t.total.StableRequests - best.ns}
	if rest.e <= 0 || best.e <= 0 || rest.nc <= 0 || rest.ns <= 0 || best.ns <= 0 || rest.x >= rest.e {
		return best, true
	}
	// ρ_r with half an event added to each side, so that a rest without
	// canary (or stable) events still predicts a share.
	rhoR := ((rest.x + 0.5) / (rest.e - rest.x + 0.5)) / (rest.nc / rest.ns)
	ar := best.nc / best.ns * rhoR
	th := ar / (1 + ar)
	sd := math.Sqrt(best.e * th * (1 - th) * (1 + best.e/rest.e))
	if sd > 0 && (best.x-best.e*th)/sd < seqBurstZ {
		return look{}, false
	}
	return best, true
}

// logMix returns log Σ_j w_j exp((ll[idx(j)] − ll[base]) / φ̂).
func (t *RatioTest) logMix(base int, w []float64, step int) float64 {
	return logMixOf(t.ll, base, w, step, t.phi)
}

func logMixOf(ll []float64, base int, w []float64, step int, phi float64) float64 {
	// log-sum-exp for stability.
	m := math.Inf(-1)
	for j := range w {
		i := base + step*(j+1)
		if i < 0 || i >= len(ll) {
			break
		}
		if d := (ll[i] - ll[base]) / phi; d > m {
			m = d
		}
	}
	if math.IsInf(m, -1) {
		return 0
	}
	var s float64
	for j, wj := range w {
		i := base + step*(j+1)
		if i < 0 || i >= len(ll) {
			break
		}
		s += wj * math.Exp((ll[i]-ll[base])/phi-m)
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
		LogEFail:         t.logFail,
		LogEPass:         t.logPass,
		PValue:           math.Min(1, math.Exp(-t.maxLogFail)),
		Estimate:         observedRatio(t.total),
		Dispersion:       t.phi,
		StableDispersion: t.stablePhi,
		BurstCap:         t.capOn,
		Total:            t.total,
		Looks:            t.looks,
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
// when P(Bin(E, θ) ≥ X) ≤ Alpha × FinalShare (and E ≥ MinBad), with E and X
// divided by the dispersion estimate φ̂ when it exceeds 1. Otherwise
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
		// Under overdispersion the counts are worth E/φ̂ independent events
		// (quasi-likelihood); the larger of the two p-values keeps the
		// binomial model's level exact whatever φ̂.
		p := binomialUpperTail(e, theta, t.total.CanaryBad)
		if t.phi > 1 {
			p = math.Max(p, binomialUpperTail(e/t.phi, theta, t.total.CanaryBad/t.phi))
		}
		// As the sequential test, the final one must also hold without the
		// window most like a burst.
		if w, ok := t.worstWindow(); ok {
			e2, x2 := e-w.e, t.total.CanaryBad-w.x
			nc, ns := t.total.CanaryRequests-w.nc, t.total.StableRequests-w.ns
			if th2 := nc / (nc + ns); e2 > 0 && th2 > 0 && th2 < 1 {
				p = math.Max(p, binomialUpperTail(e2/t.phi, th2, x2/t.phi))
			} else {
				p = 1
			}
		}
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

// DecideLast is the decision at a look that completes a window of known
// length, for a judge whose window may still be extended (a rollout's
// window counts only conclusive looking, so a look expected to be the
// last may not be): the final fixed-sample test of DecideFinal runs once,
// the first time DecideLast is called, and only its failure is acted on
// (sticky, as every failure); otherwise the decision is Decide's, and the
// caller ends the window without a failure. Later calls are Decide. The
// reserved Alpha × FinalShare is thus spent at most once, and the union
// bound of FinalShare holds.
func (t *RatioTest) DecideLast() Decision {
	d := t.Decide()
	if d.Verdict != Continue || t.finalSpent || t.cfg.FinalShare == 0 || t.total.CanaryRequests < t.cfg.MinRequests {
		return d
	}
	t.finalSpent = true
	f := t.DecideFinal()
	if f.Verdict == Fail {
		return f
	}
	t.decided = nil // a pass of the final test is not acted on
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
		"canary_requests":   d.Total.CanaryRequests,
		"canary_bad":        d.Total.CanaryBad,
		"stable_requests":   d.Total.StableRequests,
		"stable_bad":        d.Total.StableBad,
		"ratio_estimate":    d.Estimate,
		"dispersion":        d.Dispersion,
		"stable_dispersion": d.StableDispersion,
		"burst_cap":         boolFloat(d.BurstCap),
		"log_e_fail":        d.LogEFail,
		"log_e_pass":        d.LogEPass,
		"p_value":           d.PValue,
		"alpha":             cfg.Alpha,
		"fail_progress":     d.LogEFail / math.Log(1/cfg.Alpha),
		"tolerance":         cfg.Tolerance,
		"looks":             float64(d.Looks),
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
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
