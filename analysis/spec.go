package analysis

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/internal/yamlpos"
)

// Kind selects a judge.
type Kind string

// The judges a Spec can name.
const (
	// KindSequential compares the canary with the stable version with an
	// anytime-valid sequential test (Vane's default judge).
	KindSequential Kind = "sequential"
	// KindThreshold checks one query's value against min/max with a failure
	// limit, as Flagger's thresholdRange and Argo Rollouts' conditions do.
	KindThreshold Kind = "threshold"
	// KindBurnRate fails when the canary alone burns its SLO's error budget
	// faster than the page tier allows, over a short and a long window.
	KindBurnRate Kind = "burn-rate"
	// KindMannWhitney is Kayenta's fixed-horizon Mann-Whitney judge.
	KindMannWhitney Kind = "mann-whitney"
)

// SLI selects what a sequential or burn-rate check counts as a bad event.
type SLI string

// The SLIs.
const (
	// SLIErrors counts requests whose code matches BadCodes.
	SLIErrors SLI = "errors"
	// SLILatency counts requests slower than LatencyThreshold, read from the
	// histogram's buckets.
	SLILatency SLI = "latency"
	// SLILatencyBuckets compares the whole bucket distribution (sequential
	// only): every bucket boundary is tested, with the error probability
	// split between them.
	SLILatencyBuckets SLI = "latency-buckets"
)

// Direction says which change of a metric is bad for Mann-Whitney.
type Direction string

// The directions, as Kayenta names them.
const (
	Increase Direction = "increase"
	Decrease Direction = "decrease"
	Either   Direction = "either"
)

// Judge is the configuration of one judge of one kind, as it appears in a
// rollout plan of vane.yaml: *SequentialSpec, *ThresholdSpec,
// *BurnRateSpec or *MannWhitneySpec. Each validates and completes itself;
// Spec holds one in a plan and reads and writes the `kind` field that
// selects it.
type Judge interface {
	// Kind is the kind the spec configures.
	Kind() Kind
	// Defaults sets every zero field that has a default to it.
	Defaults()
	// Validate checks the spec after defaults are applied and returns
	// every problem, each a *FieldError naming the field, joined with
	// errors.Join.
	Validate() error
	// Build binds the spec to a service and its versions and returns a
	// Check that reads through an analysis.Querier. vars.Version is the
	// canary's version and vars.Stable the baseline's; zero Window and
	// Interval take the spec's.
	Build(vars Vars) (Check, error)

	// common returns the settings every kind has.
	common() *CommonSpec
	// window returns the spec's query window, or nil for a kind without
	// one (burn-rate has its two windows).
	window() *model.Duration
	// clone returns a copy that shares nothing the copy may change.
	clone() Judge
}

// CommonSpec holds the settings every kind of judge has.
type CommonSpec struct {
	// Name identifies the check in verdicts and events; default: the kind.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Interval is the time between looks; default 15s for sequential, 1m
	// otherwise.
	Interval model.Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Timeout bounds each query; default 10s.
	Timeout model.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxSampleAge is the age beyond which the newest sample of a series a
	// query reads is stale: the look is Inconclusive (for example while
	// Prometheus, back from an outage, still answers with samples from
	// before it). Default: twice Interval, at least DefaultMaxSampleAge;
	// set it to a few scrape intervals of the series' targets.
	MaxSampleAge model.Duration `yaml:"max_sample_age,omitempty" json:"max_sample_age,omitempty"`
}

func (c *CommonSpec) defaults(k Kind) {
	if c.Name == "" {
		c.Name = string(k)
	}
	if c.Interval == 0 {
		c.Interval = defaultInterval(k)
	}
	if c.Timeout == 0 {
		c.Timeout = model.Duration(DefaultTimeout)
	}
	if c.MaxSampleAge == 0 {
		c.MaxSampleAge = max(2*c.Interval, model.Duration(DefaultMaxSampleAge))
	}
}

func defaultInterval(k Kind) model.Duration {
	if k == KindSequential {
		return model.Duration(15 * time.Second)
	}
	return model.Duration(time.Minute)
}

