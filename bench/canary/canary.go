package canary

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/sim"
)

// The benchmark runs every judge on the same simulated analyses (the same
// seeded scrapes) over a grid of traffic, canary weight, stable error
// ratio, regression factor and noise, and reports for each judge, threshold
// and cell the false-rollback rate (healthy cells), the detection rate, the
// median and p90 time to rollback, and the exposure: bad requests the
// canary served above what the stable version would have served, until
// rollback or the end of the horizon.

// Grid of the benchmark.
var (
	gridRPS     = []float64{5, 50, 500}
	gridWeights = []float64{0.01, 0.05, 0.25}
	gridBase    = []float64{0.001, 0.01}
	gridFactors = []float64{1, 1.25, 1.5, 2, 5, 10}
	// Noise models: Poisson arrivals with independent errors (the
	// sequential test's own model), and sim.Overdispersed.
	gridNoise = []string{NoisePoisson, NoiseOverdispersed}
)

// Noise model names of the rows.
const (
	NoisePoisson       = "poisson"
	NoiseOverdispersed = "overdispersed"
)

const (
	scrape = 15 * time.Second
	alpha  = 0.01
)

// Cell is one scenario of the grid.
type Cell struct {
	RPS, Weight float64
	// BaseError is the stable version's error ratio; Factor the canary's
	// over it (1 = healthy).
	BaseError, Factor float64
	Noise             string
}

func (c Cell) canaryError() float64 { return math.Min(1, c.BaseError*c.Factor) }

func (c Cell) healthy() bool { return c.Factor == 1 }

func (c Cell) simConfig(seed uint64) sim.Config {
	cfg := sim.Config{RPS: c.RPS, CanaryWeight: c.Weight, Seed: seed, Scrape: scrape,
		Stable: sim.Version{ErrorRatio: c.BaseError, Latency: sim.DefaultLatency},
		Canary: sim.Version{ErrorRatio: c.canaryError(), Latency: sim.DefaultLatency}}
	if c.Noise == NoiseOverdispersed {
		cfg.Noise = sim.Overdispersed
	}
	return cfg
}

// Cells returns the grid.
func Cells() []Cell {
	var cells []Cell
	for _, nz := range gridNoise {
		for _, rps := range gridRPS {
			for _, w := range gridWeights {
				for _, b := range gridBase {
					for _, f := range gridFactors {
						cells = append(cells, Cell{RPS: rps, Weight: w, BaseError: b, Factor: f, Noise: nz})
					}
				}
			}
		}
	}
	return cells
}

// series is one run's scrapes with what the judges read from them.
type series struct {
	s []sim.Scrape
}

// at returns the scrape at virtual time t (a multiple of the scrape
// interval), or zero counters at t ≤ 0.
func (x series) at(t time.Duration) sim.Scrape {
	i := int(t/scrape) - 1
	if i < 0 {
		return sim.Scrape{}
	}
	return x.s[min(i, len(x.s)-1)]
}

// window returns the canary's (or stable's) increase in requests and
// errors over the samples in (t−w, t] as rate() sees them: per series
// (non-5xx and 5xx) the increase between the first and the last fresh
// sample in the window, extrapolated towards the window's ends as
// Prometheus's extrapolatedRate does (promql/functions.go: by at most half
// an average sample interval beyond the samples, and not below zero at
// the start). A failed scrape leaves no sample. The series start at zero
// at time zero. ok is false when the window holds fewer than two samples
// (Prometheus returns no series). TestPeerWindowsArePromQL checks the
// values against Prometheus's engine.
func (x series) window(t, w time.Duration, canary bool) (req, errs float64, ok bool) {
	var ts, good, bad []float64
	for u := t - w + scrape; u <= t; u += scrape {
		if u < 0 {
			continue
		}
		var c sim.Counters
		if u > 0 {
			sc := x.at(u)
			c = sc.Stable
			if canary {
				c = sc.Canary
			}
			if c.Stale {
				continue
			}
		}
		ts = append(ts, u.Seconds())
		good = append(good, c.Requests-c.Errors)
		bad = append(bad, c.Errors)
	}
	if len(ts) < 2 {
		return 0, 0, false
	}
	lo, hi := (t - w).Seconds(), t.Seconds()
	g, e := extrapolatedIncrease(ts, good, lo, hi), extrapolatedIncrease(ts, bad, lo, hi)
	return g + e, e, true
}

