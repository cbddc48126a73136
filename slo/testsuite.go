package slo

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rule unit tests (promtool test rules) that prove an SLO's alerts behave as
// the budget math predicts. The SLO under test is a twin of the user's: the
// same objective, window, tiers, min_events and alert settings, with its SLI
// on two synthetic counters (TestRequestsMetric, TestErrorsMetric) that the
// tests feed, so they exercise exactly the rules Vane generates for those
// parameters.

// Metrics of the twin SLO's SLI.
const (
	TestRequestsMetric = "vane_test_requests_total"
	TestErrorsMetric   = "vane_test_errors_total"
)

// testPerMinute is the twin's request count per minute in the tests. Error
// counts per minute are rounded to whole numbers, so that every counter
// value is an exact integer (float drift would read as counter resets).
const testPerMinute = 1_000_000

// TestTwin returns a copy of s whose SLI counts TestErrorsMetric over
// TestRequestsMetric.
func TestTwin(s *SLO) *SLO {
	t := *s
	t.RuleInterval = 0 // promtool evaluates at the test file's interval
	t.SLI = SLI{
		Kind:       SLIEvents,
		ErrorQuery: fmt.Sprintf("sum(rate(%s[%s]))", TestErrorsMetric, WindowVar),
		TotalQuery: fmt.Sprintf("sum(rate(%s[%s]))", TestRequestsMetric, WindowVar),
	}
	// Templated annotations that depend on the alert's value or on queries
	// cannot be predicted; the twin leaves them out (the others are
	// expected as Prometheus renders them).
	a := &t.Alerting
	a.Annotations = predictableAnnotations(a.Annotations)
	a.PageAlert.Annotations = predictableAnnotations(a.PageAlert.Annotations)
	a.TicketAlert.Annotations = predictableAnnotations(a.TicketAlert.Annotations)
	return &t
}

// templateDefs are the variables Prometheus defines for alert templates.
const templateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// templateFuncs are the pure functions of Prometheus's template language
// that annotation texts commonly apply to labels.
var templateFuncs = template.FuncMap{
	"toUpper": strings.ToUpper,
	"toLower": strings.ToLower,
	"match":   regexp.MatchString,
	"reReplaceAll": func(pattern, repl, text string) string {
		return regexp.MustCompile(pattern).ReplaceAllString(text, repl)
	},
}

// renderAnnotation expands an annotation as Prometheus does for an alert
// with the given labels and value.
func renderAnnotation(text string, labels map[string]string, value float64) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	tmpl, err := template.New("annotation").Option("missingkey=zero").Funcs(templateFuncs).Parse(templateDefs + text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	data := struct {
		Labels         map[string]string
		ExternalLabels map[string]string
		ExternalURL    string
		Value          float64
	}{labels, map[string]string{}, "", value}
	if err := tmpl.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// predictableAnnotations keeps the annotations whose rendering depends on
// labels only.
func predictableAnnotations(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	probe := map[string]string{"vane_probe": "x"}
	for k, v := range m {
		a, errA := renderAnnotation(v, probe, 1)
		b, errB := renderAnnotation(v, probe, 2)
		if errA != nil || errB != nil || a != b {
			continue
		}
		out[k] = v
	}
	return out
}

// PromtoolTests is a promtool rule test file.
type PromtoolTests struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval string         `yaml:"evaluation_interval"`
	GroupEvalOrder     []string       `yaml:"group_eval_order"`
	Tests              []PromtoolTest `yaml:"tests"`
}

// PromtoolTest is one test group of a promtool rule test file.
type PromtoolTest struct {
	Name          string           `yaml:"name"`
	Interval      string           `yaml:"interval"`
	InputSeries   []InputSeries    `yaml:"input_series"`
	AlertRuleTest []AlertRuleTest  `yaml:"alert_rule_test,omitempty"`
	PromQLTest    []PromQLExprTest `yaml:"promql_expr_test,omitempty"`
}

// InputSeries is a series in promtool's expanding notation.
type InputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// AlertRuleTest expects the alerts of one name at one time.
type AlertRuleTest struct {
	EvalTime  string     `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []ExpAlert `yaml:"exp_alerts"`
}

// ExpAlert is one expected alert.
type ExpAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations,omitempty"`
}