func (c *CommonSpec) validate(fe *fieldErrors) {
	for _, d := range []struct {
		field string
		d     model.Duration
	}{{"interval", c.Interval}, {"timeout", c.Timeout}, {"max_sample_age", c.MaxSampleAge}} {
		if d.d < 0 {
			fe.add(d.field, "must be positive, got %s", time.Duration(d.d))
		}
	}
}

// Counters are the settings of the judges that count bad events among
// requests (sequential and burn-rate).
type Counters struct {
	// SLI is what counts as bad: errors (default), latency or, for the
	// sequential judge, latency-buckets.
	SLI SLI `yaml:"sli,omitempty" json:"sli,omitempty"`
	// RequestsMetric is the request counter, e.g. http_requests_total, with
	// ServiceLabel, VersionLabel and CodeLabel labels (SLI errors).
	RequestsMetric string `yaml:"requests_metric,omitempty" json:"requests_metric,omitempty"`
	// LatencyMetric is a histogram's base name, e.g.
	// http_request_duration_seconds (SLI latency, latency-buckets).
	LatencyMetric string `yaml:"latency_metric,omitempty" json:"latency_metric,omitempty"`
	// LatencyThreshold is the `le` bucket boundary in seconds a request must
	// beat to be good (SLI latency).
	LatencyThreshold float64 `yaml:"latency_threshold,omitempty" json:"latency_threshold,omitempty"`
	// ServiceLabel, VersionLabel and CodeLabel name the labels; defaults
	// service, version, code.
	ServiceLabel string `yaml:"service_label,omitempty" json:"service_label,omitempty"`
	VersionLabel string `yaml:"version_label,omitempty" json:"version_label,omitempty"`
	CodeLabel    string `yaml:"code_label,omitempty" json:"code_label,omitempty"`
	// BadCodes is the regular expression of bad codes; default "5..", or
	// GRPCBadCodes for a grpc service (Spec.WithProtocol).
	BadCodes string `yaml:"bad_codes,omitempty" json:"bad_codes,omitempty"`
	// TotalQuery and BadQuery override the generated queries: templates
	// returning one sample each, the cumulative count of all and of bad
	// events of {{.version}} (sequential), or their ratio's parts over
	// {{.window}} (burn-rate).
	TotalQuery string `yaml:"total_query,omitempty" json:"total_query,omitempty"`
	BadQuery   string `yaml:"bad_query,omitempty" json:"bad_query,omitempty"`
}

func (c *Counters) defaults() {
	if c.SLI == "" {
		c.SLI = SLIErrors
	}
	if c.ServiceLabel == "" {
		c.ServiceLabel = "service"
	}
	if c.VersionLabel == "" {
		c.VersionLabel = "version"
	}
	if c.CodeLabel == "" {
		c.CodeLabel = "code"
	}
	if c.BadCodes == "" {
		c.BadCodes = HTTPBadCodes
	}
}

// validate checks the counter settings; bucketQuery is the sequential
// judge's bucket_query ("" for burn-rate), buckets whether the kind takes
// sli latency-buckets.
func (c *Counters) validate(fe *fieldErrors, buckets bool, bucketQuery string) {
	switch c.SLI {
	case SLIErrors:
		if c.RequestsMetric == "" && (c.TotalQuery == "" || c.BadQuery == "") {
			fe.add("requests_metric", "is required for sli errors unless total_query and bad_query are set")
		}
	case SLILatency:
		if c.LatencyMetric == "" && (c.TotalQuery == "" || c.BadQuery == "") {
			fe.add("latency_metric", "is required for sli latency unless total_query and bad_query are set")
		}
		if c.LatencyThreshold <= 0 && c.BadQuery == "" {
			fe.add("latency_threshold", "must be a positive bucket boundary in seconds for sli latency")
		}
	case SLILatencyBuckets:
		if !buckets {
			fe.add("sli", "latency-buckets is only for kind sequential")
		} else if c.LatencyMetric == "" && bucketQuery == "" {
			fe.add("latency_metric", "is required for sli latency-buckets unless bucket_query is set")
		}
	default:
		if buckets {
			fe.add("sli", "%q is not one of errors, latency, latency-buckets", c.SLI)
		} else {
			fe.add("sli", "%q is not one of errors, latency", c.SLI)
		}
	}
	if c.RequestsMetric != "" && !model.LegacyValidation.IsValidMetricName(c.RequestsMetric) {
		fe.add("requests_metric", "%q is not a metric name", c.RequestsMetric)
	}
	if c.LatencyMetric != "" && !model.LegacyValidation.IsValidMetricName(c.LatencyMetric) {
		fe.add("latency_metric", "%q is not a metric name", c.LatencyMetric)
	}
	fe.template("total_query", c.TotalQuery)
	fe.template("bad_query", c.BadQuery)
}

