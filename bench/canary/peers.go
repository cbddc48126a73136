package canary

import (
	"math"
	"time"
)

// Outcome is where a peer's canary stands after a tick or measurement.
type Outcome int

// The outcomes.
const (
	Running Outcome = iota
	Promoted
	RolledBack
)

func (o Outcome) String() string {
	return [...]string{"running", "promoted", "rolled back"}[o]
}

// FlaggerConfig is a Flagger Canary's analysis (spec.analysis) with the
// builtin request-success-rate metric.
type FlaggerConfig struct {
	// Interval is analysis.interval (Flagger's default and docs: 1m).
	Interval time.Duration
	// Threshold is analysis.threshold: failed checks before rollback
	// (docs: 10 in usage/how-it-works.md, 5 in several tutorials).
	Threshold int
	// StepWeight and MaxWeight are analysis.stepWeight and maxWeight in
	// percent (docs: 5 and 50).
	StepWeight, MaxWeight float64
	// MinSuccessRate is request-success-rate's thresholdRange.min in
	// percent (docs: 99).
	MinSuccessRate float64
	// MaxDurationMS, when positive, makes the check Flagger's builtin
	// request-duration instead: the p99 in milliseconds, truncated to a
	// whole millisecond as Flagger's observers return it, must not exceed
	// thresholdRange.max (docs: 500).
	MaxDurationMS float64
}

// passes is Flagger's thresholdRange check (scheduler_metrics.go): a
// value below min or above max fails, and so does no value (NaN).
func (cfg FlaggerConfig) passes(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if cfg.MaxDurationMS > 0 {
		return math.Trunc(v) <= cfg.MaxDurationMS
	}
	return v >= cfg.MinSuccessRate
}

// FlaggerDocs is the analysis of Flagger's docs/gitbook/usage/how-it-works.md:
// interval 1m, threshold 10, maxWeight 50, stepWeight 5,
// request-success-rate min 99 over 1m.
var FlaggerDocs = FlaggerConfig{Interval: time.Minute, Threshold: 10, StepWeight: 5, MaxWeight: 50, MinSuccessRate: 99}

// FlaggerDocsLatency is the same analysis with the docs' request-duration
// check (thresholdRange max 500 ms over 1m) instead.
var FlaggerDocsLatency = FlaggerConfig{Interval: time.Minute, Threshold: 10, StepWeight: 5, MaxWeight: 50, MaxDurationMS: 500}

// Flagger is a pure model of Flagger's canary scheduler (fluxcd/flagger
// pkg/controller/scheduler.go, advanceCanary and runCanary;
// scheduler_metrics.go, runMetricChecks). On every tick (each Interval):
//
//  1. once FailedChecks ≥ Threshold the canary is rolled back, before
//     anything else runs;
//  2. on the first tick (weight 0, no iteration yet) the analysis does not
//     run: the weight is set to StepWeight;
//  3. otherwise the metric checks run: a value below the range, or no
//     value (Flagger's "no values found", which is what Prometheus's NaN
//     from 0/0 becomes), fails the check, increments FailedChecks (never
//     reset during the canary) and holds the weight;
//  4. a passing check raises the weight by StepWeight up to MaxWeight;
//     a passing check at MaxWeight promotes the canary.
type Flagger struct {
	Config       FlaggerConfig
	Weight       float64
	FailedChecks int
	Iterations   int
	Outcome      Outcome
}

// NewFlagger returns a canary at weight 0 that has not started.
func NewFlagger(cfg FlaggerConfig) *Flagger { return &Flagger{Config: cfg} }

// Tick runs one scheduler tick; value is the metric's value at this tick
// (the success rate in percent, or the p99 in milliseconds; NaN when the
// query found no values). It returns the outcome after the tick.
func (f *Flagger) Tick(value float64) Outcome {
	if f.Outcome != Running {
		return f.Outcome
	}
	if f.FailedChecks >= f.Config.Threshold {
		f.Outcome = RolledBack
		return f.Outcome
	}
	if f.Weight == 0 && f.Iterations == 0 {
		f.Iterations++
		f.Weight = f.Config.StepWeight
		return f.Outcome
	}
	f.Iterations++
	if !f.Config.passes(value) {
		f.FailedChecks++
		return f.Outcome
	}
	if f.Weight < f.Config.MaxWeight {
		f.Weight = math.Min(f.Config.MaxWeight, f.Weight+f.Config.StepWeight)
		return f.Outcome
	}
	f.Outcome = Promoted
	return f.Outcome
}