// PromQLExprTest expects the samples of a query at one time.
type PromQLExprTest struct {
	Expr       string      `yaml:"expr"`
	EvalTime   string      `yaml:"eval_time"`
	ExpSamples []ExpSample `yaml:"exp_samples"`
}

// ExpSample is one expected sample.
type ExpSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// TestCaseTimes holds what a generated tier test predicts, for reports.
type TestCaseTimes struct {
	Tier      Tier
	Detection time.Duration
	Reset     time.Duration
	Interval  time.Duration
}

// segment is a stretch of minutes at a constant error ratio.
type segment struct {
	minutes int
	ratio   float64
}

// counterSeries expands segments into the requests and errors series at a
// 1m scrape interval: requests grow by testPerMinute per minute, errors by
// ratio × that.
func counterSeries(segs []segment) []InputSeries {
	var req, errs strings.Builder
	reqV, errV := 0.0, 0.0
	perMin := float64(testPerMinute)
	first := true
	for _, sg := range segs {
		if sg.minutes <= 0 {
			continue
		}
		inc := math.Round(sg.ratio * perMin)
		if !first {
			req.WriteByte(' ')
			errs.WriteByte(' ')
		}
		// Each segment continues from the last value with its own slope.
		if first {
			fmt.Fprintf(&req, "%s+%sx%d", num(reqV), num(perMin), sg.minutes)
			fmt.Fprintf(&errs, "%s+%sx%d", num(errV), num(inc), sg.minutes)
		} else {
			fmt.Fprintf(&req, "%s+%sx%d", num(reqV+perMin), num(perMin), sg.minutes-1)
			fmt.Fprintf(&errs, "%s+%sx%d", num(errV+inc), num(inc), sg.minutes-1)
		}
		if first {
			reqV += perMin * float64(sg.minutes)
			errV += inc * float64(sg.minutes)
		} else {
			reqV += perMin * float64(sg.minutes)
			errV += inc * float64(sg.minutes)
		}
		first = false
	}
	return []InputSeries{
		{Series: TestRequestsMetric, Values: req.String()},
		{Series: TestErrorsMetric, Values: errs.String()},
	}
}

func ceilTo(d, unit time.Duration) time.Duration {
	return (d + unit - 1) / unit * unit
}

func minutes(d time.Duration) int { return int(math.Ceil(d.Minutes())) }

// alertLabels are the labels the SLO's alert of severity sev carries.
func alertLabels(s *SLO, sev Severity) map[string]string {
	r := alertRule(s, sev, alertConfigFor(s, sev), nil, GenerateOptions{PlainAnnotations: true})
	m := sloLabels(s)
	m[LabelVaneSeverity] = string(sev)
	for k, v := range r.Labels {
		m[k] = v
	}
	return m
}

func alertConfigFor(s *SLO, sev Severity) AlertConfig {
	if sev == SeverityTicket {
		return s.Alerting.TicketAlert
	}
	return s.Alerting.PageAlert
}

func expAlert(s *SLO, sev Severity, tiers []Tier) ExpAlert {
	r := alertRule(s, sev, alertConfigFor(s, sev), tiers, GenerateOptions{PlainAnnotations: true})
	// Prometheus renders annotations with the labels of the alert's
	// expression result: the SLO's labels and vane_severity.
	exprLabels := sloLabels(s)
	exprLabels[LabelVaneSeverity] = string(sev)
	ann := make(map[string]string, len(r.Annotations))
	for k, v := range r.Annotations {
		if out, err := renderAnnotation(v, exprLabels, 0); err == nil {
			v = out
		}
		ann[k] = v
	}
	return ExpAlert{ExpLabels: alertLabels(s, sev), ExpAnnotations: ann}
}

func tiersOf(s *SLO, sev Severity) []Tier {
	var out []Tier
	for _, t := range s.Tiers() {
		if t.Severity == sev {
			out = append(out, t)
		}
	}
	return out
}

func tierSelector(s *SLO, t Tier) string {
	return fmt.Sprintf(`%s{%s=%q,%s=%q,%s=%q}`, RecordTierBurnRate, LabelSLO, s.Name, LabelService, s.Service, LabelTier, TierName(t))
}

func dur(d time.Duration) string { return FormatDuration(d) }