// SequentialSpec configures the sequential canary-vs-stable judge
// (RatioTest). The smallest useful one names the request counter, with
// `service`, `version` and `code` labels:
//
//	kind: sequential
//	requests_metric: http_requests_total
type SequentialSpec struct {
	CommonSpec `yaml:",inline"`
	Counters   `yaml:",inline"`
	// Window is the range {{.window}} a total_query or bad_query template
	// may use; default: Interval.
	Window model.Duration `yaml:"window,omitempty" json:"window,omitempty"`
	// BucketQuery overrides the generated bucket query (latency-buckets):
	// cumulative counts of {{.version}} by `le`.
	BucketQuery string `yaml:"bucket_query,omitempty" json:"bucket_query,omitempty"`
	// Alpha is the false-rollback probability; default 0.01.
	Alpha float64 `yaml:"alpha,omitempty" json:"alpha,omitempty"`
	// Tolerance is the ratio of the canary's bad-event rate to the stable
	// version's below which the canary passes early; default 1.2.
	Tolerance float64 `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
	// MinRequests is how many canary requests the judge needs before it
	// passes or fails; default 20.
	MinRequests float64 `yaml:"min_requests,omitempty" json:"min_requests,omitempty"`
	// MinBad is how many bad events (both versions together) it needs
	// before it fails; default 3.
	MinBad float64 `yaml:"min_bad,omitempty" json:"min_bad,omitempty"`
}

// Kind implements Judge.
func (*SequentialSpec) Kind() Kind { return KindSequential }

func (s *SequentialSpec) common() *CommonSpec     { return &s.CommonSpec }
func (s *SequentialSpec) window() *model.Duration { return &s.Window }
func (s *SequentialSpec) clone() Judge            { c := *s; return &c }

// Defaults implements Judge.
func (s *SequentialSpec) Defaults() {
	s.CommonSpec.defaults(KindSequential)
	s.Counters.defaults()
	if s.Window == 0 {
		s.Window = s.Interval
	}
	if s.Alpha == 0 {
		s.Alpha = DefaultAlpha
	}
	if s.Tolerance == 0 {
		s.Tolerance = DefaultTolerance
	}
	if s.MinRequests == 0 {
		s.MinRequests = DefaultMinRequests
	}
	if s.MinBad == 0 {
		s.MinBad = DefaultMinBad
	}
}

// Validate implements Judge.
func (s *SequentialSpec) Validate() error {
	d := *s
	d.Defaults()
	var fe fieldErrors
	d.CommonSpec.validate(&fe)
	fe.window(d.Window)
	d.Counters.validate(&fe, true, d.BucketQuery)
	fe.template("bucket_query", d.BucketQuery)
	if !(d.Alpha > 0 && d.Alpha < 0.5) {
		fe.add("alpha", "must be in (0, 0.5), got %v", d.Alpha)
	}
	if !(d.Tolerance > 1 && d.Tolerance <= 10) {
		fe.add("tolerance", "must be in (1, 10], got %v", d.Tolerance)
	}
	if d.MinRequests < 0 || math.IsNaN(d.MinRequests) {
		fe.add("min_requests", "must not be negative")
	}
	if d.MinBad < 0 || math.IsNaN(d.MinBad) {
		fe.add("min_bad", "must not be negative")
	}
	return fe.join()
}

// ThresholdSpec configures a check of one query's value against min/max
// with a failure limit, as Flagger's thresholdRange and Argo Rollouts'
// conditions do (Threshold).
type ThresholdSpec struct {
	CommonSpec `yaml:",inline"`
	// Window is the range {{.window}} the query aggregates over; default:
	// Interval.
	Window model.Duration `yaml:"window,omitempty" json:"window,omitempty"`
	// Query is the query template; it returns one sample.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
	// Min and Max bound the query's value (either or both).
	Min *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty" json:"max,omitempty"`
	// FailureLimit is how many failed measurements the check tolerates:
	// it fails when failures exceed it (Argo Rollouts' failureLimit;
	// Flagger's threshold N is FailureLimit N−1). Default 0.
	FailureLimit int `yaml:"failure_limit,omitempty" json:"failure_limit,omitempty"`
}

