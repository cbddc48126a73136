package canary

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/sim"
)

// The canary benchmark runs every judge on the same simulated analyses (the
// same seeded scrapes) over a grid of traffic, canary weight, stable error
// ratio and regression factor, and reports for each judge and cell the
// false-rollback rate (healthy cells), the detection rate, the median and
// p90 time to rollback and the exposure: bad requests the canary served
// above what the stable version would have served, until rollback or the
// end of the horizon.

// Grid of the benchmark.
var (
	benchRPS     = []float64{5, 50, 500}
	benchWeights = []float64{0.01, 0.05, 0.25}
	benchBase    = []float64{0.001, 0.01}
	benchFactors = []float64{1, 1.25, 1.5, 2, 5, 10}
	// Latency shift: the canary's median latency is this many times the
	// stable version's (1 = healthy). The SLO threshold is 300 ms.
	benchLatencyShifts = []float64{1, 1.3}
)

const (
	benchScrape      = 15 * time.Second
	benchInterval    = time.Minute // Flagger's and Argo's interval
	benchLatencySLO  = 0.3         // seconds; a bucket bound of sim.DefaultBuckets
	benchLatencySLOi = 4           // its index in sim.DefaultBuckets
	benchAlpha       = 0.01
)

// benchCell is one scenario of the grid.
type benchCell struct {
	RPS, Weight float64
	// BaseError is the stable version's bad-event ratio: its error ratio,
	// or for latency cells the share of requests slower than 300 ms.
	BaseError float64
	// Factor is the canary's bad-event ratio over the stable version's.
	Factor float64
	// SLI is "errors" or "latency"; LatencyShift the canary's median
	// latency multiplier in latency cells.
	SLI          string
	LatencyShift float64
}

func (c benchCell) canaryBad() float64 { return math.Min(1, c.BaseError*c.Factor) }

func (c benchCell) healthy() bool { return c.Factor == 1 }

func (c benchCell) simConfig(seed uint64) sim.Config {
	cfg := sim.Config{RPS: c.RPS, CanaryWeight: c.Weight, Seed: seed, Scrape: benchScrape,
		Stable: sim.Version{Latency: sim.DefaultLatency}, Canary: sim.Version{Latency: sim.DefaultLatency}}
	if c.SLI == "latency" {
		cfg.Stable.ErrorRatio, cfg.Canary.ErrorRatio = 0.001, 0.001
		cfg.Canary.Latency.Median *= c.LatencyShift
	} else {
		cfg.Stable.ErrorRatio, cfg.Canary.ErrorRatio = c.BaseError, c.canaryBad()
	}
	return cfg
}

func benchCells() []benchCell {
	var cells []benchCell
	for _, rps := range benchRPS {
		for _, w := range benchWeights {
			for _, b := range benchBase {
				for _, f := range benchFactors {
					cells = append(cells, benchCell{RPS: rps, Weight: w, BaseError: b, Factor: f, SLI: "errors"})
				}
			}
			for _, s := range benchLatencyShifts {
				slowStable := 1 - sim.DefaultLatency.CDF(benchLatencySLO)
				canary := sim.DefaultLatency
				canary.Median *= s
				slowCanary := 1 - canary.CDF(benchLatencySLO)
				cells = append(cells, benchCell{RPS: rps, Weight: w, BaseError: slowStable, Factor: slowCanary / slowStable, SLI: "latency", LatencyShift: s})
			}
		}
	}
	return cells
}

// benchJudge decides one run from its scrapes. It returns the time of the
// rollback (detected) or false.
type benchJudge struct {
	name    string
	latency bool // also runs in latency cells
	errors  bool // runs in error cells
	run     func(c benchCell, d *benchDesign, s []sim.Scrape) (time.Duration, bool)
}

// benchDesign holds what a cell's judges precompute once.
type benchDesign struct {
	oracleAt     time.Duration // when the oracle tests
	oracleWithin bool          // whether its designed sample fits in the horizon
}