// firingAlerts counts the twin's firing alerts of one severity.
func firingAlerts(s *SLO, sev Severity) string {
	return fmt.Sprintf(`count(ALERTS{alertname=%q,alertstate="firing",%s=%q,%s=%q,%s=%q})`,
		s.Alerting.Name, LabelSLO, s.Name, LabelService, s.Service, LabelVaneSeverity, sev)
}

// TierTests builds the promtool tests of twin (see TestTwin), whose rules
// are in rulesFile: for each tier, a step to 1.05× its threshold after a
// healthy long window fires the alert within the predicted detection time
// plus one evaluation interval, the tier's own condition clears within its
// predicted reset time plus one interval after the errors stop, and a step
// to 0.95× never satisfies the tier's condition. It also returns the
// predictions, one per tier.
//
// Tiers whose long window exceeds 6h are evaluated every 5m to keep days of
// history cheap to replay; promtool sets the interval per file, so the
// result holds one test file per interval, shortest first.
func TierTests(twin *SLO, rulesFile string) ([]PromtoolTests, []TestCaseTimes) {
	files := map[time.Duration]*PromtoolTests{}
	var order []time.Duration
	var times []TestCaseTimes
	target := twin.Target()
	for _, t := range twin.Tiers() {
		if alertConfigFor(twin, t.Severity).Disable {
			continue
		}
		// Evaluate every minute for short tiers; every 5m when the long
		// window exceeds 6h, to keep days of history cheap to replay.
		interval := time.Minute
		if t.Long > 6*time.Hour {
			interval = 5 * time.Minute
		}
		pt := files[interval]
		if pt == nil {
			pt = &PromtoolTests{RuleFiles: []string{rulesFile}, EvaluationInterval: dur(interval), GroupEvalOrder: []string{GroupName(twin)}}
			files[interval] = pt
			order = append(order, interval)
		}
		// 1.05× the threshold; a full outage where that exceeds 100% errors.
		e := min(1.05*t.Threshold(target), 1)
		det, _ := DetectionTime(t, target, e)
		reset := ResetTime(t, target, e)
		times = append(times, TestCaseTimes{Tier: t, Detection: det, Reset: reset, Interval: interval})
		healthy := minutes(t.Long) + 10
		outage := minutes(max(det, t.Long)) + 10
		fireAt := time.Duration(healthy)*time.Minute + ceilTo(det, interval) + interval
		end := time.Duration(healthy+outage) * time.Minute
		resetAt := end + ceilTo(reset, interval) + interval
		// The alert resolves once every tier of its severity that the
		// outage could trigger has reset.
		alertReset := reset
		for _, o := range tiersOf(twin, t.Severity) {
			alertReset = max(alertReset, ResetTime(o, target, e))
		}
		recovery := minutes(ceilTo(alertReset, interval)+2*interval) + 1
		series := counterSeries([]segment{{healthy, 0}, {outage, e}, {recovery, 0}})
		alertResetAt := end + ceilTo(alertReset, interval) + interval
		name := fmt.Sprintf("%s tier %s at 1.05x", t.Severity, TierName(t))
		pt.Tests = append(pt.Tests, PromtoolTest{
			Name: name, Interval: "1m", InputSeries: series,
			PromQLTest: []PromQLExprTest{
				// One alert of this severity fires by the predicted time...
				{Expr: firingAlerts(twin, t.Severity), EvalTime: dur(fireAt), ExpSamples: []ExpSample{{Labels: "{}", Value: 1}}},
				// ...and resolves within the predicted reset time.
				{Expr: firingAlerts(twin, t.Severity), EvalTime: dur(alertResetAt)},
				// The tier's own condition holds by the predicted time...
				{Expr: fmt.Sprintf("count(%s)", tierSelector(twin, t)), EvalTime: dur(fireAt), ExpSamples: []ExpSample{{Labels: "{}", Value: 1}}},
				// ...and clears within the predicted reset time.
				{Expr: tierSelector(twin, t), EvalTime: dur(resetAt)},
			},
		})
		if evalEvery := interval; evalEvery != time.Minute {
			pt.Tests[len(pt.Tests)-1].Name += " (evaluated every " + dur(evalEvery) + ")"
		}
		// 0.95×: the tier's condition never holds during a long outage.
		low := 0.95 * t.Threshold(target)
		// After one long window the ratios are steady at 0.95× the threshold.
		lowOutage := minutes(t.Long) + 10
		pt.Tests = append(pt.Tests, PromtoolTest{
			Name: fmt.Sprintf("%s tier %s at 0.95x", t.Severity, TierName(t)), Interval: "1m",
			InputSeries: counterSeries([]segment{{healthy, 0}, {lowOutage, low}}),
			PromQLTest: []PromQLExprTest{{
				Expr:     fmt.Sprintf("count_over_time(%s[%s])", tierSelector(twin, t), dur(time.Duration(healthy+lowOutage)*time.Minute)),
				EvalTime: dur(time.Duration(healthy+lowOutage) * time.Minute),
			}},
		})
	}
	out := make([]PromtoolTests, 0, len(order))
	for _, iv := range order {
		out = append(out, *files[iv])
	}
	return out, times
}