// ArgoConfig is an Argo Rollouts AnalysisTemplate metric with a Prometheus
// provider and successCondition `result[0] >= MinSuccess`.
type ArgoConfig struct {
	// Interval between measurements (docs' example: 5m).
	Interval time.Duration
	// Count is the number of measurements after which the run succeeds;
	// 0 runs until the rollout ends (a background analysis).
	Count int
	// FailureLimit: the metric fails once failed measurements exceed it
	// (default 0; docs' example 3).
	FailureLimit int
	// ConsecutiveErrorLimit: the metric errors once consecutive errored
	// measurements exceed it (default 4).
	ConsecutiveErrorLimit int
	// MinSuccess is the success ratio the condition requires (docs'
	// example 0.95).
	MinSuccess float64
	// MaxValue, when positive, makes the condition `result[0] <= MaxValue`
	// instead (a latency metric; the docs' range-query example requires
	// values under 1000 ms).
	MaxValue float64
}

// passes is the successCondition; NaN fails either form.
func (cfg ArgoConfig) passes(v float64) bool {
	if cfg.MaxValue > 0 {
		return v <= cfg.MaxValue
	}
	return v >= cfg.MinSuccess
}

// ArgoDocs is the AnalysisTemplate of Argo Rollouts' docs/features/analysis.md:
// interval 5m, successCondition result[0] >= 0.95, failureLimit 3, the
// default consecutiveErrorLimit 4, no count (background analysis).
var ArgoDocs = ArgoConfig{Interval: 5 * time.Minute, FailureLimit: 3, ConsecutiveErrorLimit: 4, MinSuccess: 0.95}

// ArgoDocsLatency is that template with a latency metric: the p99 in
// milliseconds must be at most 1000, the bound of the docs' latency
// example (analysis/prometheus.md, "Range queries": `all(result, # < 1000)`).
var ArgoDocsLatency = ArgoConfig{Interval: 5 * time.Minute, FailureLimit: 3, ConsecutiveErrorLimit: 4, MaxValue: 1000}

// Argo is a pure model of an AnalysisRun with one metric (argoproj/
// argo-rollouts analysis/analysis.go, assessMetricStatus and
// runMeasurements; pkg/apis/rollouts/v1alpha1/analysis_types.go):
// measurements are taken at the run's start and every Interval after; a
// value failing the successCondition, NaN included (NaN ≥ x is false;
// the docs' `isNaN(result[0]) ||` idiom exists for this), is a Failed
// measurement; a query that returns no series is an Error. The metric,
// and with it the run, fails when failed measurements exceed FailureLimit
// or consecutive errors exceed ConsecutiveErrorLimit; the rollout aborts
// at once. It succeeds after Count measurements.
type Argo struct {
	Config            ArgoConfig
	Measurements      int
	Failed            int
	ConsecutiveErrors int
	Outcome           Outcome
}

// NewArgo returns a run that has taken no measurement.
func NewArgo(cfg ArgoConfig) *Argo { return &Argo{Config: cfg} }

// Measure records one measurement: the query's value, or errored when it
// returned no series. It returns the outcome after it.
func (a *Argo) Measure(value float64, errored bool) Outcome {
	if a.Outcome != Running {
		return a.Outcome
	}
	a.Measurements++
	switch {
	case errored:
		a.ConsecutiveErrors++
		if a.ConsecutiveErrors > a.Config.ConsecutiveErrorLimit {
			a.Outcome = RolledBack
		}
	case !a.Config.passes(value):
		a.ConsecutiveErrors = 0
		a.Failed++
		if a.Failed > a.Config.FailureLimit {
			a.Outcome = RolledBack
		}
	default:
		a.ConsecutiveErrors = 0
	}
	if a.Outcome == Running && a.Config.Count > 0 && a.Measurements >= a.Config.Count {
		a.Outcome = Promoted
	}
	return a.Outcome
}