// extrapolatedIncrease is Prometheus's increase() of one counter series
// with samples v at times ts (seconds) in the range (lo, hi], without
// resets (the simulated counters only lose increments, never go down).
func extrapolatedIncrease(ts, v []float64, lo, hi float64) float64 {
	n := len(ts)
	result := v[n-1] - v[0]
	toStart, toEnd := ts[0]-lo, hi-ts[n-1]
	sampled := ts[n-1] - ts[0]
	avg := sampled / float64(n-1)
	threshold := avg * 1.1
	if toStart >= threshold {
		toStart = avg / 2
	}
	if result > 0 && v[0] >= 0 {
		if toZero := sampled * (v[0] / result); toZero < toStart {
			toStart = toZero
		}
	}
	if toEnd >= threshold {
		toEnd = avg / 2
	}
	return result * (sampled + toStart + toEnd) / sampled
}

// lastTwo is irate()'s view over (t−w, t]: the increase between the last
// two fresh samples.
func (x series) lastTwo(t, w time.Duration) (req, errs float64, ok bool) {
	var a, b *sim.Counters
	for u := t; u > t-w && u > 0; u -= scrape {
		sc := x.at(u)
		c := sc.Canary
		if c.Stale {
			continue
		}
		if b == nil {
			b = &c
			continue
		}
		a = &c
		break
	}
	if a == nil {
		return 0, 0, false
	}
	return b.Requests - a.Requests, b.Errors - a.Errors, true
}

// Judge decides one run from its scrapes: the time of the rollback, or
// false when it never rolled back within the horizon (it passed, or ran
// out of time).
type Judge struct {
	Name string
	// Threshold is the peer's swept threshold (NaN for judges without).
	Threshold float64
	// CadenceS is how often the judge looks, in seconds.
	CadenceS float64
	run      func(c Cell, d *design, x series) (time.Duration, bool)
}

// design holds what a cell's judges precompute once.
type design struct {
	oracleAt     time.Duration // when oracle-fixed tests
	oracleWithin bool          // whether its designed sample fits in the horizon
	horizon      time.Duration
}

// Sweeps of the peers' thresholds, each holding the docs' value.
var (
	flaggerSweep = []float64{99.9, 99.5, 99, 98, 97, 95, 90, 80}
	argoSweep    = []float64{0.999, 0.995, 0.99, 0.98, 0.97, 0.95, 0.9, 0.8}
	kayentaSweep = []float64{0.8, 0.9, 0.95, 0.98, 0.99}
)

// Judges returns the judges in the order of the output.
func Judges() []Judge {
	js := []Judge{
		{Name: "vane", Threshold: math.NaN(), CadenceS: 15, run: judgeVane(scrape, true)},
		{Name: "vane", Threshold: math.NaN(), CadenceS: 60, run: judgeVane(time.Minute, true)},
		{Name: "vane", Threshold: math.NaN(), CadenceS: 300, run: judgeVane(5*time.Minute, true)},
		{Name: "vane-anytime", Threshold: math.NaN(), CadenceS: 15, run: judgeVane(scrape, false)},
		{Name: "oracle-fixed", Threshold: math.NaN(), CadenceS: 15, run: judgeOracleFixed},
		{Name: "oracle-sprt", Threshold: math.NaN(), CadenceS: 15, run: judgeOracleSPRT},
	}
	for _, th := range flaggerSweep {
		cfg := FlaggerDocs
		cfg.MinSuccessRate = th
		js = append(js, Judge{Name: "flagger", Threshold: th, CadenceS: cfg.Interval.Seconds(), run: judgeFlagger(cfg)})
	}
	for _, th := range argoSweep {
		cfg := ArgoDocs
		cfg.MinSuccess = th
		js = append(js, Judge{Name: "argo", Threshold: th, CadenceS: cfg.Interval.Seconds(), run: judgeArgo(cfg)})
	}
	for _, th := range kayentaSweep {
		js = append(js, Judge{Name: "kayenta", Threshold: th, CadenceS: 0, run: judgeKayenta(th)})
	}
	return js
}