// OutageTwin returns the twin used by OutageTests: TestTwin(s) with its
// ticket alert disabled, so that a short healthy history (in which the long
// ticket windows would also see the outage) leaves the page alert alone
// under test.
func OutageTwin(s *SLO) *SLO {
	t := TestTwin(s)
	t.Alerting.TicketAlert.Disable = true
	return t
}

// OutageTests builds tests of a full outage for an OutageTwin whose rules
// are in rulesFile: the page alert fires within the fastest page tier's
// detection time plus one evaluation interval (checked with its labels and
// annotations), and later, with every page tier holding, there is still
// exactly one page alert.
func OutageTests(twin *SLO, rulesFile string) PromtoolTests {
	pt := PromtoolTests{RuleFiles: []string{rulesFile}, EvaluationInterval: "1m", GroupEvalOrder: []string{GroupName(twin)}}
	page := tiersOf(twin, SeverityPage)
	if len(page) == 0 || twin.Alerting.PageAlert.Disable {
		return pt
	}
	fastest := page[0]
	for _, t := range page {
		if d, ok := DetectionTime(t, twin.Target(), 1); ok {
			if fd, _ := DetectionTime(fastest, twin.Target(), 1); d < fd {
				fastest = t
			}
		}
	}
	det, _ := DetectionTime(fastest, twin.Target(), 1)
	// Every page tier holds once the slowest has detected the outage: each
	// tier's own detection time (after a full healthy long window; the
	// shorter history here only makes it sooner) plus one interval.
	slowest := det
	for _, t := range page {
		if d, ok := DetectionTime(t, twin.Target(), 1); ok {
			slowest = max(slowest, d)
		}
	}
	healthy := 60
	start := time.Duration(healthy) * time.Minute
	fireAt := start + ceilTo(det, time.Minute)
	later := start + ceilTo(slowest, time.Minute) + time.Minute
	outage := max(60, minutes(later-start)+10)
	pt.Tests = append(pt.Tests, PromtoolTest{
		Name: "100% outage pages within the fastest tier's detection time", Interval: "1m",
		InputSeries: counterSeries([]segment{{healthy, 0}, {outage, 1}}),
		AlertRuleTest: []AlertRuleTest{
			{EvalTime: dur(start), Alertname: twin.Alerting.Name},
			{EvalTime: dur(fireAt), Alertname: twin.Alerting.Name, ExpAlerts: []ExpAlert{expAlert(twin, SeverityPage, page)}},
		},
		PromQLTest: []PromQLExprTest{{
			// One incident, one page: every page tier holds, one alert.
			Expr: firingAlerts(twin, SeverityPage), EvalTime: dur(later), ExpSamples: []ExpSample{{Labels: "{}", Value: 1}},
		}, {
			Expr:       fmt.Sprintf(`count(%s{%s=%q,%s=%q,%s="page"})`, RecordTierBurnRate, LabelSLO, twin.Name, LabelService, twin.Service, LabelVaneSeverity),
			EvalTime:   dur(later),
			ExpSamples: []ExpSample{{Labels: "{}", Value: float64(len(page))}},
		}},
	})
	return pt
}

// WriteTests writes a promtool test file.
func WriteTests(w io.Writer, pt PromtoolTests) error {
	var buf bytes.Buffer
	buf.WriteString("# Code generated by vane slo generate --tests. DO NOT EDIT.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(pt); err != nil {
		return fmt.Errorf("slo: encoding tests: %w", err)
	}
	_ = enc.Close()
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("slo: writing tests: %w", err)
	}
	return nil
}
