package analysis

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// This file ports the semantics of Kayenta's NetflixACAJudge with its
// MannWhitneyClassifier (spinnaker/kayenta, kayenta-judge
// classifiers/metric/MannWhitneyClassifier.scala and
// judge/NetflixACAJudge.scala): a fixed-horizon Mann-Whitney U test on the
// canary's and the baseline's samples of one metric, classified from the
// confidence interval of the Hodges-Lehmann shift (98% in the ACA judge)
// against a tolerance of 0.25 × |estimate|, with Kayenta's meanRatio
// effect-size filter, then scored per group: score = Σ group weight ×
// passed/total, pass ≥ 95, marginal ≥ 75. NaN samples are removed first
// (Kayenta's NaN strategy "remove").

// Classification is Kayenta's per-metric outcome.
type Classification string

// The classifications.
const (
	ClassPass   Classification = "Pass"
	ClassHigh   Classification = "High"
	ClassLow    Classification = "Low"
	ClassNodata Classification = "Nodata"
)

// MannWhitneyConfig configures MannWhitney.
type MannWhitneyConfig struct {
	// Confidence is the interval's level; Kayenta's ACA judge uses 0.98.
	Confidence float64
	// Tolerance is the fraction of |estimate| the interval must clear;
	// Kayenta uses 0.25.
	Tolerance float64
	// Direction says which change is bad.
	Direction Direction
	// AllowedIncrease and AllowedDecrease are meanRatio critical effect
	// sizes (1 means none).
	AllowedIncrease, AllowedDecrease float64
}

// KayentaDefaults are the ACA judge's settings for a metric that must not
// increase.
var KayentaDefaults = MannWhitneyConfig{Confidence: 0.98, Tolerance: 0.25, Direction: Increase, AllowedIncrease: 1, AllowedDecrease: 1}

// MannWhitneyResult is one metric's classification with its numbers.
type MannWhitneyResult struct {
	Class Classification
	// Estimate is the Hodges-Lehmann shift (canary − stable); Lower and
	// Upper bound its interval; MeanRatio is mean(canary)/mean(stable).
	Estimate, Lower, Upper, MeanRatio float64
	// U is the canary's Mann-Whitney statistic and PValue its two-sided
	// normal-approximation p-value.
	U, PValue float64
	N, M      int
}