// Docs' thresholds of the peers.
var docsThreshold = map[string]float64{"flagger": FlaggerDocs.MinSuccessRate, "argo": ArgoDocs.MinSuccess, "kayenta": analysis.KayentaDefaults.Confidence}

// judgeVane is Vane's sequential judge with its defaults (α 1%, tolerance
// 1.2, at least 20 canary requests and 3 bad events), looking every
// cadence. A pass ends the analysis (the canary is promoted). With
// horizon, as the product's analysis steps (analysis.DefaultFinalShare,
// rollout's State.LastLook), the judge knows the step's duration and
// reserves half of α for a fixed-sample test at the look that completes
// it (RatioTest.DecideLast); without, it is purely anytime.
func judgeVane(cadence time.Duration, horizon bool) func(Cell, *design, series) (time.Duration, bool) {
	return func(c Cell, d *design, x series) (time.Duration, bool) {
		cfg := analysis.SequentialConfig{Alpha: alpha, Tolerance: analysis.DefaultTolerance,
			MinRequests: analysis.DefaultMinRequests, MinBad: analysis.DefaultMinBad}
		if horizon {
			cfg.FinalShare = analysis.DefaultFinalShare
		}
		rt, _ := analysis.NewRatioTest(cfg)
		var prev sim.Scrape
		for t := cadence; t <= d.horizon; t += cadence {
			s := x.at(t)
			rt.Observe(analysis.Counts{
				CanaryRequests: s.Canary.Requests - prev.Canary.Requests, CanaryBad: s.Canary.Errors - prev.Canary.Errors,
				StableRequests: s.Stable.Requests - prev.Stable.Requests, StableBad: s.Stable.Errors - prev.Stable.Errors})
			prev = s
			dec := rt.Decide()
			if horizon && t+cadence > d.horizon {
				dec = rt.DecideLast()
			}
			switch dec.Verdict {
			case analysis.Fail:
				return t, true
			case analysis.Pass:
				return 0, false
			}
		}
		return 0, false
	}
}

// judgeFlagger runs the Flagger model on request-success-rate over each
// tick's last interval (sum(rate(non-5xx[1m])) / sum(rate(all[1m])) × 100).
// The benchmark holds the canary's traffic at the cell's weight for every
// judge; the model's weight steps only decide when it promotes.
func judgeFlagger(cfg FlaggerConfig) func(Cell, *design, series) (time.Duration, bool) {
	return func(_ Cell, d *design, x series) (time.Duration, bool) {
		f := NewFlagger(cfg)
		for t := cfg.Interval; t <= d.horizon; t += cfg.Interval {
			v := math.NaN()
			if req, errs, ok := x.window(t, cfg.Interval, true); ok && req > 0 {
				v = 100 * (1 - errs/req)
			}
			switch f.Tick(v) {
			case RolledBack:
				return t, true
			case Promoted:
				return 0, false
			}
		}
		return 0, false
	}
}

// judgeArgo runs the Argo model on the docs' query, the canary's success
// ratio by irate over [5m] (its last two samples), measured at the run's
// start and every interval.
func judgeArgo(cfg ArgoConfig) func(Cell, *design, series) (time.Duration, bool) {
	return func(_ Cell, d *design, x series) (time.Duration, bool) {
		a := NewArgo(cfg)
		for t := time.Duration(0); t <= d.horizon; t += cfg.Interval {
			req, errs, ok := x.lastTwo(t, 5*time.Minute)
			v := math.NaN()
			if ok && req > 0 {
				v = 1 - errs/req
			}
			switch a.Measure(v, !ok) {
			case RolledBack:
				return t, true
			case Promoted:
				return 0, false
			}
		}
		return 0, false
	}
}