// Kind implements Judge.
func (*ThresholdSpec) Kind() Kind { return KindThreshold }

func (s *ThresholdSpec) common() *CommonSpec     { return &s.CommonSpec }
func (s *ThresholdSpec) window() *model.Duration { return &s.Window }
func (s *ThresholdSpec) clone() Judge            { c := *s; return &c }

// Defaults implements Judge.
func (s *ThresholdSpec) Defaults() {
	s.CommonSpec.defaults(KindThreshold)
	if s.Window == 0 {
		s.Window = s.Interval
	}
}

// Validate implements Judge.
func (s *ThresholdSpec) Validate() error {
	d := *s
	d.Defaults()
	var fe fieldErrors
	d.CommonSpec.validate(&fe)
	fe.window(d.Window)
	if d.Query == "" {
		fe.add("query", "is required for kind threshold")
	}
	fe.template("query", d.Query)
	if d.Min == nil && d.Max == nil {
		fe.add("min", "threshold needs min, max or both")
	}
	if d.Min != nil && d.Max != nil && *d.Min > *d.Max {
		fe.add("max", "%v is below min %v", *d.Max, *d.Min)
	}
	if d.FailureLimit < 0 {
		fe.add("failure_limit", "must not be negative, got %d", d.FailureLimit)
	}
	return fe.join()
}

// BurnRateSpec configures the canary's own burn-rate gate (BurnRateGate):
// it fails when the canary alone burns its SLO's error budget faster than
// BurnRate over both windows.
type BurnRateSpec struct {
	CommonSpec `yaml:",inline"`
	Counters   `yaml:",inline"`
	// Objective is the SLO objective as a ratio, e.g. 0.999.
	Objective float64 `yaml:"objective,omitempty" json:"objective,omitempty"`
	// ShortWindow and LongWindow are the windows; defaults 5m, 1h.
	ShortWindow model.Duration `yaml:"short_window,omitempty" json:"short_window,omitempty"`
	LongWindow  model.Duration `yaml:"long_window,omitempty" json:"long_window,omitempty"`
	// BurnRate is the factor both windows must exceed to fail; default 14.4
	// (the page tier: 2% of a 30-day budget in an hour).
	BurnRate float64 `yaml:"burn_rate,omitempty" json:"burn_rate,omitempty"`
}

// Kind implements Judge.
func (*BurnRateSpec) Kind() Kind { return KindBurnRate }

func (s *BurnRateSpec) common() *CommonSpec     { return &s.CommonSpec }
func (s *BurnRateSpec) window() *model.Duration { return nil }
func (s *BurnRateSpec) clone() Judge            { c := *s; return &c }

// Defaults implements Judge.
func (s *BurnRateSpec) Defaults() {
	s.CommonSpec.defaults(KindBurnRate)
	s.Counters.defaults()
	if s.ShortWindow == 0 {
		s.ShortWindow = model.Duration(5 * time.Minute)
	}
	if s.LongWindow == 0 {
		s.LongWindow = model.Duration(time.Hour)
	}
	if s.BurnRate == 0 {
		s.BurnRate = DefaultBurnRate
	}
}

// Validate implements Judge.
func (s *BurnRateSpec) Validate() error {
	d := *s
	d.Defaults()
	var fe fieldErrors
	d.CommonSpec.validate(&fe)
	d.Counters.validate(&fe, false, "")
	if !(d.Objective > 0 && d.Objective < 1) {
		fe.add("objective", "must be a ratio in (0, 1) such as 0.999, got %v", d.Objective)
	}
	if d.ShortWindow <= 0 || d.LongWindow <= 0 {
		fe.add("short_window", "windows must be positive")
	} else if d.ShortWindow >= d.LongWindow {
		fe.add("short_window", "%s must be shorter than long_window %s", d.ShortWindow, d.LongWindow)
	}
	if !(d.BurnRate > 0) {
		fe.add("burn_rate", "must be positive, got %v", d.BurnRate)
	}
	return fe.join()
}

