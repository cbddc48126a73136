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

	"github.com/prometheus/common/model"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/bench/promstore"
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
	// Latency cells: the canary's p99 over the stable version's (its
	// median unchanged: a slower tail).
	gridLatencyFactors = []float64{1, 1.5, 2}
	// Noise models: Poisson arrivals with independent errors (the
	// sequential test's own model), and sim.Overdispersed.
	gridNoise = []string{NoisePoisson, NoiseOverdispersed}
)

// Noise model names of the rows.
const (
	NoisePoisson       = "poisson"
	NoiseOverdispersed = "overdispersed"
)

// Metric names of the rows: what regresses, and what the judges watch.
const (
	MetricErrors  = "errors"
	MetricLatency = "latency"
)

const (
	scrape = 15 * time.Second
	alpha  = 0.01
	// latencyBase is the stable version's error ratio in latency cells.
	latencyBase = 0.001
	// slowThreshold is the `le` bound, in seconds, above which Vane's
	// latency judge counts a request as bad: the bucket of the peers'
	// docs' p99 maximum (Flagger's 500 ms).
	slowThreshold = 0.5
)

// z99 is the standard normal 0.99 quantile.
var z99 = distuv.UnitNormal.Quantile(0.99)

// Cell is one scenario of the grid.
type Cell struct {
	// Metric is what regresses: errors (the canary's error ratio is
	// BaseError × Factor) or latency (its p99 is Factor × the stable
	// version's, the median unchanged; both versions' error ratio is
	// BaseError).
	Metric      string
	RPS, Weight float64
	// BaseError is the stable version's error ratio; Factor the canary's
	// regression (1 = healthy).
	BaseError, Factor float64
	Noise             string
}

func (c Cell) canaryError() float64 {
	if c.Metric == MetricLatency {
		return c.BaseError
	}
	return math.Min(1, c.BaseError*c.Factor)
}

// canaryLatency keeps the stable median and widens the log-normal so that
// the p99 is Factor times the stable one.
func (c Cell) canaryLatency() sim.Latency {
	l := sim.DefaultLatency
	if c.Metric == MetricLatency {
		l.Sigma += math.Log(c.Factor) / z99
	}
	return l
}

func (c Cell) healthy() bool { return c.Factor == 1 }

// badProbs are the true probabilities of a bad event (an error, or a
// request slower than slowThreshold) for the stable version and the canary.
func (c Cell) badProbs() (stable, canary float64) {
	if c.Metric == MetricLatency {
		return 1 - sim.DefaultLatency.CDF(slowThreshold), 1 - c.canaryLatency().CDF(slowThreshold)
	}
	return c.BaseError, c.canaryError()
}

// slowBucket is the index of slowThreshold in sim.DefaultBuckets.
var slowBucket = slices.Index(sim.DefaultBuckets, slowThreshold)

// bad returns a version's cumulative requests and bad events, as the
// oracles count them (true counters, no PromQL).
func (c Cell) bad(k sim.Counters) (req, bad float64) {
	if c.Metric == MetricLatency {
		if k.Buckets == nil {
			return 0, 0
		}
		return k.Observed, k.Slower(slowBucket)
	}
	return k.Requests, k.Errors
}

func (c Cell) simConfig(seed uint64) sim.Config {
	cfg := sim.Config{RPS: c.RPS, CanaryWeight: c.Weight, Seed: seed, Scrape: scrape,
		Stable: sim.Version{ErrorRatio: c.BaseError, Latency: sim.DefaultLatency},
		Canary: sim.Version{ErrorRatio: c.canaryError(), Latency: c.canaryLatency()}}
	if c.Noise == NoiseOverdispersed {
		cfg.Noise = sim.Overdispersed
	}
	return cfg
}