func benchJudges() []benchJudge {
	return []benchJudge{
		{name: "vane", errors: true, latency: true, run: judgeVane},
		{name: "vane-buckets", latency: true, run: judgeVaneBuckets},
		{name: "flagger-t1", errors: true, latency: true, run: judgeFlagger(1)},
		{name: "flagger-t5", errors: true, latency: true, run: judgeFlagger(5)},
		{name: "argo-fl0", errors: true, latency: true, run: judgeArgo(0)},
		{name: "argo-fl3", errors: true, latency: true, run: judgeArgo(3)},
		{name: "kayenta-10m", errors: true, latency: true, run: judgeKayenta(10 * time.Minute)},
		{name: "kayenta-30m", errors: true, latency: true, run: judgeKayenta(30 * time.Minute)},
		{name: "oracle", errors: true, latency: true, run: judgeOracle},
	}
}

// bad returns the bad events of a version's counters for the cell's SLI.
func (c benchCell) bad(k sim.Counters) float64 {
	if c.SLI == "latency" {
		return k.Slower(benchLatencySLOi)
	}
	return k.Errors
}

// judgeVane is Vane's sequential judge with its defaults (alpha 1%,
// tolerance 1.2, at least 20 canary requests and 3 bad events), looking at
// every scrape. A pass ends the analysis (the canary is promoted).
func judgeVane(c benchCell, _ *benchDesign, s []sim.Scrape) (time.Duration, bool) {
	rt, _ := analysis.NewRatioTest(analysis.SequentialConfig{Alpha: benchAlpha, Tolerance: analysis.DefaultTolerance,
		MinRequests: analysis.DefaultMinRequests, MinBad: analysis.DefaultMinBad})
	var prev sim.Scrape
	prev.Canary.Buckets = make([]float64, len(sim.DefaultBuckets))
	prev.Stable.Buckets = make([]float64, len(sim.DefaultBuckets))
	for _, x := range s {
		rt.Observe(analysis.Counts{
			CanaryRequests: x.Canary.Requests - prev.Canary.Requests, CanaryBad: c.bad(x.Canary) - c.bad(prev.Canary),
			StableRequests: x.Stable.Requests - prev.Stable.Requests, StableBad: c.bad(x.Stable) - c.bad(prev.Stable)})
		prev = x
		switch rt.Decide().Verdict {
		case analysis.Fail:
			return x.T, true
		case analysis.Pass:
			return 0, false
		}
	}
	return 0, false
}

// judgeVaneBuckets is the sequential judge on the whole latency bucket
// distribution: one test per bucket bound with alpha split between them.
func judgeVaneBuckets(_ benchCell, _ *benchDesign, s []sim.Scrape) (time.Duration, bool) {
	k := len(sim.DefaultBuckets)
	tests := make([]*analysis.RatioTest, k)
	for i := range tests {
		tests[i], _ = analysis.NewRatioTest(analysis.SequentialConfig{Alpha: benchAlpha / float64(k), Tolerance: analysis.DefaultTolerance,
			MinRequests: analysis.DefaultMinRequests, MinBad: analysis.DefaultMinBad})
	}
	var prev sim.Scrape
	prev.Canary.Buckets = make([]float64, k)
	prev.Stable.Buckets = make([]float64, k)
	for _, x := range s {
		passed := 0
		for i, rt := range tests {
			rt.Observe(analysis.Counts{
				CanaryRequests: x.Canary.Requests - prev.Canary.Requests, CanaryBad: x.Canary.Slower(i) - prev.Canary.Slower(i),
				StableRequests: x.Stable.Requests - prev.Stable.Requests, StableBad: x.Stable.Slower(i) - prev.Stable.Slower(i)})
			switch rt.Decide().Verdict {
			case analysis.Fail:
				return x.T, true
			case analysis.Pass:
				passed++
			}
		}
		prev = x
		if passed == k {
			return 0, false
		}
	}
	return 0, false
}

// at returns the scrape at virtual time t (a multiple of the scrape
// interval), or zero counters at t = 0.
func at(s []sim.Scrape, t time.Duration) sim.Scrape {
	i := int(t/benchScrape) - 1
	if i < 0 {
		z := sim.Scrape{}
		z.Canary.Buckets = make([]float64, len(sim.DefaultBuckets))
		z.Stable.Buckets = make([]float64, len(sim.DefaultBuckets))
		return z
	}
	return s[i]
}

