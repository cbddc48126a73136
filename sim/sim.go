package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Latency is a log-normal latency distribution.
type Latency struct {
	// Median is the median latency in seconds; Sigma the standard
	// deviation of its logarithm.
	Median, Sigma float64
}

// DefaultLatency has a 100 ms median and a p99 of about 400 ms.
var DefaultLatency = Latency{Median: 0.1, Sigma: 0.6}

// DefaultBuckets are the histogram's upper bounds in seconds (+Inf is
// implicit).
var DefaultBuckets = []float64{0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5}

// CDF returns P(latency ≤ x).
func (l Latency) CDF(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return distuv.Normal{Mu: math.Log(l.Median), Sigma: l.Sigma}.CDF(math.Log(x))
}

// Mean returns the distribution's mean in seconds.
func (l Latency) Mean() float64 { return l.Median * math.Exp(l.Sigma*l.Sigma/2) }

func (l Latency) variance() float64 {
	s2 := l.Sigma * l.Sigma
	return (math.Exp(s2) - 1) * l.Median * l.Median * math.Exp(s2)
}

// Version is how one version behaves.
type Version struct {
	// ErrorRatio is the probability that a request fails.
	ErrorRatio float64
	Latency    Latency
}

// Config describes one simulated analysis.
type Config struct {
	// RPS is the mean request rate of the whole service (Poisson arrivals).
	RPS float64
	// CanaryWeight is the canary's share of traffic in [0, 1].
	CanaryWeight   float64
	Stable, Canary Version
	// Scrape is the scrape interval; default 15s.
	Scrape time.Duration
	// Buckets are the latency histogram's bounds; default DefaultBuckets.
	Buckets []float64
	// Seed makes the run reproducible.
	Seed uint64
	// Noise departs from Poisson arrivals and independent errors; the zero
	// value is none.
	Noise Noise
}

// Counters are one version's cumulative counters at a scrape, as a
// Prometheus client library exposes them.
type Counters struct {
	Requests, Errors float64
	// Buckets[i] counts requests with latency ≤ Config.Buckets[i]
	// (cumulative, like the `le` buckets).
	Buckets []float64
	// Observed is the histogram's _count (its +Inf bucket): Requests
	// without Noise; under Noise it also counts the requests whose error
	// counter increments a pod restart lost, as the histogram keeps them.
	Observed float64
	// LatencySum is the histogram's _sum in seconds.
	LatencySum float64
	// Stale marks a failed scrape (under Noise): Prometheus holds no new
	// sample, and these are the previous sample's values.
	Stale bool
}

// Slower returns the requests slower than bucket bound i.
func (c Counters) Slower(i int) float64 { return c.Observed - c.Buckets[i] }

func (c Counters) clone() Counters {
	c.Buckets = append([]float64(nil), c.Buckets...)
	return c
}

// Scrape is both versions' cumulative counters at virtual time T since the
// start.
type Scrape struct {
	T              time.Duration
	Canary, Stable Counters
}

// World is one simulated analysis. It is not safe for concurrent use; run
// one World per goroutine.
type World struct {
	cfg            Config
	rng            *rand.Rand
	now            time.Duration
	canary, stable Counters
	probs          [2][]float64 // per version: P(bucket i) for each finite bucket, then +Inf
	noisy          bool
	pods           [2]*pods // canary, stable
}

// New validates cfg and returns a World at time zero.
func New(cfg Config) (*World, error) {
	if cfg.Scrape == 0 {
		cfg.Scrape = 15 * time.Second
	}
	if cfg.Buckets == nil {
		cfg.Buckets = DefaultBuckets
	}
	switch {
	case !(cfg.RPS > 0):
		return nil, fmt.Errorf("sim: rps must be positive, got %v", cfg.RPS)
	case !(cfg.CanaryWeight >= 0 && cfg.CanaryWeight <= 1):
		return nil, fmt.Errorf("sim: canary weight must be in [0, 1], got %v", cfg.CanaryWeight)
	case cfg.Scrape < 0:
		return nil, errors.New("sim: scrape interval must be positive")
	}
	if err := cfg.Noise.validate(); err != nil {
		return nil, err
	}
	for _, v := range []Version{cfg.Stable, cfg.Canary} {
		if !(v.ErrorRatio >= 0 && v.ErrorRatio <= 1) {
			return nil, fmt.Errorf("sim: error ratio must be in [0, 1], got %v", v.ErrorRatio)
		}
		if !(v.Latency.Median > 0 && v.Latency.Sigma > 0) {
			return nil, fmt.Errorf("sim: latency needs a positive median and sigma, got %+v", v.Latency)
		}
	}
	w := &World{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x76616e65))}
	for i, v := range []Version{cfg.Canary, cfg.Stable} {
		prev := 0.0
		for _, b := range cfg.Buckets {
			c := v.Latency.CDF(b)
			w.probs[i] = append(w.probs[i], c-prev)
			prev = c
		}
		w.probs[i] = append(w.probs[i], 1-prev)
	}
	w.canary.Buckets = make([]float64, len(cfg.Buckets))
	w.stable.Buckets = make([]float64, len(cfg.Buckets))
	if cfg.Noise != (Noise{}) {
		w.noisy = true
		for i := range w.pods {
			w.pods[i] = newPods(cfg.Noise)
			w.pods[i].seen.Buckets = make([]float64, len(cfg.Buckets))
		}
	}
	return w, nil
}