// Cells returns the grid: the error cells, then the latency cells.
func Cells() []Cell {
	var cells []Cell
	for _, nz := range gridNoise {
		for _, rps := range gridRPS {
			for _, w := range gridWeights {
				for _, b := range gridBase {
					for _, f := range gridFactors {
						cells = append(cells, Cell{Metric: MetricErrors, RPS: rps, Weight: w, BaseError: b, Factor: f, Noise: nz})
					}
				}
			}
		}
	}
	for _, nz := range gridNoise {
		for _, rps := range gridRPS {
			for _, w := range gridWeights {
				for _, f := range gridLatencyFactors {
					cells = append(cells, Cell{Metric: MetricLatency, RPS: rps, Weight: w, BaseError: latencyBase, Factor: f, Noise: nz})
				}
			}
		}
	}
	return cells
}

// Judge decides one run: the time of the rollback, or false when it never
// rolled back within the horizon (it passed, or ran out of time).
type Judge struct {
	Name string
	// Metric is the cells' metric the judge watches.
	Metric string
	// Threshold is the peer's swept threshold (NaN for judges without).
	Threshold float64
	// CadenceS is how often the judge looks, in seconds.
	CadenceS float64
	run      func(c Cell, d *design, x *runData) (time.Duration, bool)
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
	// p99 maxima in milliseconds (the healthy p99 is 404 ms; read through
	// the histogram's buckets it is about 460 ms).
	flaggerLatencySweep = []float64{500, 600, 750, 1000, 1500, 2000, 3000}
	argoLatencySweep    = []float64{500, 600, 750, 1000, 1500, 2000, 3000}
)

// Judges returns the judges in the order of the output.
func Judges() []Judge {
	var js []Judge
	for _, m := range []string{MetricErrors, MetricLatency} {
		js = append(js,
			Judge{Name: "vane", Metric: m, Threshold: math.NaN(), CadenceS: 15, run: judgeVane(m, scrape)},
			Judge{Name: "vane", Metric: m, Threshold: math.NaN(), CadenceS: 60, run: judgeVane(m, time.Minute)},
			Judge{Name: "vane", Metric: m, Threshold: math.NaN(), CadenceS: 300, run: judgeVane(m, 5*time.Minute)},
			Judge{Name: "vane-anytime", Metric: m, Threshold: math.NaN(), CadenceS: 15, run: judgeVaneAnytime(m)},
			Judge{Name: "oracle-fixed", Metric: m, Threshold: math.NaN(), CadenceS: 15, run: judgeOracleFixed},
			Judge{Name: "oracle-sprt", Metric: m, Threshold: math.NaN(), CadenceS: 15, run: judgeOracleSPRT})
	}
	for _, th := range flaggerSweep {
		cfg := FlaggerDocs
		cfg.MinSuccessRate = th
		js = append(js, Judge{Name: "flagger", Metric: MetricErrors, Threshold: th, CadenceS: cfg.Interval.Seconds(), run: judgeFlagger(cfg)})
	}
	for _, th := range flaggerLatencySweep {
		cfg := FlaggerDocsLatency
		cfg.MaxDurationMS = th
		js = append(js, Judge{Name: "flagger", Metric: MetricLatency, Threshold: th, CadenceS: cfg.Interval.Seconds(), run: judgeFlagger(cfg)})
	}
	for _, th := range argoSweep {
		cfg := ArgoDocs
		cfg.MinSuccess = th
		js = append(js, Judge{Name: "argo", Metric: MetricErrors, Threshold: th, CadenceS: cfg.Interval.Seconds(), run: judgeArgo(cfg)})
	}
	for _, th := range argoLatencySweep {
		cfg := ArgoDocsLatency
		cfg.MaxValue = th
		js = append(js, Judge{Name: "argo", Metric: MetricLatency, Threshold: th, CadenceS: cfg.Interval.Seconds(), run: judgeArgo(cfg)})
	}
	for _, m := range []string{MetricErrors, MetricLatency} {
		for _, th := range kayentaSweep {
			js = append(js, Judge{Name: "kayenta", Metric: m, Threshold: th, CadenceS: 0, run: judgeKayenta(m, th)})
		}
	}
	return js
}

// Docs' thresholds of the peers, per metric.
var docsThreshold = map[string]map[string]float64{
	MetricErrors:  {"flagger": FlaggerDocs.MinSuccessRate, "argo": ArgoDocs.MinSuccess, "kayenta": analysis.KayentaDefaults.Confidence},
	MetricLatency: {"flagger": FlaggerDocsLatency.MaxDurationMS, "argo": ArgoDocsLatency.MaxValue, "kayenta": analysis.KayentaDefaults.Confidence},
}