// MannWhitneySpec configures Kayenta's fixed-horizon Mann-Whitney judge
// (MannWhitney, KayentaScore).
type MannWhitneySpec struct {
	CommonSpec `yaml:",inline"`
	// Window is the range {{.window}} the query aggregates over; default:
	// Interval.
	Window model.Duration `yaml:"window,omitempty" json:"window,omitempty"`
	// Query is the query template, sampled every Interval for both
	// versions.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
	// Alpha is 1−confidence; default 0.02 (Kayenta's 98% interval).
	Alpha float64 `yaml:"alpha,omitempty" json:"alpha,omitempty"`
	// Lifetime is how long the judge collects samples before it judges
	// once; default 30m.
	Lifetime model.Duration `yaml:"lifetime,omitempty" json:"lifetime,omitempty"`
	// Direction is which change fails; default increase.
	Direction Direction `yaml:"direction,omitempty" json:"direction,omitempty"`
	// AllowedIncrease and AllowedDecrease are Kayenta's meanRatio effect
	// sizes: a High classification also needs mean(canary)/mean(stable) ≥
	// AllowedIncrease; default 1 (no effect-size filter).
	AllowedIncrease float64 `yaml:"allowed_increase,omitempty" json:"allowed_increase,omitempty"`
	AllowedDecrease float64 `yaml:"allowed_decrease,omitempty" json:"allowed_decrease,omitempty"`
	// Weight is the metric's weight in a Kayenta score; default 100.
	Weight float64 `yaml:"weight,omitempty" json:"weight,omitempty"`
}

// Kind implements Judge.
func (*MannWhitneySpec) Kind() Kind { return KindMannWhitney }

func (s *MannWhitneySpec) common() *CommonSpec     { return &s.CommonSpec }
func (s *MannWhitneySpec) window() *model.Duration { return &s.Window }
func (s *MannWhitneySpec) clone() Judge            { c := *s; return &c }

// Defaults implements Judge.
func (s *MannWhitneySpec) Defaults() {
	s.CommonSpec.defaults(KindMannWhitney)
	if s.Window == 0 {
		s.Window = s.Interval
	}
	if s.Alpha == 0 {
		s.Alpha = DefaultMannWhitneyAlpha
	}
	if s.Lifetime == 0 {
		s.Lifetime = model.Duration(DefaultLifetime)
	}
	if s.Direction == "" {
		s.Direction = Increase
	}
	if s.AllowedIncrease == 0 {
		s.AllowedIncrease = 1
	}
	if s.AllowedDecrease == 0 {
		s.AllowedDecrease = 1
	}
	if s.Weight == 0 {
		s.Weight = 100
	}
}

// Validate implements Judge.
func (s *MannWhitneySpec) Validate() error {
	d := *s
	d.Defaults()
	var fe fieldErrors
	d.CommonSpec.validate(&fe)
	fe.window(d.Window)
	if d.Query == "" {
		fe.add("query", "is required for kind mann-whitney")
	}
	fe.template("query", d.Query)
	if !(d.Alpha > 0 && d.Alpha < 0.5) {
		fe.add("alpha", "must be in (0, 0.5), got %v", d.Alpha)
	}
	switch d.Direction {
	case Increase, Decrease, Either:
	default:
		fe.add("direction", "%q is not one of increase, decrease, either", d.Direction)
	}
	if d.AllowedIncrease < 1 {
		fe.add("allowed_increase", "must be at least 1, got %v", d.AllowedIncrease)
	}
	if d.AllowedDecrease > 1 || d.AllowedDecrease <= 0 {
		fe.add("allowed_decrease", "must be in (0, 1], got %v", d.AllowedDecrease)
	}
	if d.Weight <= 0 {
		fe.add("weight", "must be positive, got %v", d.Weight)
	}
	if d.Lifetime < 3*d.Interval {
		fe.add("lifetime", "%s gives fewer than 3 samples at interval %s", d.Lifetime, d.Interval)
	}
	return fe.join()
}