// judgeKayenta is Kayenta's NetflixACAJudge with the Mann-Whitney
// classifier (tolerance 0.25, direction increase, meanRatio effect size 1,
// NaN removed) at the given confidence (the judge's own is 0.98) on
// 1-minute samples of the canary's and the stable version's error ratio
// over the whole horizon, judged once at its end; the single metric scores
// 100 or 0 against pass 95 / marginal 75.
func judgeKayenta(conf float64) func(Cell, *design, series) (time.Duration, bool) {
	return func(_ Cell, d *design, x series) (time.Duration, bool) {
		var canary, stable []float64
		for t := time.Minute; t <= d.horizon; t += time.Minute {
			canary = append(canary, ratio(x.window(t, time.Minute, true)))
			stable = append(stable, ratio(x.window(t, time.Minute, false)))
		}
		cfg := analysis.KayentaDefaults
		cfg.Confidence = conf
		r := analysis.MannWhitney(canary, stable, cfg)
		if r.Class == analysis.ClassNodata {
			return 0, false
		}
		score, err := analysis.KayentaScore([]analysis.ScoredMetric{{Group: "sli", Class: r.Class}}, map[string]float64{"sli": 100})
		if err == nil && analysis.KayentaVerdict(score) == analysis.Fail {
			return d.horizon, true
		}
		return 0, false
	}
}

func ratio(req, errs float64, ok bool) float64 {
	if !ok || req <= 0 {
		return math.NaN()
	}
	return errs / req
}

// Row is one judge's results in one cell: the JSON object of
// `vane bench canary --json`.
type Row struct {
	Judge string `json:"judge"`
	// Threshold is the peer's threshold (Flagger's success-rate minimum in
	// percent, Argo's success-ratio minimum, Kayenta's confidence); null
	// for Vane and the oracles.
	Threshold *float64 `json:"threshold"`
	Noise     string   `json:"noise"`
	// CadenceS is how often the judge looks (0 for Kayenta's single look
	// at the end).
	CadenceS  float64 `json:"cadence_s"`
	RPS       float64 `json:"rps"`
	Weight    float64 `json:"weight"`
	BaseError float64 `json:"base_error"`
	Factor    float64 `json:"factor"`
	// FalseRollbackRate is set in healthy cells (factor 1), DetectionRate
	// in the others.
	FalseRollbackRate *float64 `json:"false_rollback_rate"`
	DetectionRate     *float64 `json:"detection_rate"`
	// MedianDetectS and P90DetectS are over all runs, a run without
	// rollback counting as never: null when that quantile never rolled back.
	MedianDetectS *float64 `json:"median_detect_s"`
	P90DetectS    *float64 `json:"p90_detect_s"`
	// ExcessBadRequests is the mean number of bad requests the canary served
	// above the stable version's ratio until rollback or the horizon.
	ExcessBadRequests float64 `json:"excess_bad_requests"`
	Runs              int     `json:"runs"`
	// OracleWithinHorizon says whether oracle-fixed's designed sample fits
	// within the horizon in this cell.
	OracleWithinHorizon bool `json:"oracle_within_horizon"`
}

func (r Row) rate() float64 {
	if r.DetectionRate != nil {
		return *r.DetectionRate
	}
	return *r.FalseRollbackRate
}