// vaneSpec is the analysis spec a user writes for Vane's sequential judge
// on the metric, with its defaults (α 1%, tolerance 1.2, at least 20
// canary requests and 3 bad events): errors (5xx of http_requests_total),
// or latency (requests slower than the 0.5 s bucket of
// http_request_duration_seconds).
func vaneSpec(metric string, cadence time.Duration) analysis.Spec {
	s := &analysis.SequentialSpec{CommonSpec: analysis.CommonSpec{Interval: model.Duration(cadence)}, Counters: analysis.Counters{RequestsMetric: promstore.RequestsMetric}}
	if metric == MetricLatency {
		s.SLI, s.LatencyMetric, s.LatencyThreshold = analysis.SLILatency, promstore.LatencyMetric, slowThreshold
	}
	return analysis.Spec{Judge: s}
}

func vaneVars(svc string) analysis.Vars {
	return analysis.Vars{Service: svc, Version: canaryVersion, Stable: stableVersion}
}

// judgeVane is the product's analysis.Check for vaneSpec, looking every
// cadence through Prometheus's engine, as an analysis step of the run's
// length runs it: the step's start is the run's start (its counts the
// baseline), and the look that completes the window is EvaluateLast
// (rollout's State.LastLook), where the check spends the half of α it
// keeps for a fixed-sample test (analysis.DefaultFinalShare). A pass ends
// the analysis (the canary is promoted); an inconclusive look (a failed
// scrape, stale samples) is looked past.
func judgeVane(metric string, cadence time.Duration) func(Cell, *design, *runData) (time.Duration, bool) {
	return func(_ Cell, d *design, x *runData) (time.Duration, bool) {
		check, err := vaneSpec(metric, cadence).Build(vaneVars(x.svc))
		if err != nil {
			panic(fmt.Sprintf("bench canary: vane's spec: %v", err)) // a constant spec: a bug
		}
		last, _ := check.(analysis.LastLooker)
		check.Reset(x.start)
		ctx := context.Background()
		for t := cadence; t <= d.horizon; t += cadence {
			var r analysis.Result
			if last != nil && t+cadence > d.horizon {
				r = last.EvaluateLast(ctx, x.q, x.start.Add(t))
			} else {
				r = check.Evaluate(ctx, x.q, x.start.Add(t))
			}
			switch r.Verdict {
			case analysis.Fail:
				return t, true
			case analysis.Pass:
				return 0, false
			}
		}
		return 0, false
	}
}

// judgeVaneAnytime (`vane-anytime`) is the sequential test with all of α
// for its anytime test (no final fixed-sample test), as for a window of
// unknown end: analysis.Check keeps part of α for the last look, so this
// one feeds analysis.RatioTest directly with the counts vaneSpec's queries
// read through the engine at every look.
func judgeVaneAnytime(metric string) func(Cell, *design, *runData) (time.Duration, bool) {
	return func(_ Cell, d *design, x *runData) (time.Duration, bool) {
		sel := func(v string) string { return fmt.Sprintf(`service=%q,version=%q`, x.svc, v) }
		total := func(v string) string { return fmt.Sprintf("sum(%s{%s})", promstore.RequestsMetric, sel(v)) }
		bad := func(v string) string {
			return fmt.Sprintf(`sum(%s{%s,code=~"5.."}) or vector(0)`, promstore.RequestsMetric, sel(v))
		}
		if metric == MetricLatency {
			total = func(v string) string { return fmt.Sprintf("sum(%s_count{%s})", promstore.LatencyMetric, sel(v)) }
			bad = func(v string) string {
				return fmt.Sprintf(`sum(%s_count{%s}) - sum(%s_bucket{%s,le="%g"})`, promstore.LatencyMetric, sel(v), promstore.LatencyMetric, sel(v), slowThreshold)
			}
		}
		rt, err := analysis.NewRatioTest(analysis.SequentialConfig{Alpha: alpha, Tolerance: analysis.DefaultTolerance,
			MinRequests: analysis.DefaultMinRequests, MinBad: analysis.DefaultMinBad})
		if err != nil {
			panic(fmt.Sprintf("bench canary: vane-anytime's test: %v", err))
		}
		read := func(t time.Duration) ([4]float64, bool) {
			var out [4]float64
			for i, q := range []string{total(canaryVersion), bad(canaryVersion), total(stableVersion), bad(stableVersion)} {
				v, errored := x.q.value(q, t)
				if errored || math.IsNaN(v) {
					return out, false
				}
				out[i] = v
			}
			return out, true
		}
		prev, _ := read(0)
		for t := scrape; t <= d.horizon; t += scrape {
			cur, ok := read(t)
			if !ok {
				continue
			}
			rt.Observe(analysis.Counts{CanaryRequests: cur[0] - prev[0], CanaryBad: cur[1] - prev[1],
				StableRequests: cur[2] - prev[2], StableBad: cur[3] - prev[3]})
			prev = cur
			switch rt.Decide().Verdict {
			case analysis.Fail:
				return t, true
			case analysis.Pass:
				return 0, false
			}
		}
		return 0, false
	}
}

