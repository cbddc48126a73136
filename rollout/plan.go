package rollout

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/internal/yamlpos"
	"github.com/vaneproj/vane/slo"
	"github.com/vaneproj/vane/traffic"
)

// Strategy names how a plan exposes the canary.
type Strategy string

// The strategies.
const (
	// Canary shifts a growing share of requests to the canary.
	Canary Strategy = "canary"
	// BlueGreen keeps the canary at 0% of the weighted traffic, judges it
	// on header-routed requests, then switches 100% at once.
	BlueGreen Strategy = "blue-green"
)

// InconclusiveAction is what a rollout does once its judges have been
// inconclusive more times in a row than the plan allows.
type InconclusiveAction string

// The inconclusive actions.
const (
	// Hold keeps the current step (and weight) until the data comes back
	// or an operator promotes or aborts.
	Hold InconclusiveAction = "hold"
	// Rollback rolls the canary back.
	Rollback InconclusiveAction = "rollback"
)

// Defaults of a plan. Every field of Plan documents its default.
const (
	DefaultAnalysisInterval  = 15 * time.Second
	DefaultAnalysisDuration  = 2 * time.Minute
	DefaultInconclusiveLimit = 3
	DefaultProgressDeadline  = 10 * time.Minute
	DefaultWebhookTimeout    = 10 * time.Second
	DefaultPreviewHeader     = "x-vane-preview"
)

// Plan is a service's rollout plan: the `rollout` section of a service in
// vane.yaml. The zero Plan, after WithDefaults, is the canary plan
// 5% → 25% → 50% → promote with an analysis step after every weight.
type Plan struct {
	// Strategy is canary (default) or blue-green.
	Strategy Strategy `json:"strategy,omitempty" yaml:"strategy,omitempty"`
	// Steps run in order; promote, when not the last step written, is
	// implied after the last one. Default (canary): weight 5, analysis,
	// weight 25, analysis, weight 50, analysis, promote. Default
	// (blue-green): headers {x-vane-preview: "true"}, analysis, promote.
	Steps []PlanStep `json:"steps,omitempty" yaml:"steps,omitempty"`
	// Analysis configures the judges that run while the canary takes traffic.
	Analysis Analysis `json:"analysis" yaml:"analysis,omitempty"`
	// OnInconclusive is hold (default) or rollback: what happens once more
	// than InconclusiveLimit looks in a row were inconclusive (no data, NaN,
	// query errors).
	OnInconclusive InconclusiveAction `json:"on_inconclusive,omitempty" yaml:"on_inconclusive,omitempty"`
	// InconclusiveLimit is the number of inconclusive looks in a row that
	// are tolerated (default 3).
	InconclusiveLimit *int `json:"inconclusive_limit,omitempty" yaml:"inconclusive_limit,omitempty"`
	// ProgressDeadline rolls back a step (other than a pause) that has not
	// completed within it (default 10m). It must exceed every analysis step.
	ProgressDeadline model.Duration `json:"progress_deadline,omitempty" yaml:"progress_deadline,omitempty"`
	// MinTraffic keeps an analysis from passing on too few canary requests.
	MinTraffic MinTraffic `json:"min_traffic" yaml:"min_traffic,omitempty"`
	// BudgetGate freezes the rollout while the service's SLO error budget is
	// below a floor (off when SLO is empty).
	BudgetGate BudgetGate `json:"budget_gate" yaml:"budget_gate,omitempty"`
	// Webhooks are called around the rollout and on each decision.
	Webhooks Webhooks `json:"webhooks" yaml:"webhooks,omitempty"`
}