// kinds are the kinds of judge, in the order the documentation lists them.
var kinds = []Kind{KindSequential, KindThreshold, KindBurnRate, KindMannWhitney}

// NewJudge returns an empty spec of kind k.
func NewJudge(k Kind) (Judge, error) {
	switch k {
	case KindSequential:
		return &SequentialSpec{}, nil
	case KindThreshold:
		return &ThresholdSpec{}, nil
	case KindBurnRate:
		return &BurnRateSpec{}, nil
	case KindMannWhitney:
		return &MannWhitneySpec{}, nil
	case "":
		return nil, &FieldError{Field: KindField, Err: fmt.Errorf("is required: one of %s", kindList())}
	}
	msg := fmt.Sprintf("%q is not one of %s", k, kindList())
	names := make([]string, len(kinds))
	for i, known := range kinds {
		names[i] = string(known)
	}
	if c := yamlpos.Closest(string(k), names); c != "" {
		msg += fmt.Sprintf("; did you mean %q?", c)
	}
	return nil, &FieldError{Field: KindField, Err: errors.New(msg)}
}

func kindList() string {
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(k))
	}
	return b.String()
}

// Spec is one judge of a rollout plan: the Judge of the kind its `kind`
// field names. In YAML and JSON it is one mapping, the kind and that
// kind's own fields; a field of another kind is an error when it is read.
// The zero Spec has no judge and does not validate.
//
//	kind: sequential
//	requests_metric: http_requests_total
type Spec struct {
	Judge Judge
}

// Kind returns the judge's kind, or "" without a judge.
func (s Spec) Kind() Kind {
	if s.Judge == nil {
		return ""
	}
	return s.Judge.Kind()
}

// Common returns the settings every kind has, as written (WithDefaults
// first for the effective ones).
func (s Spec) Common() CommonSpec {
	if s.Judge == nil {
		return CommonSpec{}
	}
	return *s.Judge.common()
}

// WithDefaults returns a copy of s with every zero field that has a
// default set to it; s is left unchanged.
func (s Spec) WithDefaults() Spec {
	if s.Judge == nil {
		return s
	}
	j := s.Judge.clone()
	j.Defaults()
	return Spec{Judge: j}
}

// Validate checks the judge after defaults are applied and returns every
// problem, each a *FieldError naming the field, joined with errors.Join.
func (s Spec) Validate() error {
	if s.Judge == nil {
		_, err := NewJudge("")
		return err
	}
	return s.Judge.Validate()
}

// Build validates the judge and binds it to a service and its versions
// (see Judge.Build).
func (s Spec) Build(vars Vars) (Check, error) {
	if s.Judge == nil {
		return nil, s.Validate()
	}
	return s.Judge.Build(vars)
}

// Inherit returns s with a rollout plan's interval and max sample age
// where the judge sets none of its own (zero arguments change nothing). A
// judge that takes the plan's interval keeps the query window its kind
// would have had by default, so that a short look interval does not
// shrink what its queries aggregate over.
func (s Spec) Inherit(interval, maxSampleAge model.Duration) Spec {
	if s.Judge == nil {
		return s
	}
	j := s.Judge.clone()
	c := j.common()
	if c.Interval == 0 && interval > 0 {
		if w := j.window(); w != nil && *w == 0 {
			*w = defaultInterval(j.Kind())
		}
		c.Interval = interval
	}
	if c.MaxSampleAge == 0 && maxSampleAge > 0 {
		c.MaxSampleAge = maxSampleAge
	}
	return Spec{Judge: j}
}

// WithProtocol returns s with the defaults that depend on the service's
// protocol ("http", "http2", "grpc" or empty): the BadCodes of a counting
// judge of a grpc service default to GRPCBadCodes instead of
// HTTPBadCodes. Explicit settings are kept.
func (s Spec) WithProtocol(protocol string) Spec {
	if protocol != "grpc" || s.Judge == nil {
		return s
	}
	j := s.Judge.clone()
	var c *Counters
	switch j := j.(type) {
	case *SequentialSpec:
		c = &j.Counters
	case *BurnRateSpec:
		c = &j.Counters
	}
	if c != nil && c.BadCodes == "" {
		c.BadCodes = GRPCBadCodes
	}
	return Spec{Judge: j}
}