func runCell(ctx context.Context, c Cell, ci, seeds int, horizon time.Duration, judges []Judge) ([]Row, error) {
	d := newDesign(c, horizon)
	type acc struct {
		times  []float64
		detect int
		excess float64
	}
	accs := make([]acc, len(judges))
	x := series{s: make([]sim.Scrape, 0, int(horizon/scrape))}
	for seed := range seeds {
		if seed%20 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The same seeds in both noise models' cells of a scenario.
		w, err := sim.New(c.simConfig(uint64(ci%(len(Cells())/len(gridNoise)))<<32 | uint64(seed)))
		if err != nil {
			return nil, err
		}
		x.s = x.s[:0]
		for w.Now() < horizon {
			x.s = append(x.s, w.Step())
		}
		for j, jd := range judges {
			t, ok := jd.run(c, d, x)
			stop := horizon
			if ok {
				stop = t
				accs[j].detect++
				accs[j].times = append(accs[j].times, t.Seconds())
			} else {
				accs[j].times = append(accs[j].times, math.Inf(1))
			}
			k := x.at(stop).Canary
			accs[j].excess += k.Errors - c.BaseError*k.Requests
		}
	}
	var rows []Row
	for j, jd := range judges {
		a := accs[j]
		rate := float64(a.detect) / float64(seeds)
		row := Row{Judge: jd.Name, Noise: c.Noise, CadenceS: jd.CadenceS, RPS: c.RPS, Weight: c.Weight, BaseError: c.BaseError, Factor: c.Factor,
			ExcessBadRequests: round(a.excess/float64(seeds), 2), Runs: seeds, OracleWithinHorizon: d.oracleWithin}
		if jd.CadenceS == 0 {
			row.CadenceS = horizon.Seconds()
		}
		if !math.IsNaN(jd.Threshold) {
			th := jd.Threshold
			row.Threshold = &th
		}
		if c.healthy() {
			row.FalseRollbackRate = &rate
		} else {
			row.DetectionRate = &rate
		}
		slices.Sort(a.times)
		row.MedianDetectS = quantile(a.times, 0.5)
		row.P90DetectS = quantile(a.times, 0.9)
		rows = append(rows, row)
	}
	return rows, nil
}

// quantile is the nearest-rank quantile of sorted v; nil when it is +Inf.
func quantile(v []float64, q float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	i := int(math.Ceil(q*float64(len(v)))) - 1
	x := v[max(i, 0)]
	if math.IsInf(x, 1) {
		return nil
	}
	return &x
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// Run runs every judge on seeds simulated analyses per cell of the grid,
// over the horizon, on workers goroutines, writing progress lines to
// progress, and returns one row per judge and cell, followed by the derived
// rows of each peer at its docs' threshold (`flagger-docs`, …) and at the
// threshold matched to a false-rollback rate ≤ 1% (`flagger-matched`, …).
func Run(ctx context.Context, seeds, workers int, horizon time.Duration, progress io.Writer) ([]Row, error) {
	return run(ctx, Cells(), seeds, workers, horizon, progress)
}

func run(ctx context.Context, cells []Cell, seeds, workers int, horizon time.Duration, progress io.Writer) ([]Row, error) {
	if seeds < 1 {
		return nil, fmt.Errorf("seeds must be at least 1, got %d", seeds)
	}
	if horizon < 5*time.Minute {
		return nil, fmt.Errorf("horizon must be at least 5m (Argo's interval), got %s", horizon)
	}
	workers = max(workers, 1)
	judges := Judges()
	all := Cells()
	index := func(c Cell) int {
		for i, a := range all {
			if a == c {
				return i
			}
		}
		return 0
	}
	results := make([][]Row, len(cells))
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		done     atomic.Int64
		mu       sync.Mutex
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ci := range jobs {
				rows, err := runCell(ctx, cells[ci], index(cells[ci]), seeds, horizon, judges)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				results[ci] = rows
				n := done.Add(1)
				mu.Lock()
				c := cells[ci]
				fmt.Fprintf(progress, "bench canary: %d/%d cells (%s rps=%g weight=%g base=%g factor=%.3g)\n",
					n, len(cells), c.Noise, c.RPS, c.Weight, c.BaseError, c.Factor)
				mu.Unlock()
			}
		}()
	}
feed:
	for ci := range cells {
		select {
		case jobs <- ci:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rows []Row
	for _, r := range results {
		rows = append(rows, r...)
	}
	return append(rows, derived(rows)...), nil
}