// The peers' documented queries over the simulated series (version
// "canary" or "stable" of the run's service), with {{interval}} or the
// window given.
func successRateQuery(svc, version, window string) string {
	return fmt.Sprintf(`sum(rate(%s{service=%q,version=%q,code!~"5.."}[%s])) / sum(rate(%s{service=%q,version=%q}[%s])) * 100`,
		promstore.RequestsMetric, svc, version, window, promstore.RequestsMetric, svc, version, window)
}

// p99Query is Flagger's builtin request-duration (fluxcd/flagger
// pkg/metrics/observers, e.g. istio.go: histogram_quantile(0.99, sum(rate(
// …_bucket[{{ interval }}])) by (le))), in milliseconds.
func p99Query(svc, version, window string) string {
	return fmt.Sprintf(`histogram_quantile(0.99, sum(rate(%s_bucket{service=%q,version=%q}[%s])) by (le)) * 1000`,
		promstore.LatencyMetric, svc, version, window)
}

// argoQuery is the docs' success-rate query (features/analysis.md: the
// success ratio by irate over [5m]) on the canary's series, as the query
// reads with its service-name argument set to the canary Service of the
// docs' host-level traffic splitting (features/traffic-management/
// istio.md: a canaryService the controller points at the canary's pods).
func argoQuery(svc string) string {
	return fmt.Sprintf(`sum(irate(%s{service=%q,version=%q,code!~"5.*"}[5m])) / sum(irate(%s{service=%q,version=%q}[5m]))`,
		promstore.RequestsMetric, svc, canaryVersion, promstore.RequestsMetric, svc, canaryVersion)
}