// MannWhitney classifies canary against stable. It never reads beyond its
// arguments.
func MannWhitney(canary, stable []float64, cfg MannWhitneyConfig) MannWhitneyResult {
	x := dropNaN(canary)
	y := dropNaN(stable)
	r := MannWhitneyResult{N: len(x), M: len(y), Estimate: math.NaN(), Lower: math.NaN(), Upper: math.NaN(), MeanRatio: math.NaN(), U: math.NaN(), PValue: math.NaN()}
	if len(x) == 0 || len(y) == 0 {
		r.Class = ClassNodata
		return r
	}
	r.MeanRatio = stat.Mean(x, nil) / stat.Mean(y, nil)
	sx, sy := slices.Clone(x), slices.Clone(y)
	slices.Sort(sx)
	slices.Sort(sy)
	if slices.Equal(sx, sy) {
		r.Class, r.Estimate, r.Lower, r.Upper, r.MeanRatio = ClassPass, 0, 0, 0, 1
		return r
	}
	// The interval and the estimate are R's wilcox.test(x, y, conf.int =
	// TRUE, exact = FALSE), which Kayenta ports (kayenta-mannwhitney
	// MannWhitney.scala): the roots in μ of the continuity-corrected,
	// tie-corrected normal score of the shifted samples, found between
	// min(x)−max(y) and max(x)−min(y). The estimate, a root of the score
	// itself, is any shift in a range where the corrected score is zero;
	// Vane takes the Hodges-Lehmann median of the pairwise differences,
	// which lies in that range (and is where Kayenta's Brent solver lands
	// on its own test vectors).
	n, m := float64(len(x)), float64(len(y))
	var u float64
	d := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			d = append(d, a-b)
			switch {
			case a > b:
				u++
			case a == b:
				u += 0.5
			}
		}
	}
	r.U = u
	w := newWilcoxon(x, y)
	z := distuv.UnitNormal.Quantile(1 - (1-cfg.Confidence)/2)
	r.Lower = w.root(z)
	r.Upper = w.root(-z)
	slices.Sort(d)
	if len(d)%2 == 1 {
		r.Estimate = d[len(d)/2]
	} else {
		r.Estimate = (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	if sd := w.sigma(0); sd > 0 {
		zu := (u - n*m/2) / sd
		r.PValue = 2 * distuv.UnitNormal.Survival(math.Abs(zu))
	}
	crit := cfg.Tolerance * math.Abs(r.Estimate)
	up := cfg.Direction == Increase || cfg.Direction == Either
	down := cfg.Direction == Decrease || cfg.Direction == Either
	switch {
	case up && r.Lower > crit && !(r.MeanRatio < cfg.AllowedIncrease):
		r.Class = ClassHigh
	case down && r.Upper < -crit && !(r.MeanRatio > cfg.AllowedDecrease):
		r.Class = ClassLow
	default:
		r.Class = ClassPass
	}
	return r
}

func dropNaN(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

// ScoredMetric is one metric's classification in a Kayenta score.
type ScoredMetric struct {
	Group string
	Class Classification
}

// Kayenta score thresholds (NetflixACAJudge with the usual canary config).
const (
	KayentaPass     = 95.0
	KayentaMarginal = 75.0
)

// KayentaScore combines metric classifications as Kayenta's score
// calculator does: each group scores weight × passed/total of its metrics
// with data, and the score is the sum over groups. weights maps group →
// weight and should sum to 100. Metrics without data do not count; a group
// with none is left out and the remaining weights are rescaled to 100.
func KayentaScore(metrics []ScoredMetric, weights map[string]float64) (float64, error) {
	type agg struct{ pass, total int }
	groups := map[string]*agg{}
	for _, mt := range metrics {
		if _, ok := weights[mt.Group]; !ok {
			return 0, fmt.Errorf("analysis: group %q has no weight", mt.Group)
		}
		g := groups[mt.Group]
		if g == nil {
			g = &agg{}
			groups[mt.Group] = g
		}
		if mt.Class == ClassNodata {
			continue
		}
		g.total++
		if mt.Class == ClassPass {
			g.pass++
		}
	}
	var score, wsum float64
	for name, g := range groups {
		if g.total == 0 {
			continue
		}
		score += weights[name] * float64(g.pass) / float64(g.total)
		wsum += weights[name]
	}
	if wsum == 0 {
		return math.NaN(), fmt.Errorf("analysis: no metric had data")
	}
	return score * 100 / wsum, nil
}

// KayentaVerdict maps a score to a verdict: Pass at or above 95, Fail below
// 75, and in between (Kayenta's "marginal") Continue, which a rollout treats
// as "hold and look again"; NaN is Inconclusive.
func KayentaVerdict(score float64) Verdict {
	switch {
	case math.IsNaN(score):
		return Inconclusive
	case score >= KayentaPass:
		return Pass
	case score < KayentaMarginal:
		return Fail
	default:
		return Continue
	}
}

// wilcoxon evaluates R's wdiff: the normal score of the canary's rank sum
// after shifting it by d, minus a quantile.
type wilcoxon struct {
	x, y   []float64
	lo, hi float64
	buf    []float64
	idx    []int
	ranks  []float64
	n, m   float64
}

func newWilcoxon(x, y []float64) *wilcoxon {
	w := &wilcoxon{x: x, y: y, n: float64(len(x)), m: float64(len(y))}
	w.lo = slices.Min(x) - slices.Max(y)
	w.hi = slices.Max(x) - slices.Min(y)
	k := len(x) + len(y)
	w.buf, w.idx, w.ranks = make([]float64, k), make([]int, k), make([]float64, k)
	return w
}

// score returns the rank sum statistic's deviation dz and its
// tie-corrected standard deviation for the shift d.
func (w *wilcoxon) score(d float64) (dz, sigma float64) {
	for i, a := range w.x {
		w.buf[i] = a - d
	}
	copy(w.buf[len(w.x):], w.y)
	for i := range w.idx {
		w.idx[i] = i
	}
	slices.SortFunc(w.idx, func(a, b int) int { return cmpFloat(w.buf[a], w.buf[b]) })
	var ties float64
	for i := 0; i < len(w.idx); {
		j := i
		for j+1 < len(w.idx) && w.buf[w.idx[j+1]] == w.buf[w.idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			w.ranks[w.idx[k]] = avg
		}
		t := float64(j - i + 1)
		ties += t*t*t - t
		i = j + 1
	}
	var sum float64
	for i := range w.x {
		sum += w.ranks[i]
	}
	n, m := w.n, w.m
	dz = sum - n*(n+1)/2 - n*m/2
	sigma = math.Sqrt(n * m / 12 * ((n + m + 1) - ties/((n+m)*(n+m-1))))
	return dz, sigma
}

func (w *wilcoxon) sigma(d float64) float64 { _, s := w.score(d); return s }

// f is R's wdiff(d, zq) with the continuity correction.
func (w *wilcoxon) f(d, zq float64) float64 {
	dz, sigma := w.score(d)
	if sigma == 0 {
		return math.NaN()
	}
	corr := 0.0
	switch {
	case dz > 0:
		corr = 0.5
	case dz < 0:
		corr = -0.5
	}
	return (dz-corr)/sigma - zq
}

// root finds the shift where f(·, zq) crosses zero, as R's root(): the
// lower end when f is already ≤ 0 there, the upper end when f is still
// ≥ 0 there, else by bisection (f decreases in d). A flat zero is
// returned at once.
func (w *wilcoxon) root(zq float64) float64 {
	lo, hi := w.lo, w.hi
	flo, fhi := w.f(lo, zq), w.f(hi, zq)
	switch {
	case math.IsNaN(flo) || math.IsNaN(fhi):
		return math.NaN()
	case flo <= 0:
		return lo
	case fhi >= 0:
		return hi
	}
	for range 200 {
		mid := lo + (hi-lo)/2
		if mid == lo || mid == hi || hi-lo <= 1e-12*math.Max(1, math.Abs(mid)) {
			break
		}
		fm := w.f(mid, zq)
		switch {
		case fm == 0:
			return mid
		case fm > 0:
			lo = mid
		default:
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