// windowMetric is the value a threshold judge reads for the canary over
// (t−1m, t]: for errors Flagger's request-success-rate in percent
// (100 × non-5xx / all), for latency its request-duration P99 in
// milliseconds (histogram_quantile over the window's buckets). NaN when the
// canary served nothing in the window, as Prometheus returns for 0/0.
func windowMetric(c benchCell, s []sim.Scrape, t time.Duration) float64 {
	a, b := at(s, t-benchInterval).Canary, at(s, t).Canary
	n := b.Requests - a.Requests
	if n <= 0 {
		return math.NaN()
	}
	if c.SLI == "latency" {
		return 1000 * histogramQuantile(0.99, sim.DefaultBuckets, a, b)
	}
	return 100 * (1 - (b.Errors-a.Errors)/n)
}

// windowOK applies the threshold: success rate ≥ 99% (Flagger's
// request-success-rate min 99) or P99 ≤ 500 ms (request-duration max 500).
// NaN is never OK.
func windowOK(c benchCell, v float64) bool {
	if c.SLI == "latency" {
		return v <= 500
	}
	return v >= 99
}

// histogramQuantile is Prometheus' histogram_quantile on the increase of
// cumulative buckets between a and b: linear interpolation inside the
// bucket holding the rank, the lowest bucket starting at 0, and the upper
// bound of the last finite bucket when the rank falls in +Inf
// (promql/quantile.go, bucketQuantile).
func histogramQuantile(q float64, bounds []float64, a, b sim.Counters) float64 {
	total := b.Requests - a.Requests
	rank := q * total
	lower, prevCount := 0.0, 0.0
	for i, ub := range bounds {
		cnt := b.Buckets[i] - a.Buckets[i]
		if cnt >= rank {
			if cnt == prevCount {
				return ub
			}
			return lower + (ub-lower)*(rank-prevCount)/(cnt-prevCount)
		}
		lower, prevCount = ub, cnt
	}
	return bounds[len(bounds)-1]
}

// judgeFlagger is Flagger's analysis with the builtin request-success-rate
// (thresholdRange min 99, interval 1m) or request-duration (max 500 ms) and
// `threshold: n`. Source: fluxcd/flagger pkg/controller/scheduler.go
// (advanceCanary: on each tick, once Status.FailedChecks ≥ threshold the
// canary is rolled back, before the metrics are checked again) and
// scheduler_metrics.go (runMetricChecks: a value outside thresholdRange, or
// "no values found" — NaN from a canary without traffic — fails the check
// and increments FailedChecks; successful checks do not reset it). The
// analysis ticks every interval (1m, the default); a failure at tick t rolls
// back at the next tick for threshold 1. The canary's weight is held in this
// benchmark, as Flagger holds it while checks fail.
func judgeFlagger(threshold int) func(benchCell, *benchDesign, []sim.Scrape) (time.Duration, bool) {
	return func(c benchCell, _ *benchDesign, s []sim.Scrape) (time.Duration, bool) {
		horizon := s[len(s)-1].T
		failed := 0
		for t := benchInterval; t <= horizon; t += benchInterval {
			if failed >= threshold {
				return t, true
			}
			if !windowOK(c, windowMetric(c, s, t)) {
				failed++
			}
		}
		return 0, false
	}
}

// judgeArgo is an Argo Rollouts AnalysisTemplate with one Prometheus metric,
// interval 1m and successCondition `result[0] >= 0.99` on the success ratio
// (or `result[0] <= 0.5` seconds for P99 latency), no failureCondition.
// Source: argoproj/argo-rollouts analysis/analysis.go and
// pkg/apis/rollouts/v1alpha1/analysis_types.go: a measurement whose
// successCondition is false is Failed (with no failureCondition set), a NaN
// result makes the condition false (the docs' "isNaN(result[0]) ||"
// idiom exists for this), and the run fails as soon as failed measurements
// exceed failureLimit, aborting the rollout at once. The first measurement
// is taken one interval in (initialDelay 1m), so its window holds data.
func judgeArgo(limit int) func(benchCell, *benchDesign, []sim.Scrape) (time.Duration, bool) {
	return func(c benchCell, _ *benchDesign, s []sim.Scrape) (time.Duration, bool) {
		horizon := s[len(s)-1].T
		failed := 0
		for t := benchInterval; t <= horizon; t += benchInterval {
			if !windowOK(c, windowMetric(c, s, t)) {
				failed++
				if failed > limit {
					return t, true
				}
			}
		}
		return 0, false
	}
}