// judgeFlagger runs the Flagger model on its builtin check over each
// tick's last interval: request-success-rate (sum(rate(non-5xx[1m])) /
// sum(rate(all[1m])) × 100) or request-duration (p99Query over 1m). The
// benchmark holds the canary's traffic at the cell's weight for every
// judge; the model's weight steps only decide when it promotes.
func judgeFlagger(cfg FlaggerConfig) func(Cell, *design, *runData) (time.Duration, bool) {
	window := fmt.Sprintf("%ds", int(cfg.Interval.Seconds()))
	return func(_ Cell, d *design, x *runData) (time.Duration, bool) {
		query := successRateQuery(x.svc, canaryVersion, window)
		if cfg.MaxDurationMS > 0 {
			query = p99Query(x.svc, canaryVersion, window)
		}
		f := NewFlagger(cfg)
		for t := cfg.Interval; t <= d.horizon; t += cfg.Interval {
			v, _ := x.q.value(query, t)
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

// judgeArgo runs the Argo model on the docs' query (argoQuery) or, for
// latency, the canary's p99 in milliseconds over the 5m interval
// (p99Query), measured at the run's start and every interval.
func judgeArgo(cfg ArgoConfig) func(Cell, *design, *runData) (time.Duration, bool) {
	return func(_ Cell, d *design, x *runData) (time.Duration, bool) {
		query := argoQuery(x.svc)
		if cfg.MaxValue > 0 {
			query = p99Query(x.svc, canaryVersion, fmt.Sprintf("%ds", int(cfg.Interval.Seconds())))
		}
		a := NewArgo(cfg)
		for t := time.Duration(0); t <= d.horizon; t += cfg.Interval {
			v, errored := x.q.value(query, t)
			switch a.Measure(v, errored) {
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
// (or p99 latency) over the whole horizon, judged once at its end; the
// single metric scores 100 or 0 against pass 95 / marginal 75.
func judgeKayenta(metric string, conf float64) func(Cell, *design, *runData) (time.Duration, bool) {
	return func(_ Cell, d *design, x *runData) (time.Duration, bool) {
		query := func(v string) string { return "1 - " + successRateQuery(x.svc, v, "1m") + " / 100" }
		if metric == MetricLatency {
			query = func(v string) string { return p99Query(x.svc, v, "1m") }
		}
		qc, qs := query(canaryVersion), query(stableVersion)
		var canary, stable []float64
		for t := time.Minute; t <= d.horizon; t += time.Minute {
			vc, _ := x.q.value(qc, t)
			vs, _ := x.q.value(qs, t)
			canary, stable = append(canary, vc), append(stable, vs)
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

// Row is one judge's results in one cell: the JSON object of
// `vane bench canary --json`.
type Row struct {
	Judge string `json:"judge"`
	// Metric is what regresses in the cell and what the judge watches:
	// errors or latency.
	Metric string `json:"metric"`
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
	// Factor is the canary's error ratio over the stable version's, or
	// (latency) its p99 over the stable version's.
	Factor float64 `json:"factor"`
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

// scenarioSeed is the seed base of a cell: the index of its poisson twin
// in the grid, so that both noise models' cells of a scenario run the same
// seeds.
func scenarioSeed(c Cell, all []Cell) uint64 {
	c.Noise = NoisePoisson
	return uint64(max(slices.Index(all, c), 0))
}

func runCell(ctx context.Context, c Cell, base uint64, seeds int, horizon time.Duration, judges []Judge) ([]Row, error) {
	d := newDesign(c, horizon)
	type acc struct {
		times  []float64
		detect int
		excess float64
	}
	var js []Judge
	for _, j := range judges {
		if j.Metric == c.Metric {
			js = append(js, j)
		}
	}
	accs := make([]acc, len(js))
	scrapes := make([]sim.Scrape, 0, int(horizon/scrape))
	pStable, _ := c.badProbs()
	cs, err := openCellStore()
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	for seed := range seeds {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		x, err := cs.simulate(c, base<<32|uint64(seed), horizon, scrapes)
		if err != nil {
			return nil, err
		}
		for j, jd := range js {
			t, ok := jd.run(c, d, x)
			stop := horizon
			if ok {
				stop = t
				accs[j].detect++
				accs[j].times = append(accs[j].times, t.Seconds())
			} else {
				accs[j].times = append(accs[j].times, math.Inf(1))
			}
			req, bad := c.bad(x.at(stop).Canary)
			accs[j].excess += bad - pStable*req
		}
		scrapes = x.s
	}
	var rows []Row
	for j, jd := range js {
		a := accs[j]
		rate := float64(a.detect) / float64(seeds)
		row := Row{Judge: jd.Name, Metric: c.Metric, Noise: c.Noise, CadenceS: jd.CadenceS, RPS: c.RPS, Weight: c.Weight, BaseError: c.BaseError, Factor: c.Factor,
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
				rows, err := runCell(ctx, cells[ci], scenarioSeed(cells[ci], all), seeds, horizon, judges)
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
				fmt.Fprintf(progress, "bench canary: %d/%d cells (%s %s rps=%g weight=%g base=%g factor=%.3g)\n",
					n, len(cells), c.Metric, c.Noise, c.RPS, c.Weight, c.BaseError, c.Factor)
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