// Analysis configures the judges.
type Analysis struct {
	// Interval is the time between two looks (default 15s). It governs
	// every judge that does not set its own interval; a judge's own
	// interval overrides it for that judge.
	Interval model.Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	// MaxSampleAge is the age beyond which the newest sample a judge reads
	// is stale and its look Inconclusive, for every judge that does not
	// set its own (default: twice the judge's interval, at least 30s). Set
	// it to a few scrape intervals of the services' targets.
	MaxSampleAge model.Duration `json:"max_sample_age,omitempty" yaml:"max_sample_age,omitempty"`
	// RequestsMetric, when Judges is empty, enables the sequential
	// canary-vs-stable judge on this request counter (labels service,
	// version, code; 5xx codes are bad).
	RequestsMetric string `json:"requests_metric,omitempty" yaml:"requests_metric,omitempty"`
	// Judges are the checks run at every look (see analysis.Spec).
	Judges []analysis.Spec `json:"judges,omitempty" yaml:"judges,omitempty"`
	// VersionLabelValues maps a version's name to the value its metrics
	// carry in the judges' version label, when the two differ (default:
	// the name), so that deployments need not be renamed to match.
	VersionLabelValues map[string]string `json:"version_label_values,omitempty" yaml:"version_label_values,omitempty"`
}

// LabelValue returns the value of the judges' version label for version.
func (a Analysis) LabelValue(version string) string {
	if v := a.VersionLabelValues[version]; v != "" {
		return v
	}
	return version
}

// Specs returns the judges' specs: Judges, or the default sequential judge
// on RequestsMetric, each with its effective interval: its own, else
// Interval (when set). A judge that takes Interval keeps the query window
// its kind would have had by default, so that a short look interval does
// not shrink what its queries aggregate over.
func (a Analysis) Specs() []analysis.Spec {
	specs := a.Judges
	if len(specs) == 0 && a.RequestsMetric != "" {
		specs = []analysis.Spec{{Judge: &analysis.SequentialSpec{Counters: analysis.Counters{RequestsMetric: a.RequestsMetric}}}}
	}
	out := make([]analysis.Spec, 0, len(specs))
	for _, s := range specs {
		out = append(out, s.Inherit(model.Duration(a.Interval), model.Duration(a.MaxSampleAge)))
	}
	return out
}

// LookInterval is the time between two looks of the rollout's controller:
// the shortest effective interval of its judges, or Interval (default 15s)
// without judges. A judge whose interval is longer reuses its last result
// until its own interval has passed.
func (a Analysis) LookInterval() time.Duration {
	d := time.Duration(a.Interval)
	if d <= 0 {
		d = DefaultAnalysisInterval
	}
	for _, s := range a.Specs() {
		if i := time.Duration(s.WithDefaults().Common().Interval); i > 0 && i < d {
			d = i
		}
	}
	return d
}

// MinTraffic is the minimum traffic guard: an analysis step cannot pass
// before Query reports at least Requests canary requests since the
// analysis started. Query is a template over {{.service}}, {{.version}} and
// {{.window}} (the time since the analysis started, e.g. "93s").
type MinTraffic struct {
	// Requests is the minimum (default 0: no guard).
	Requests float64 `json:"requests,omitempty" yaml:"requests,omitempty"`
	// Query counts the canary's requests (required when Requests > 0).
	Query string `json:"query,omitempty" yaml:"query,omitempty"`
}

// BudgetGate is the error-budget gate (a deploy freeze).
type BudgetGate struct {
	// SLO names the service's SLO whose remaining budget is read.
	SLO string `json:"slo,omitempty" yaml:"slo,omitempty"`
	// Floor is the minimum budget remaining, as a ratio in [0,1] (default
	// 0 when SLO is set: only an exhausted budget freezes).
	Floor float64 `json:"floor,omitempty" yaml:"floor,omitempty"`
}

// Enabled reports whether the gate is configured.
func (g BudgetGate) Enabled() bool { return g.SLO != "" }

// Webhooks are the rollout's HTTP hooks.
type Webhooks struct {
	// PreRollout is called before the first step; a failure aborts the
	// rollout before any weight moves.
	PreRollout *Webhook `json:"pre_rollout,omitempty" yaml:"pre_rollout,omitempty"`
	// PrePromote is called before promotion; a failure pauses the rollout
	// with the reason (resume retries it).
	PrePromote *Webhook `json:"pre_promote,omitempty" yaml:"pre_promote,omitempty"`
	// PostRollout is called once the rollout succeeded or was aborted.
	PostRollout *Webhook `json:"post_rollout,omitempty" yaml:"post_rollout,omitempty"`
	// Notify receives every decision as Slack-compatible JSON ({"text": …}).
	Notify *Webhook `json:"notify,omitempty" yaml:"notify,omitempty"`
}

