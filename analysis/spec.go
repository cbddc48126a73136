package analysis

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
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

// Duration is a time.Duration written as a Prometheus duration string
// ("30s", "5m", "1h30m", "1d") in YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as Prometheus does.
func (d Duration) String() string { return model.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	p, err := model.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", string(b), err)
	}
	*d = Duration(p)
	return nil
}

// Spec configures one analysis check as it appears in a rollout plan of
// vane.yaml. Fields that do not apply to Kind must be left empty. Zero
// values take the defaults documented on each field (see WithDefaults).
//
// The smallest useful spec enables the sequential judge on a request
// counter with `version` and `code` labels:
//
//	kind: sequential
//	requests_metric: http_requests_total
type Spec struct {
	// Name identifies the check in verdicts and events; default: the kind.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Kind selects the judge: sequential, threshold, burn-rate or mann-whitney.
	Kind Kind `yaml:"kind" json:"kind"`
	// Interval is the time between looks; default 15s for sequential, 1m
	// otherwise.
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	// Timeout bounds each query; default 10s.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxSampleAge is the age beyond which the newest sample of a series a
	// query reads is stale: the look is Inconclusive (for example while
	// Prometheus, back from an outage, still answers with samples from
	// before it). Default: twice Interval, at least DefaultMaxSampleAge;
	// set it to a few scrape intervals of the series' targets.
	MaxSampleAge Duration `yaml:"max_sample_age,omitempty" json:"max_sample_age,omitempty"`
	// Window is the range {{.window}} a threshold query aggregates over;
	// default: Interval.
	Window Duration `yaml:"window,omitempty" json:"window,omitempty"`

	// SLI is what counts as bad (sequential, burn-rate): errors (default),
	// latency or latency-buckets.
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
	// BadCodes is the regular expression of bad codes; default "5..".
	BadCodes string `yaml:"bad_codes,omitempty" json:"bad_codes,omitempty"`
	// TotalQuery and BadQuery override the generated queries: templates
	// returning one sample each, the cumulative count of all and of bad
	// events of {{.version}} (sequential), or their ratio's parts over
	// {{.window}} (burn-rate).
	TotalQuery string `yaml:"total_query,omitempty" json:"total_query,omitempty"`
	BadQuery   string `yaml:"bad_query,omitempty" json:"bad_query,omitempty"`
	// BucketQuery overrides the generated bucket query (latency-buckets):
	// cumulative counts of {{.version}} by `le`.
	BucketQuery string `yaml:"bucket_query,omitempty" json:"bucket_query,omitempty"`

	// Alpha is the sequential judge's false-rollback probability, or
	// 1−confidence for Mann-Whitney; default 0.01 (sequential), 0.02
	// (Mann-Whitney, Kayenta's 98% interval).
	Alpha float64 `yaml:"alpha,omitempty" json:"alpha,omitempty"`
	// Tolerance is the ratio of the canary's bad-event rate to the stable
	// version's below which the canary passes early; default 1.2.
	Tolerance float64 `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
	// MinRequests is how many canary requests the sequential judge needs
	// before it passes or fails; default 20.
	MinRequests float64 `yaml:"min_requests,omitempty" json:"min_requests,omitempty"`
	// MinBad is how many bad events (both versions together) it needs
	// before it fails; default 3.
	MinBad float64 `yaml:"min_bad,omitempty" json:"min_bad,omitempty"`

	// Query is the threshold or Mann-Whitney query template.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
	// Min and Max bound the threshold query's value (either or both).
	Min *float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max *float64 `yaml:"max,omitempty" json:"max,omitempty"`
	// FailureLimit is how many failed measurements a threshold check
	// tolerates: it fails when failures exceed it (Argo Rollouts'
	// failureLimit; Flagger's threshold N is FailureLimit N−1). Default 0.
	FailureLimit int `yaml:"failure_limit,omitempty" json:"failure_limit,omitempty"`

	// Objective is the SLO objective as a ratio, e.g. 0.999 (burn-rate).
	Objective float64 `yaml:"objective,omitempty" json:"objective,omitempty"`
	// ShortWindow and LongWindow are the burn-rate windows; defaults 5m, 1h.
	ShortWindow Duration `yaml:"short_window,omitempty" json:"short_window,omitempty"`
	LongWindow  Duration `yaml:"long_window,omitempty" json:"long_window,omitempty"`
	// BurnRate is the factor both windows must exceed to fail; default 14.4
	// (the page tier: 2% of a 30-day budget in an hour).
	BurnRate float64 `yaml:"burn_rate,omitempty" json:"burn_rate,omitempty"`

	// Lifetime is how long Mann-Whitney collects samples before it judges
	// once; default 30m.
	Lifetime Duration `yaml:"lifetime,omitempty" json:"lifetime,omitempty"`
	// Direction is which change fails (Mann-Whitney); default increase.
	Direction Direction `yaml:"direction,omitempty" json:"direction,omitempty"`
	// AllowedIncrease and AllowedDecrease are Kayenta's meanRatio effect
	// sizes: a High classification also needs mean(canary)/mean(stable) ≥
	// AllowedIncrease; default 1 (no effect-size filter).
	AllowedIncrease float64 `yaml:"allowed_increase,omitempty" json:"allowed_increase,omitempty"`
	AllowedDecrease float64 `yaml:"allowed_decrease,omitempty" json:"allowed_decrease,omitempty"`
	// Weight is the metric's weight in a Kayenta score; default 100.
	Weight float64 `yaml:"weight,omitempty" json:"weight,omitempty"`
}

// Defaults used by WithDefaults.
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

// WithDefaults returns a copy of s with every zero field that has a default
// set to it.
func (s Spec) WithDefaults() Spec {
	if s.Name == "" {
		s.Name = string(s.Kind)
	}
	if s.Interval == 0 {
		if s.Kind == KindSequential {
			s.Interval = Duration(15 * time.Second)
		} else {
			s.Interval = Duration(time.Minute)
		}
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultTimeout)
	}
	if s.MaxSampleAge == 0 {
		s.MaxSampleAge = max(2*s.Interval, Duration(DefaultMaxSampleAge))
	}
	if s.Window == 0 {
		s.Window = s.Interval
	}
	if s.ServiceLabel == "" {
		s.ServiceLabel = "service"
	}
	if s.VersionLabel == "" {
		s.VersionLabel = "version"
	}
	if s.CodeLabel == "" {
		s.CodeLabel = "code"
	}
	if s.BadCodes == "" {
		s.BadCodes = "5.."
	}
	switch s.Kind {
	case KindSequential, KindBurnRate:
		if s.SLI == "" {
			s.SLI = SLIErrors
		}
	}
	switch s.Kind {
	case KindSequential:
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
	case KindBurnRate:
		if s.ShortWindow == 0 {
			s.ShortWindow = Duration(5 * time.Minute)
		}
		if s.LongWindow == 0 {
			s.LongWindow = Duration(time.Hour)
		}
		if s.BurnRate == 0 {
			s.BurnRate = DefaultBurnRate
		}
	case KindMannWhitney:
		if s.Alpha == 0 {
			s.Alpha = DefaultMannWhitneyAlpha
		}
		if s.Lifetime == 0 {
			s.Lifetime = Duration(DefaultLifetime)
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
	return s
}

// FieldError is a configuration error in one field of a Spec.
type FieldError struct {
	// Field is the YAML name of the field, e.g. "alpha".
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks the spec after defaults are applied and returns every
// problem, each a *FieldError naming the field, joined with errors.Join.
func (s Spec) Validate() error {
	s = s.WithDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	tmpl := func(field, src string) {
		if src == "" {
			return
		}
		if _, err := ParseQueryTemplate(src); err != nil {
			errs = append(errs, &FieldError{Field: field, Err: err})
		}
	}
	notFor := func(field string, set bool) {
		if set {
			bad(field, "does not apply to kind %s", s.Kind)
		}
	}
	if s.Interval < 0 {
		bad("interval", "must be positive, got %s", s.Interval.D())
	}
	if s.Timeout < 0 {
		bad("timeout", "must be positive, got %s", s.Timeout.D())
	}
	if s.MaxSampleAge < 0 {
		bad("max_sample_age", "must be positive, got %s", s.MaxSampleAge.D())
	}
	if s.Window < 0 {
		bad("window", "must be positive, got %s", s.Window.D())
	}
	counters := func() {
		switch s.SLI {
		case SLIErrors:
			if s.RequestsMetric == "" && (s.TotalQuery == "" || s.BadQuery == "") {
				bad("requests_metric", "is required for sli errors unless total_query and bad_query are set")
			}
		case SLILatency:
			if s.LatencyMetric == "" && (s.TotalQuery == "" || s.BadQuery == "") {
				bad("latency_metric", "is required for sli latency unless total_query and bad_query are set")
			}
			if s.LatencyThreshold <= 0 && s.BadQuery == "" {
				bad("latency_threshold", "must be a positive bucket boundary in seconds for sli latency")
			}
		case SLILatencyBuckets:
			if s.Kind != KindSequential {
				bad("sli", "latency-buckets is only for kind sequential")
			}
			if s.LatencyMetric == "" && s.BucketQuery == "" {
				bad("latency_metric", "is required for sli latency-buckets unless bucket_query is set")
			}
		default:
			bad("sli", "%q is not one of errors, latency, latency-buckets", s.SLI)
		}
		if s.RequestsMetric != "" && !model.LegacyValidation.IsValidMetricName(s.RequestsMetric) {
			bad("requests_metric", "%q is not a metric name", s.RequestsMetric)
		}
		if s.LatencyMetric != "" && !model.LegacyValidation.IsValidMetricName(s.LatencyMetric) {
			bad("latency_metric", "%q is not a metric name", s.LatencyMetric)
		}
		tmpl("total_query", s.TotalQuery)
		tmpl("bad_query", s.BadQuery)
		tmpl("bucket_query", s.BucketQuery)
	}
	switch s.Kind {
	case KindSequential:
		counters()
		if !(s.Alpha > 0 && s.Alpha < 0.5) {
			bad("alpha", "must be in (0, 0.5), got %v", s.Alpha)
		}
		if !(s.Tolerance > 1 && s.Tolerance <= 10) {
			bad("tolerance", "must be in (1, 10], got %v", s.Tolerance)
		}
		if s.MinRequests < 0 || math.IsNaN(s.MinRequests) {
			bad("min_requests", "must not be negative")
		}
		if s.MinBad < 0 || math.IsNaN(s.MinBad) {
			bad("min_bad", "must not be negative")
		}
		notFor("query", s.Query != "")
		notFor("min", s.Min != nil)
		notFor("max", s.Max != nil)
		notFor("objective", s.Objective != 0)
	case KindThreshold:
		if s.Query == "" {
			bad("query", "is required for kind threshold")
		}
		tmpl("query", s.Query)
		if s.Min == nil && s.Max == nil {
			bad("min", "threshold needs min, max or both")
		}
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			bad("max", "%v is below min %v", *s.Max, *s.Min)
		}
		if s.FailureLimit < 0 {
			bad("failure_limit", "must not be negative, got %d", s.FailureLimit)
		}
		notFor("alpha", s.Alpha != 0)
		notFor("requests_metric", s.RequestsMetric != "")
	case KindBurnRate:
		counters()
		if !(s.Objective > 0 && s.Objective < 1) {
			bad("objective", "must be a ratio in (0, 1) such as 0.999, got %v", s.Objective)
		}
		if s.ShortWindow <= 0 || s.LongWindow <= 0 {
			bad("short_window", "windows must be positive")
		} else if s.ShortWindow >= s.LongWindow {
			bad("short_window", "%s must be shorter than long_window %s", s.ShortWindow, s.LongWindow)
		}
		if !(s.BurnRate > 0) {
			bad("burn_rate", "must be positive, got %v", s.BurnRate)
		}
		notFor("query", s.Query != "")
	case KindMannWhitney:
		if s.Query == "" {
			bad("query", "is required for kind mann-whitney")
		}
		tmpl("query", s.Query)
		if !(s.Alpha > 0 && s.Alpha < 0.5) {
			bad("alpha", "must be in (0, 0.5), got %v", s.Alpha)
		}
		switch s.Direction {
		case Increase, Decrease, Either:
		default:
			bad("direction", "%q is not one of increase, decrease, either", s.Direction)
		}
		if s.AllowedIncrease < 1 {
			bad("allowed_increase", "must be at least 1, got %v", s.AllowedIncrease)
		}
		if s.AllowedDecrease > 1 || s.AllowedDecrease <= 0 {
			bad("allowed_decrease", "must be in (0, 1], got %v", s.AllowedDecrease)
		}
		if s.Weight <= 0 {
			bad("weight", "must be positive, got %v", s.Weight)
		}
		if s.Lifetime < 3*s.Interval {
			bad("lifetime", "%s gives fewer than 3 samples at interval %s", s.Lifetime, s.Interval)
		}
	case "":
		bad("kind", "is required: one of sequential, threshold, burn-rate, mann-whitney")
	default:
		bad("kind", "%q is not one of sequential, threshold, burn-rate, mann-whitney", s.Kind)
	}
	return errors.Join(errs...)
}

// queries returns the spec's total and bad query templates for counter
// SLIs, generating them from the metric names when not given. For sequential
// checks they read cumulative counts; for burn-rate checks, rates over
// {{.window}}.
func (s Spec) queries() (total, bad *QueryTemplate, err error) {
	totalSrc, badSrc := s.TotalQuery, s.BadQuery
	sel := fmt.Sprintf(`%s="{{.service}}",%s="{{.version}}"`, s.ServiceLabel, s.VersionLabel)
	wrap := func(sel string) string {
		if s.Kind == KindBurnRate {
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
func (s Spec) bucketQuery() (*QueryTemplate, error) {
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