// Defaults used by the specs' Defaults.
const (
	DefaultAlpha            = 0.01
	DefaultMannWhitneyAlpha = 0.02
	DefaultTolerance        = 1.2
	DefaultMinRequests      = 20
	DefaultMinBad           = 3
	DefaultBurnRate         = 14.4
	DefaultTimeout          = 10 * time.Second
	DefaultLifetime         = 30 * time.Minute
)

// FieldError is a configuration error in one field of a Spec.
type FieldError struct {
	// Field is the YAML name of the field, e.g. "alpha".
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErrors collects a spec's problems.
type fieldErrors []error

func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}

// template checks a query template field, when set.
func (fe *fieldErrors) template(field, src string) {
	if src == "" {
		return
	}
	if _, err := ParseQueryTemplate(src); err != nil {
		*fe = append(*fe, &FieldError{Field: field, Err: err})
	}
}

func (fe *fieldErrors) window(w model.Duration) {
	if w < 0 {
		fe.add("window", "must be positive, got %s", time.Duration(w))
	}
}

func (fe fieldErrors) join() error { return errors.Join(fe...) }

// queries returns the total and bad query templates for counter SLIs,
// generating them from the metric names when not given. They read
// cumulative counts (sequential), or with rates, rates over {{.window}}
// (burn-rate).
func (s Counters) queries(rates bool) (total, bad *QueryTemplate, err error) {
	totalSrc, badSrc := s.TotalQuery, s.BadQuery
	sel := fmt.Sprintf(`%s="{{.service}}",%s="{{.version}}"`, s.ServiceLabel, s.VersionLabel)
	wrap := func(sel string) string {
		if rates {
			return "sum(rate(" + sel + "[{{.window}}]))"
		}
		return "sum(" + sel + ")"
	}
	switch s.SLI {
	case SLIErrors:
		if totalSrc == "" {
			totalSrc = wrap(fmt.Sprintf("%s{%s}", s.RequestsMetric, sel))
		}
		if badSrc == "" {
			// A counter series for an error code exists only once that
			// code was first served, so a version without errors has no
			// bad series: read that as 0. A version with no requests at
			// all still gives an empty total, which is Inconclusive.
			badSrc = wrap(fmt.Sprintf("%s{%s,%s=~%q}", s.RequestsMetric, sel, s.CodeLabel, s.BadCodes)) + " or vector(0)"
		}
	case SLILatency:
		if totalSrc == "" {
			totalSrc = wrap(fmt.Sprintf("%s_count{%s}", s.LatencyMetric, sel))
		}
		if badSrc == "" {
			le := strconv.FormatFloat(s.LatencyThreshold, 'g', -1, 64)
			// Slow requests are all requests minus those in the threshold's bucket.
			badSrc = wrap(fmt.Sprintf("%s_count{%s}", s.LatencyMetric, sel)) + " - " +
				wrap(fmt.Sprintf("%s_bucket{%s,le=%q}", s.LatencyMetric, sel, le))
		}
	default:
		return nil, nil, fmt.Errorf("sli %q has no counter queries", s.SLI)
	}
	if total, err = ParseQueryTemplate(totalSrc); err != nil {
		return nil, nil, &FieldError{Field: "total_query", Err: err}
	}
	if bad, err = ParseQueryTemplate(badSrc); err != nil {
		return nil, nil, &FieldError{Field: "bad_query", Err: err}
	}
	return total, bad, nil
}

// bucketQuery returns the latency-buckets query template.
func (s *SequentialSpec) bucketQuery() (*QueryTemplate, error) {
	src := s.BucketQuery
	if src == "" {
		src = fmt.Sprintf(`sum by (le) (%s_bucket{%s="{{.service}}",%s="{{.version}}"})`,
			s.LatencyMetric, s.ServiceLabel, s.VersionLabel)
	}
	qt, err := ParseQueryTemplate(src)
	if err != nil {
		return nil, &FieldError{Field: "bucket_query", Err: err}
	}
	return qt, nil
}