// judgeKayenta is Kayenta's NetflixACAJudge with the Mann-Whitney classifier
// (98% interval of the Hodges-Lehmann shift, tolerance 0.25, direction
// increase, meanRatio effect size 1, NaN strategy remove) on 1-minute
// samples of the canary's and the stable version's error ratio (or mean
// latency, _sum/_count) over a fixed lifetime, judged once at its end; the
// single metric scores 100 or 0 against pass 95 / marginal 75. Source:
// spinnaker/kayenta kayenta-judge MannWhitneyClassifier.scala,
// NetflixACAJudge.scala; see analysis.MannWhitney.
func judgeKayenta(lifetime time.Duration) func(benchCell, *benchDesign, []sim.Scrape) (time.Duration, bool) {
	return func(c benchCell, _ *benchDesign, s []sim.Scrape) (time.Duration, bool) {
		if lifetime > s[len(s)-1].T {
			return 0, false
		}
		var canary, stable []float64
		for t := benchInterval; t <= lifetime; t += benchInterval {
			a, b := at(s, t-benchInterval), at(s, t)
			canary = append(canary, sample(c, a.Canary, b.Canary))
			stable = append(stable, sample(c, a.Stable, b.Stable))
		}
		r := analysis.MannWhitney(canary, stable, analysis.KayentaDefaults)
		if r.Class == analysis.ClassNodata {
			return 0, false
		}
		score, err := analysis.KayentaScore([]analysis.ScoredMetric{{Group: "sli", Class: r.Class}}, map[string]float64{"sli": 100})
		if err == nil && analysis.KayentaVerdict(score) == analysis.Fail {
			return lifetime, true
		}
		return 0, false
	}
}

func sample(c benchCell, a, b sim.Counters) float64 {
	n := b.Requests - a.Requests
	if n <= 0 {
		return math.NaN()
	}
	if c.SLI == "latency" {
		return (b.LatencySum - a.LatencySum) / n
	}
	return (b.Errors - a.Errors) / n
}

