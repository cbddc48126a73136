package canary

import (
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// The two references know the true error ratios; no deployable judge does.

// judgeOracleFixed (`oracle-fixed`) is the fixed-sample likelihood-ratio
// test that knows both error ratios: by Neyman-Pearson the most powerful
// test of p_stable against p_canary rejects when the canary's bad-event
// count X (errors, or requests slower than 0.5 s)
// over n requests exceeds the binomial (1 − α) quantile under p_stable. n is
// chosen for power 90% at α 1%; it tests once, when the canary has served
// about n requests (or at the horizon if that comes first). In healthy
// cells it uses the sample designed for the smallest regression
// (designProbs).
func judgeOracleFixed(c Cell, d *design, x *runData) (time.Duration, bool) {
	t := min(d.oracleAt, d.horizon)
	req, bad := c.bad(x.at(t).Canary)
	if req == 0 {
		return 0, false
	}
	p0, _ := c.badProbs()
	if bad > binomialCritical(req, p0, alpha) {
		return t, true
	}
	return 0, false
}

// judgeOracleSPRT (`oracle-sprt`) is Wald's sequential probability ratio
// test of p_stable against the true p_canary (designProbs' in healthy
// cells) on the canary's requests, with α 1% and β 10%, looking at every
// scrape: among all tests with those error rates it has the least expected
// sample size at both hypotheses (Wald & Wolfowitz 1948). Accepting
// p_stable promotes the canary.
func judgeOracleSPRT(c Cell, d *design, x *runData) (time.Duration, bool) {
	p0, p1 := c.designProbs()
	const beta = 0.1
	upper, lower := math.Log((1-beta)/alpha), math.Log(beta/(1-alpha))
	a, b := math.Log(p1/p0), math.Log((1-p1)/(1-p0))
	for t := scrape; t <= d.horizon; t += scrape {
		req, bad := c.bad(x.at(t).Canary)
		llr := bad*a + (req-bad)*b
		switch {
		case llr >= upper:
			return t, true
		case llr <= lower:
			return 0, false
		}
	}
	return 0, false
}

// binomialCritical is the smallest k with P(X > k) ≤ alpha, X ~ Bin(n, p).
func binomialCritical(n, p, alpha float64) float64 {
	b := distuv.Binomial{N: n, P: p}
	lo, hi := 0.0, n
	for lo < hi {
		mid := math.Floor((lo + hi) / 2)
		if b.Survival(mid) <= alpha {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// oracleSample is the smallest canary sample (searched by bisection from the
// normal approximation) at which the test at alpha has the power against
// pc.
func oracleSample(ps, pc, alpha, power float64) float64 {
	pw := func(n float64) float64 {
		k := binomialCritical(n, ps, alpha)
		return distuv.Binomial{N: n, P: pc}.Survival(k)
	}
	za, zb := distuv.UnitNormal.Quantile(1-alpha), distuv.UnitNormal.Quantile(power)
	n0 := math.Pow(za*math.Sqrt(ps*(1-ps))+zb*math.Sqrt(pc*(1-pc)), 2) / ((pc - ps) * (pc - ps))
	hi := math.Max(4, math.Ceil(2*n0))
	for pw(hi) < power {
		hi *= 2
	}
	lo := 1.0
	for hi-lo > 1 {
		mid := math.Floor((lo + hi) / 2)
		if pw(mid) >= power {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// designProbs are the bad-event probabilities the oracles are designed
// for: the cell's, or in a healthy cell those of the grid's smallest
// regression of the metric (1.25× errors, 1.5× p99).
func (c Cell) designProbs() (stable, canary float64) {
	if c.healthy() {
		c.Factor = 1.25
		if c.Metric == MetricLatency {
			c.Factor = gridLatencyFactors[1]
		}
	}
	return c.badProbs()
}

func newDesign(c Cell, horizon time.Duration) *design {
	p0, p1 := c.designProbs()
	n := oracleSample(p0, p1, alpha, 0.9)
	secs := n / (c.RPS * c.Weight)
	steps := math.Ceil(secs / scrape.Seconds())
	d := &design{oracleAt: horizon + scrape, horizon: horizon}
	if steps*scrape.Seconds() <= horizon.Seconds() {
		d.oracleAt, d.oracleWithin = time.Duration(steps)*scrape, true
	}
	return d
}
