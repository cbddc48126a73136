package sim

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Noise makes the error counters (requests and errors, not the latency
// histogram) depart from the independent-Bernoulli, Poisson-arrival model
// that sequential tests assume, in the ways production traffic does. The
// zero Noise is that model. Every effect keeps each version's long-run
// error ratio at its Version.ErrorRatio, so a healthy canary stays healthy
// on average and any judge's extra rollbacks are false ones.
type Noise struct {
	// Pods serve each version, each request going to a uniformly random
	// pod (so the split varies from scrape to scrape). Default 1.
	Pods int
	// PodSpread gives the pods persistent error-ratio multipliers spread
	// evenly over [1 − PodSpread, 1 + PodSpread] (mean 1): some pods are
	// worse than others, on both versions alike.
	PodSpread float64
	// Concentration κ > 0 draws each pod's error ratio anew every scrape
	// interval from a beta distribution with the pod's mean and κ
	// (beta-binomial errors, variance inflated by (n+κ)/(1+κ)); 0 keeps
	// binomial errors.
	Concentration float64
	// BurstEnter and BurstExit are each pod's per-interval probabilities
	// of entering and leaving a burst (a two-state Markov-modulated error
	// process); in a burst its error ratio is BurstFactor times the quiet
	// one, the quiet one scaled so the long-run mean is unchanged.
	BurstEnter, BurstExit, BurstFactor float64
	// ResetProb is each pod's per-interval probability of restarting: its
	// counters go back to zero, and the requests it served since its last
	// scrape are lost to rate() and increase(), as in Prometheus.
	ResetProb float64
	// MissProb is each version's per-scrape probability that its scrape
	// fails: the series keeps its previous value until the next success.
	MissProb float64
	// Jitter moves every scrape by a uniform offset in [−Jitter, +Jitter],
	// so the intervals between samples vary.
	Jitter time.Duration
}

// Overdispersed is the benchmark's production-like noise: three pods per
// version with ±30% persistent spread, beta-binomial errors (κ = 2000),
// bursts of 4× entered about once an hour per pod and lasting a minute on
// average, a restart per pod about every 4 hours, 1% failed scrapes and
// ±1 s of scrape jitter.
var Overdispersed = Noise{Pods: 3, PodSpread: 0.3, Concentration: 2000,
	BurstEnter: 1.0 / 240, BurstExit: 0.25, BurstFactor: 4, ResetProb: 1.0 / 960, MissProb: 0.01, Jitter: time.Second}

func (n Noise) validate() error {
	p := func(name string, x float64) error {
		if !(x >= 0 && x <= 1) {
			return fmt.Errorf("sim: noise %s must be in [0, 1], got %v", name, x)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		x    float64
	}{{"pod_spread", n.PodSpread}, {"burst_enter", n.BurstEnter}, {"burst_exit", n.BurstExit}, {"reset_prob", n.ResetProb}, {"miss_prob", n.MissProb}} {
		if err := p(c.name, c.x); err != nil {
			return err
		}
	}
	switch {
	case n.Pods < 0:
		return fmt.Errorf("sim: noise pods must not be negative, got %d", n.Pods)
	case n.Concentration < 0:
		return fmt.Errorf("sim: noise concentration must not be negative, got %v", n.Concentration)
	case n.BurstEnter > 0 && !(n.BurstFactor >= 1 && n.BurstExit > 0):
		return fmt.Errorf("sim: noise bursts need burst_factor ≥ 1 and burst_exit > 0, got %v and %v", n.BurstFactor, n.BurstExit)
	case n.Jitter < 0:
		return fmt.Errorf("sim: noise jitter must not be negative, got %s", n.Jitter)
	}
	return nil
}

// pods is one version's pods under noise.
type pods struct {
	mult   []float64 // persistent multipliers, mean 1
	burst  []bool
	quiet  float64 // the quiet state's multiplier
	factor float64
	jitter float64 // offset of the last scrape, seconds
	// seen holds the counters as the judge sees them: last successful
	// scrape, and restarts' losses removed.
	seen Counters
	last Counters // as last scraped
}

func newPods(n Noise) *pods {
	k := max(n.Pods, 1)
	p := &pods{mult: make([]float64, k), burst: make([]bool, k), quiet: 1, factor: 1}
	for i := range p.mult {
		p.mult[i] = 1
		if k > 1 {
			p.mult[i] = 1 - n.PodSpread + 2*n.PodSpread*float64(i)/float64(k-1)
		}
	}
	if n.BurstEnter > 0 {
		pi := n.BurstEnter / (n.BurstEnter + n.BurstExit)
		p.quiet = 1 / (1 + pi*(n.BurstFactor-1))
		p.factor = n.BurstFactor
	}
	return p
}

// noisyServe serves n requests of version v through its pods for one
// interval and returns the requests and errors the judge will see (lost
// ones removed).
func (w *World) noisyServe(p *pods, n float64, ratio float64) (req, errs float64) {
	nz := w.cfg.Noise
	left := n
	k := len(p.mult)
	for i := range k {
		ni := left
		if i < k-1 {
			ni = w.binomial(left, 1/float64(k-i))
		}
		left -= ni
		if nz.BurstEnter > 0 {
			if p.burst[i] {
				p.burst[i] = w.rng.Float64() >= nz.BurstExit
			} else {
				p.burst[i] = w.rng.Float64() < nz.BurstEnter
			}
		}
		m := p.mult[i] * p.quiet
		if p.burst[i] {
			m *= p.factor
		}
		pi := math.Min(1, ratio*m)
		if nz.Concentration > 0 && pi > 0 && pi < 1 {
			pi = distuv.Beta{Alpha: pi * nz.Concentration, Beta: (1 - pi) * nz.Concentration, Src: w.rng}.Rand()
		}
		e := w.binomial(ni, pi)
		if nz.ResetProb > 0 && w.rng.Float64() < nz.ResetProb {
			continue // restarted: this interval's increments never reach a scrape
		}
		req += ni
		errs += e
	}
	return req, errs
}