// Webhook is one HTTP POST target.
type Webhook struct {
	URL string `json:"url" yaml:"url"`
	// Timeout bounds the call (default 10s).
	Timeout model.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// HookName names a webhook.
type HookName string

// The hooks.
const (
	HookPreRollout  HookName = "pre_rollout"
	HookPrePromote  HookName = "pre_promote"
	HookPostRollout HookName = "post_rollout"
)

// Hook returns the configured webhook of that name, or nil.
func (w Webhooks) Hook(n HookName) *Webhook {
	switch n {
	case HookPreRollout:
		return w.PreRollout
	case HookPrePromote:
		return w.PrePromote
	case HookPostRollout:
		return w.PostRollout
	}
	return nil
}

// PlanStep is one step of a plan; exactly one of its fields is set.
//
// In YAML: `- weight: 5`, `- pause: {duration: 10m}`, `- pause: {}` (until
// promoted), `- analysis: {duration: 5m}`, `- headers: {x-canary: "1"}`,
// `- promote`.
type PlanStep struct {
	// Weight sends that percentage of requests to the canary.
	Weight *int `json:"weight,omitempty" yaml:"weight,omitempty"`
	// Pause waits for its duration, or until promoted when it is 0.
	Pause *Pause `json:"pause,omitempty" yaml:"pause,omitempty"`
	// Analysis runs the judges until they all pass, one fails, or the
	// duration ends.
	Analysis *AnalysisStep `json:"analysis,omitempty" yaml:"analysis,omitempty"`
	// Headers sends requests with these headers to the canary (A/B).
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Promote sends 100% to the canary, which then becomes the stable version.
	Promote bool `json:"promote,omitempty" yaml:"promote,omitempty"`
}

// Pause is a pause step.
type Pause struct {
	Duration model.Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
}

// AnalysisStep is an analysis step.
type AnalysisStep struct {
	// Duration bounds the step (default 2m).
	Duration model.Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
}

// WeightStep returns a weight step.
func WeightStep(w int) PlanStep { return PlanStep{Weight: &w} }

// AnalysisFor returns an analysis step of duration d.
func AnalysisFor(d time.Duration) PlanStep {
	return PlanStep{Analysis: &AnalysisStep{Duration: model.Duration(d)}}
}

// PauseFor returns a pause step; 0 pauses until promoted.
func PauseFor(d time.Duration) PlanStep { return PlanStep{Pause: &Pause{Duration: model.Duration(d)}} }

// PromoteStep returns a promote step.
func PromoteStep() PlanStep { return PlanStep{Promote: true} }

// String describes the step in a few words.
func (s PlanStep) String() string {
	switch {
	case s.Weight != nil:
		return fmt.Sprintf("weight %d%%", *s.Weight)
	case s.Pause != nil && s.Pause.Duration == 0:
		return "pause until promoted"
	case s.Pause != nil:
		return "pause " + s.Pause.Duration.String()
	case s.Analysis != nil:
		return "analysis " + s.Analysis.Duration.String()
	case s.Headers != nil:
		keys := make([]string, 0, len(s.Headers))
		for k, v := range s.Headers {
			keys = append(keys, k+"="+v)
		}
		sort.Strings(keys)
		return "headers " + strings.Join(keys, ",")
	case s.Promote:
		return "promote"
	}
	return "empty step"
}

func (s PlanStep) kinds() []string {
	var k []string
	if s.Weight != nil {
		k = append(k, "weight")
	}
	if s.Pause != nil {
		k = append(k, "pause")
	}
	if s.Analysis != nil {
		k = append(k, "analysis")
	}
	if s.Headers != nil {
		k = append(k, "headers")
	}
	if s.Promote {
		k = append(k, "promote")
	}
	return k
}

// stepFields are the keys of a step.
var stepFields = []string{"weight", "pause", "analysis", "headers", "promote"}

// UnmarshalYAML reads a step: the scalar `promote` or a mapping with one
// key. Its errors are *yamlpos.Error at the key or value, with the field's
// path relative to the step.
func (s *PlanStep) UnmarshalYAML(n *yaml.Node) error {
	*s = PlanStep{}
	if n.Kind == yaml.ScalarNode {
		if n.Value == "promote" {
			s.Promote = true
			return nil
		}
		return yamlpos.At(n, "", "%q: a step is `promote` or a mapping with one of %s", n.Value, strings.Join(stepFields, ", "))
	}
	if n.Kind != yaml.MappingNode {
		return yamlpos.At(n, "", "a step is `promote` or a mapping with one of %s", strings.Join(stepFields, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "weight":
			// Decode would cut 10.5 to 10: weights are whole percentages, so
			// anything but an integer is refused.
			w, err := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				return yamlpos.At(v, "weight", "%q is not a whole percentage (0..100); weights are whole percents", v.Value)
			}
			s.Weight = &w
		case "pause":
			var p Pause
			if err := decodeDurationMap(v, "pause", &p.Duration); err != nil {
				return err
			}
			s.Pause = &p
		case "analysis":
			var a AnalysisStep
			if err := decodeDurationMap(v, "analysis", &a.Duration); err != nil {
				return err
			}
			s.Analysis = &a
		case "headers":
			h := map[string]string{}
			if err := v.Decode(&h); err != nil {
				return yamlpos.At(v, "headers", "a mapping of header name to value is expected")
			}
			s.Headers = h
		case "promote":
			if v.Kind == yaml.MappingNode && len(v.Content) == 0 || v.Tag == "!!null" {
				s.Promote = true
				continue
			}
			var b bool
			if err := v.Decode(&b); err != nil {
				return yamlpos.At(v, "promote", "takes no settings (write `- promote`)")
			}
			s.Promote = b
		default:
			return yamlpos.At(k, k.Value, "%s", yamlpos.UnknownFieldMsg(k.Value, stepFields))
		}
	}
	return nil
}

func decodeDurationMap(v *yaml.Node, field string, d *model.Duration) error {
	if v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return yamlpos.At(v, field, "a mapping such as {duration: 5m} is expected")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Value != "duration" {
			return yamlpos.At(k, field+"."+k.Value, "%s", yamlpos.UnknownFieldMsg(k.Value, []string{"duration"}))
		}
		if err := decodeDuration(val, d); err != nil {
			return fmt.Errorf("%w (%s.duration)", err, field)
		}
	}
	return nil
}