// Config returns the world's configuration with defaults applied.
func (w *World) Config() Config { return w.cfg }

// Now is the virtual time since the start.
func (w *World) Now() time.Duration { return w.now }

// Step advances the virtual clock by one scrape interval, serving the
// requests that arrive in it, and returns the counters as scraped at its
// end.
func (w *World) Step() Scrape {
	if w.noisy {
		return w.noisyStep()
	}
	dt := w.cfg.Scrape.Seconds()
	n := w.poisson(w.cfg.RPS * dt)
	nc := w.binomial(n, w.cfg.CanaryWeight)
	w.serve(&w.canary, nc, w.cfg.Canary, w.probs[0])
	w.serve(&w.stable, n-nc, w.cfg.Stable, w.probs[1])
	w.now += w.cfg.Scrape
	return Scrape{T: w.now, Canary: w.canary.clone(), Stable: w.stable.clone()}
}

func (w *World) serve(c *Counters, n float64, v Version, probs []float64) {
	if n == 0 {
		return
	}
	c.Requests += n
	c.Observed += n
	c.Errors += w.binomial(n, v.ErrorRatio)
	// Multinomial bucket counts by sequential binomials.
	left, pleft := n, 1.0
	cum := 0.0
	for i := range w.cfg.Buckets {
		k := 0.0
		if left > 0 && pleft > 0 {
			k = w.binomial(left, math.Min(1, probs[i]/pleft))
		}
		left -= k
		pleft -= probs[i]
		cum += k
		c.Buckets[i] += cum
	}
	// The _sum: normal approximation of the sum of n log-normal latencies.
	m, sd := n*v.Latency.Mean(), math.Sqrt(n*v.Latency.variance())
	c.LatencySum += math.Max(0, m+sd*w.rng.NormFloat64())
}

func (w *World) poisson(mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	return distuv.Poisson{Lambda: mean, Src: w.rng}.Rand()
}

func (w *World) binomial(n, p float64) float64 {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	}
	return distuv.Binomial{N: n, P: p, Src: w.rng}.Rand()
}

// noisyStep is Step under Noise: each version's interval is stretched or
// shortened by the scrapes' jitter, its errors come from its pods, and a
// failed scrape repeats the version's last scraped counters. Requests and
// Errors are what rate() and increase() would see (a restarted pod's lost
// increments removed). The latency histogram (Buckets, Observed,
// LatencySum) has the scrapes' jitter and failures but the latency
// distribution of its Version on every pod, without restarts' losses.
func (w *World) noisyStep() Scrape {
	nz := w.cfg.Noise
	dt := w.cfg.Scrape.Seconds()
	w.now += w.cfg.Scrape
	out := Scrape{T: w.now}
	for i, v := range []Version{w.cfg.Canary, w.cfg.Stable} {
		p := w.pods[i]
		j := 0.0
		if nz.Jitter > 0 {
			j = (2*w.rng.Float64() - 1) * nz.Jitter.Seconds()
		}
		span := math.Max(0, dt+j-p.jitter)
		p.jitter = j
		share, c, dst := w.cfg.CanaryWeight, &w.canary, &out.Canary
		if i == 1 {
			share, c, dst = 1-share, &w.stable, &out.Stable
		}
		n := w.poisson(w.cfg.RPS * share * span)
		w.serve(c, n, Version{Latency: v.Latency}, w.probs[i])
		req, errs := w.noisyServe(p, n, v.ErrorRatio)
		p.seen.Requests += req
		p.seen.Errors += errs
		p.seen.LatencySum = c.LatencySum
		p.seen.Observed = c.Observed
		copy(p.seen.Buckets, c.Buckets)
		*dst = p.last.clone()
		if p.last.Buckets == nil || !(nz.MissProb > 0 && w.rng.Float64() < nz.MissProb) {
			p.last = p.seen.clone()
			*dst = p.last.clone()
		} else {
			dst.Stale = true
		}
	}
	return out
}