// judgeOracle is the fixed-sample likelihood-ratio test that knows both
// bad-event ratios: by Neyman-Pearson the most powerful test of p_stable
// against p_canary rejects when the canary's bad count X over n requests
// exceeds the binomial (1 − α) quantile under p_stable. n is chosen for
// power 90% at α 1%; it tests once, when the canary has served about n
// requests (or at the horizon if that comes first). In healthy cells it
// uses the sample designed for a 1.25× regression.
func judgeOracle(c benchCell, d *benchDesign, s []sim.Scrape) (time.Duration, bool) {
	t := min(d.oracleAt, s[len(s)-1].T)
	x := at(s, t)
	n := x.Canary.Requests
	if n == 0 {
		return 0, false
	}
	if c.bad(x.Canary) > binomialCritical(n, c.BaseError, benchAlpha) {
		return t, true
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

func design(c benchCell, horizon time.Duration) *benchDesign {
	f := c.Factor
	if c.healthy() {
		f = 1.25
	}
	n := oracleSample(c.BaseError, math.Min(1, c.BaseError*f), benchAlpha, 0.9)
	secs := n / (c.RPS * c.Weight)
	steps := math.Ceil(secs / benchScrape.Seconds())
	d := &benchDesign{oracleAt: horizon + benchScrape, oracleWithin: false}
	if steps*benchScrape.Seconds() <= horizon.Seconds() {
		d.oracleAt, d.oracleWithin = time.Duration(steps)*benchScrape, true
	}
	return d
}

// Row is one judge's results in one cell: the JSON object of
// `vane bench canary --json`.
type Row struct {
	Judge     string  `json:"judge"`
	SLI       string  `json:"sli"`
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
	// OracleWithinHorizon says whether the oracle's designed sample fits
	// within the horizon in this cell.
	OracleWithinHorizon bool `json:"oracle_within_horizon"`
}

func runCell(ctx context.Context, c benchCell, ci, seeds int, horizon time.Duration, judges []benchJudge) ([]Row, error) {
	d := design(c, horizon)
	type acc struct {
		times  []float64
		detect int
		excess float64
	}
	accs := make([]acc, len(judges))
	scrapes := make([]sim.Scrape, 0, int(horizon/benchScrape))
	for seed := range seeds {
		if seed%50 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		w, err := sim.New(c.simConfig(uint64(ci)<<32 | uint64(seed)))
		if err != nil {
			return nil, err
		}
		scrapes = scrapes[:0]
		for w.Now() < horizon {
			scrapes = append(scrapes, w.Step())
		}
		for j, jd := range judges {
			if (c.SLI == "latency" && !jd.latency) || (c.SLI == "errors" && !jd.errors) {
				continue
			}
			t, ok := jd.run(c, d, scrapes)
			stop := horizon
			if ok {
				stop = t
				accs[j].detect++
				accs[j].times = append(accs[j].times, t.Seconds())
			} else {
				accs[j].times = append(accs[j].times, math.Inf(1))
			}
			x := at(scrapes, stop).Canary
			accs[j].excess += c.bad(x) - c.BaseError*x.Requests
		}
	}
	var rows []Row
	for j, jd := range judges {
		if (c.SLI == "latency" && !jd.latency) || (c.SLI == "errors" && !jd.errors) {
			continue
		}
		a := accs[j]
		rate := float64(a.detect) / float64(seeds)
		row := Row{Judge: jd.name, SLI: c.SLI, RPS: c.RPS, Weight: c.Weight, BaseError: round(c.BaseError, 6), Factor: round(c.Factor, 4),
			ExcessBadRequests: round(a.excess/float64(seeds), 2), Runs: seeds, OracleWithinHorizon: d.oracleWithin}
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
// progress, and returns one row per judge and cell.
func Run(ctx context.Context, seeds, workers int, horizon time.Duration, progress io.Writer) ([]Row, error) {
	if seeds < 1 {
		return nil, fmt.Errorf("seeds must be at least 1, got %d", seeds)
	}
	if horizon < benchInterval {
		return nil, fmt.Errorf("horizon must be at least %s, got %s", benchInterval, horizon)
	}
	workers = max(workers, 1)
	cells := benchCells()
	judges := benchJudges()
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
				rows, err := runCell(ctx, cells[ci], ci, seeds, horizon, judges)
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
				fmt.Fprintf(progress, "bench canary: %d/%d cells (%s rps=%g weight=%g base=%g factor=%.3g)\n",
					n, len(cells), cells[ci].SLI, cells[ci].RPS, cells[ci].Weight, cells[ci].BaseError, cells[ci].Factor)
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
	return rows, nil
}

func fmtRate(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(100**p, 'f', 1, 64) + "%"
}

func fmtSecs(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 0, 64) + "s"
}

// WriteTable prints one line per cell with, for every judge, its rate
// (false rollbacks in healthy cells, detections otherwise) and median time
// to rollback.
func WriteTable(out io.Writer, rows []Row) error {
	judges := benchJudges()
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight)
	hdr := []string{"sli", "rps", "weight", "base", "factor"}
	for _, j := range judges {
		hdr = append(hdr, j.name)
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t")+"\t")
	type key struct {
		sli                  string
		rps, w, base, factor float64
	}
	byCell := map[key]map[string]Row{}
	var order []key
	for _, r := range rows {
		k := key{r.SLI, r.RPS, r.Weight, r.BaseError, r.Factor}
		if byCell[k] == nil {
			byCell[k] = map[string]Row{}
			order = append(order, k)
		}
		byCell[k][r.Judge] = r
	}
	for _, k := range order {
		line := []string{k.sli, strconv.FormatFloat(k.rps, 'g', -1, 64), strconv.FormatFloat(100*k.w, 'g', -1, 64) + "%",
			strconv.FormatFloat(100*k.base, 'g', 3, 64) + "%", strconv.FormatFloat(k.factor, 'g', 3, 64)}
		for _, j := range judges {
			r, ok := byCell[k][j.name]
			if !ok {
				line = append(line, "")
				continue
			}
			rate := r.DetectionRate
			if rate == nil {
				rate = r.FalseRollbackRate
			}
			line = append(line, fmtRate(rate)+" "+fmtSecs(r.MedianDetectS))
		}
		fmt.Fprintln(tw, strings.Join(line, "\t")+"\t")
	}
	return tw.Flush()
}

// WriteSummary prints per judge: the worst and mean false-rollback
// rate over healthy cells, the mean detection rate over regression cells
// (and over the 1.25×–1.5× ones), the median over cells of its median time
// to rollback relative to the oracle's where the oracle decides within the
// horizon, and the mean excess bad requests in regression cells.
func WriteSummary(out io.Writer, rows []Row) error {
	type key struct {
		sli                  string
		rps, w, base, factor float64
	}
	oracle := map[key]Row{}
	for _, r := range rows {
		if r.Judge == "oracle" {
			oracle[key{r.SLI, r.RPS, r.Weight, r.BaseError, r.Factor}] = r
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "judge\tmax FRR\tmean FRR\tdetect (all)\tdetect (1.25-1.5x)\tdetect (5-10x)\tmedian time/oracle\tworst time/oracle\texcess bad\t")
	for _, j := range benchJudges() {
		var maxFRR, sumFRR, nFRR, sumDet, nDet, sumSmall, nSmall, sumBig, nBig, sumEx float64
		var ratios []float64
		for _, r := range rows {
			if r.Judge != j.name {
				continue
			}
			if r.FalseRollbackRate != nil {
				maxFRR = math.Max(maxFRR, *r.FalseRollbackRate)
				sumFRR += *r.FalseRollbackRate
				nFRR++
				continue
			}
			sumDet += *r.DetectionRate
			nDet++
			sumEx += r.ExcessBadRequests
			if r.SLI == "errors" && r.Factor <= 1.5 {
				sumSmall += *r.DetectionRate
				nSmall++
			}
			if r.SLI == "errors" && r.Factor >= 5 {
				sumBig += *r.DetectionRate
				nBig++
			}
			o := oracle[key{r.SLI, r.RPS, r.Weight, r.BaseError, r.Factor}]
			if o.OracleWithinHorizon && o.MedianDetectS != nil {
				if r.MedianDetectS != nil {
					ratios = append(ratios, *r.MedianDetectS / *o.MedianDetectS)
				} else {
					ratios = append(ratios, math.Inf(1))
				}
			}
		}
		slices.Sort(ratios)
		med, worst := "-", "-"
		if len(ratios) > 0 {
			med = fmtRatio(ratios[len(ratios)/2])
			worst = fmtRatio(ratios[len(ratios)-1])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t\n", j.name,
			pct(maxFRR, nFRR > 0), pct(sumFRR/nFRR, nFRR > 0), pct(sumDet/nDet, nDet > 0), pct(sumSmall/nSmall, nSmall > 0),
			pct(sumBig/nBig, nBig > 0), med, worst, sumEx/math.Max(1, nDet))
	}
	return tw.Flush()
}

func fmtRatio(x float64) string {
	if math.IsInf(x, 1) {
		return "never"
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + "x"
}

func pct(x float64, ok bool) string {
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(100*x, 'f', 1, 64) + "%"
}

// WriteCSV writes the rows as CSV with a header line.
func WriteCSV(out io.Writer, rows []Row) error {
	w := csv.NewWriter(out)
	_ = w.Write([]string{"judge", "sli", "rps", "weight", "base_error", "factor", "false_rollback_rate", "detection_rate", "median_detect_s", "p90_detect_s", "excess_bad_requests", "runs"})
	opt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{r.Judge, r.SLI, g(r.RPS), g(r.Weight), g(r.BaseError), g(r.Factor), opt(r.FalseRollbackRate), opt(r.DetectionRate),
			opt(r.MedianDetectS), opt(r.P90DetectS), g(r.ExcessBadRequests), strconv.Itoa(r.Runs)})
	}
	w.Flush()
	return w.Error()
}