// decodeDuration reads a duration scalar; the error names the line.
func decodeDuration(n *yaml.Node, d *model.Duration) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration string is expected", n.Line)
	}
	p, err := slo.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = model.Duration(p)
	return nil
}

// JudgeMissing reports whether p, with its defaults, has analysis steps
// but no judge: a rollout on it would promote on evidence no judge saw,
// so it is refused.
func (p Plan) JudgeMissing() bool {
	p = p.WithDefaults()
	for _, st := range p.Steps {
		if st.Analysis != nil {
			return len(p.Analysis.Specs()) == 0
		}
	}
	return false
}

// WithDefaults returns p with every unset field at its default.
func (p Plan) WithDefaults() Plan {
	if p.Strategy == "" {
		p.Strategy = Canary
	}
	if len(p.Steps) == 0 {
		a := DefaultAnalysisDuration
		if p.Strategy == BlueGreen {
			p.Steps = []PlanStep{{Headers: map[string]string{DefaultPreviewHeader: "true"}}, AnalysisFor(a), PromoteStep()}
		} else {
			p.Steps = []PlanStep{WeightStep(5), AnalysisFor(a), WeightStep(25), AnalysisFor(a), WeightStep(50), AnalysisFor(a), PromoteStep()}
		}
	} else {
		steps := make([]PlanStep, len(p.Steps))
		copy(steps, p.Steps)
		for i, s := range steps {
			if s.Analysis != nil && s.Analysis.Duration == 0 {
				steps[i].Analysis = &AnalysisStep{Duration: model.Duration(DefaultAnalysisDuration)}
			}
		}
		if last := steps[len(steps)-1]; !last.Promote {
			steps = append(steps, PromoteStep())
		}
		p.Steps = steps
	}
	if p.Analysis.Interval == 0 {
		p.Analysis.Interval = model.Duration(DefaultAnalysisInterval)
	}
	if specs := p.Analysis.Specs(); len(specs) > 0 {
		// Every judge written out with its effective interval, so that
		// the stored plan (and the API) shows when each one looks.
		p.Analysis.Judges = specs
	}
	if p.OnInconclusive == "" {
		p.OnInconclusive = Hold
	}
	if p.InconclusiveLimit == nil {
		l := DefaultInconclusiveLimit
		p.InconclusiveLimit = &l
	}
	if p.ProgressDeadline == 0 {
		p.ProgressDeadline = model.Duration(DefaultProgressDeadline)
		for _, s := range p.Steps {
			if s.Analysis != nil && time.Duration(s.Analysis.Duration) >= time.Duration(p.ProgressDeadline) {
				p.ProgressDeadline = model.Duration(time.Duration(s.Analysis.Duration) + DefaultProgressDeadline/2)
			}
		}
	}
	for _, w := range []*Webhook{p.Webhooks.PreRollout, p.Webhooks.PrePromote, p.Webhooks.PostRollout, p.Webhooks.Notify} {
		if w != nil && w.Timeout == 0 {
			w.Timeout = model.Duration(DefaultWebhookTimeout)
		}
	}
	return p
}

// Validate reports every problem with the plan; each error starts with
// the field's path (such as "steps[3].weight").
func (p Plan) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch p.Strategy {
	case "", Canary, BlueGreen:
	default:
		add("strategy: %q is not one of canary, blue-green", p.Strategy)
	}
	promoted := -1
	exposed := false
	for i, s := range p.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		k := s.kinds()
		if len(k) == 0 {
			add("%s: empty step (one of weight, pause, analysis, headers, promote)", f)
			continue
		}
		if len(k) > 1 {
			add("%s: a step has exactly one of weight, pause, analysis, headers, promote; found %s", f, strings.Join(k, ", "))
			continue
		}
		if promoted >= 0 {
			add("%s: %s after promote (steps[%d]); promote must be the last step", f, s, promoted)
			continue
		}
		switch {
		case s.Weight != nil:
			w := *s.Weight
			if w < 0 || w > 100 {
				add("%s.weight: %d is outside 0..100", f, w)
			} else if p.Strategy == BlueGreen && w != 0 && w != 100 {
				add("%s.weight: %d: a blue-green plan sends 0%% or 100%% (use headers to preview, or strategy: canary)", f, w)
			}
			exposed = exposed || w > 0
		case s.Analysis != nil:
			if !exposed {
				add("%s.analysis: the canary takes no traffic yet; put a weight or headers step before it", f)
			}
			if s.Analysis.Duration < 0 {
				add("%s.analysis.duration: negative", f)
			}
			d := s.Analysis.Duration
			if d == 0 {
				d = model.Duration(DefaultAnalysisDuration)
			}
			if p.ProgressDeadline > 0 && d >= p.ProgressDeadline {
				add("%s.analysis.duration: %s is not shorter than progress_deadline %s", f, d, p.ProgressDeadline)
			}
		case s.Headers != nil:
			if len(s.Headers) == 0 {
				add("%s.headers: empty", f)
			}
			exposed = true
			r := traffic.Routing{Weights: traffic.Weights{Stable: 100}, CanaryHeaders: headerMatches(s.Headers)}
			if err := r.Validate(); err != nil {
				add("%s.headers: %w", f, err)
			}
		case s.Promote:
			promoted = i
		}
	}
	switch p.OnInconclusive {
	case "", Hold, Rollback:
	default:
		add("on_inconclusive: %q is not one of hold, rollback", p.OnInconclusive)
	}
	if p.InconclusiveLimit != nil && *p.InconclusiveLimit < 0 {
		add("inconclusive_limit: %d is negative", *p.InconclusiveLimit)
	}
	names := map[string]int{}
	for i, j := range p.Analysis.Specs() {
		f := "analysis.requests_metric"
		if len(p.Analysis.Judges) > 0 {
			f = fmt.Sprintf("analysis.judges[%d]", i)
		}
		if err := j.Validate(); err != nil {
			for _, e := range yamlpos.Unjoin(err) {
				var fe *analysis.FieldError
				if errors.As(e, &fe) && len(p.Analysis.Judges) > 0 {
					add("%s.%s: %w", f, fe.Field, fe.Err)
				} else {
					add("%s: %w", f, e)
				}
			}
		}
		n := j.WithDefaults().Common().Name
		if k, dup := names[n]; dup {
			add("%s.name: %q is also the name of analysis.judges[%d]", f, n, k)
		}
		names[n] = i
	}
	if p.Analysis.MaxSampleAge < 0 {
		add("analysis.max_sample_age: %s is negative", p.Analysis.MaxSampleAge)
	}
	errs = append(errs, p.intervalErrors()...)
	if p.Analysis.Interval != 0 && time.Duration(p.Analysis.Interval) < 100*time.Millisecond {
		add("analysis.interval: %s is below 100ms", p.Analysis.Interval)
	}
	if p.ProgressDeadline < 0 {
		add("progress_deadline: negative")
	}
	if p.MinTraffic.Requests < 0 {
		add("min_traffic.requests: %g is negative", p.MinTraffic.Requests)
	}
	if p.MinTraffic.Requests > 0 && strings.TrimSpace(p.MinTraffic.Query) == "" {
		add("min_traffic.query: required when min_traffic.requests is set")
	}
	if p.MinTraffic.Query != "" {
		if _, err := MinTrafficQuery(p.MinTraffic.Query, "svc", "v1", time.Minute); err != nil {
			add("min_traffic.query: %w", err)
		}
	}
	if p.BudgetGate.Floor < 0 || p.BudgetGate.Floor > 1 {
		add("budget_gate.floor: %g is outside 0..1", p.BudgetGate.Floor)
	}
	if p.BudgetGate.Floor != 0 && p.BudgetGate.SLO == "" {
		add("budget_gate.slo: required when budget_gate.floor is set")
	}
	for _, h := range []struct {
		name string
		w    *Webhook
	}{{"pre_rollout", p.Webhooks.PreRollout}, {"pre_promote", p.Webhooks.PrePromote}, {"post_rollout", p.Webhooks.PostRollout}, {"notify", p.Webhooks.Notify}} {
		if h.w == nil {
			continue
		}
		u, err := url.Parse(h.w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("webhooks.%s.url: %q is not an http(s) URL", h.name, h.w.URL)
		}
		if h.w.Timeout < 0 {
			add("webhooks.%s.timeout: negative", h.name)
		}
	}
	return errors.Join(errs...)
}

func headerMatches(h map[string]string) []traffic.HeaderMatch {
	out := make([]traffic.HeaderMatch, 0, len(h))
	for k, v := range h {
		out = append(out, traffic.HeaderMatch{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MinTrafficQuery expands the minimum-traffic query template.
func MinTrafficQuery(tmpl, service, version string, window time.Duration) (string, error) {
	t, err := template.New("min_traffic").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	var b strings.Builder
	w := window.Round(time.Second)
	if w < time.Second {
		w = time.Second
	}
	vars := map[string]string{"service": service, "version": version, "window": fmt.Sprintf("%ds", int(w.Seconds()))}
	if err := t.Execute(&b, vars); err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	return b.String(), nil
}
