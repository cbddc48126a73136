package analysis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// GRPCBadCodes is the default BadCodes of a gRPC service: the status codes
// that mean the server failed, by name in either spelling that exporters
// use (UNAVAILABLE as gRPC's docs and Envoy write it, Unavailable as
// grpc-go's codes.Code.String() and go-grpc-prometheus write it) and by
// number (OpenTelemetry's rpc.grpc.status_code). The set is the one
// OpenTelemetry's RPC semantic conventions mark as server errors, and the
// codes gRPC's status-code guide and OpenCensus map to HTTP 5xx: UNKNOWN (2,
// 500), DEADLINE_EXCEEDED (4, 504), UNIMPLEMENTED (12, 501), INTERNAL (13,
// 500), UNAVAILABLE (14, 503), DATA_LOSS (15, 500). Client-side codes
// (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, …) and CANCELLED are
// not the server's failures.
const GRPCBadCodes = `(?i)unknown|deadline_?exceeded|unimplemented|internal|unavailable|data_?loss|2|4|12|13|14|15`

// HTTPBadCodes is the default BadCodes: HTTP server errors.
const HTTPBadCodes = "5.."

// grpcCodes are gRPC's status codes in the order of their numbers
// (google.golang.org/grpc/codes).
var grpcCodes = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// grpcServerErrors are the numbers of the codes in GRPCBadCodes.
var grpcServerErrors = []int{2, 4, 12, 13, 14, 15}

// PreflightError is a finding of Preflight: a query of a judge selects
// nothing the stable version emits, or its bad-event side can never match,
// so the judge could never see a failure.
type PreflightError struct {
	// Judge is the spec's name.
	Judge string
	// Selector is the series selector at fault.
	Selector string
	// Problem says what is wrong and how to fix it.
	Problem string
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("judge %s: %s: %s", e.Judge, e.Selector, e.Problem)
}

// Preflight checks, at now, that the judge s can observe both sides of its
// verdict on the stable version's live series (vars.Stable is the stable
// version's label value): every series selector of its queries, rendered
// for the stable version, must select series that exist, label by label,
// except that a matcher on a label whose values are HTTP status codes or
// gRPC codes may select no series yet, provided it can match a server error
// of that vocabulary (a healthy stable version has none). A bad-event
// matcher that cannot (a numeric "5.." against gRPC's named codes), or that
// matches the success code, is a finding too. A judge with such a query
// would read zero bad events forever ("… or vector(0)") and pass any
// canary, so a finding must keep the rollout from starting.
//
// It returns nil when the judge can work, a *PreflightError for a finding,
// or another error when Prometheus could not be queried (nothing was
// verified then).
func Preflight(ctx context.Context, q Querier, s Spec, vars Vars, now time.Time) error {
	if s.Judge == nil {
		return s.Validate()
	}
	s = s.WithDefaults()
	if vars.Stable == "" {
		return errors.New("analysis: preflight: the stable version is required")
	}
	vars.Version = vars.Stable
	c := s.Common()
	if w := s.Judge.window(); vars.Window == 0 && w != nil {
		vars.Window = time.Duration(*w)
	}
	if vars.Interval == 0 {
		vars.Interval = time.Duration(c.Interval)
	}
	type query struct {
		qt  *QueryTemplate
		bad bool // the bad-event side: it must not match success codes
	}
	var qs []query
	// The labels of a query template are the defaults'.
	var labels Counters
	labels.defaults()
	template := func(src string) error {
		qt, err := ParseQueryTemplate(src)
		if err != nil {
			return &FieldError{Field: "query", Err: err}
		}
		qs = append(qs, query{qt: qt})
		return nil
	}
	switch j := s.Judge.(type) {
	case *SequentialSpec:
		labels = j.Counters
		if j.SLI == SLILatencyBuckets {
			qt, err := j.bucketQuery()
			if err != nil {
				return err
			}
			qs = append(qs, query{qt: qt})
			break
		}
		total, bad, err := j.queries(false)
		if err != nil {
			return err
		}
		qs = append(qs, query{qt: total}, query{qt: bad, bad: j.SLI == SLIErrors})
	case *BurnRateSpec:
		labels = j.Counters
		total, bad, err := j.queries(true)
		if err != nil {
			return err
		}
		qs = append(qs, query{qt: total}, query{qt: bad, bad: j.SLI == SLIErrors})
		vars.Window = time.Duration(j.ShortWindow)
	case *ThresholdSpec:
		if err := template(j.Query); err != nil {
			return err
		}
	case *MannWhitneySpec:
		if err := template(j.Query); err != nil {
			return err
		}
	}
	p := &preflight{q: q, name: c.Name, labels: labels, now: now, timeout: time.Duration(c.Timeout)}
	for _, x := range qs {
		src, err := x.qt.Render(vars)
		if err != nil {
			return err
		}
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(src)
		if err != nil {
			return fmt.Errorf("analysis: preflight: %s: %w", src, err)
		}
		var sels []*parser.VectorSelector
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				sels = append(sels, vs)
			}
			return nil
		})
		for _, vs := range sels {
			if err := p.selector(ctx, vs.LabelMatchers, x.bad); err != nil {
				return err
			}
		}
	}
	return nil
}

type preflight struct {
	q       Querier
	name    string
	labels  Counters
	now     time.Time
	timeout time.Duration
}

// selectorString writes matchers as PromQL: name{label="value", …}.
func selectorString(ms []*labels.Matcher) string {
	name := ""
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && name == "" && model.LegacyValidation.IsValidMetricName(m.Value) {
			name = m.Value
			continue
		}
		parts = append(parts, m.String())
	}
	if name != "" && len(parts) == 0 {
		return name
	}
	return name + "{" + strings.Join(parts, ", ") + "}"
}

// values returns the values of label among the series sel selects, and
// whether any series exists.
func (p *preflight) values(ctx context.Context, sel []*labels.Matcher, label string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	query := fmt.Sprintf("count by (%s) (%s)", label, selectorString(sel))
	if label == "" {
		query = fmt.Sprintf("count(%s)", selectorString(sel))
	}
	vec, err := p.q.Query(ctx, query, p.now)
	if err != nil {
		return nil, fmt.Errorf("analysis: preflight: query %s failed: %w", query, err)
	}
	out := make([]string, 0, len(vec.Samples))
	for _, s := range vec.Samples {
		out = append(out, s.Labels[label])
	}
	sort.Strings(out)
	return out, nil
}

// selector checks one selector's matchers in turn: the metric name, then
// equality matchers, then the others, each against the values the series
// selected so far carry.
func (p *preflight) selector(ctx context.Context, ms []*labels.Matcher, bad bool) error {
	ordered := slices.Clone(ms)
	rank := func(m *labels.Matcher) int {
		switch {
		case m.Name == model.MetricNameLabel:
			return 0
		case m.Type == labels.MatchEqual:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ordered, func(a, b *labels.Matcher) int { return rank(a) - rank(b) })
	var acc []*labels.Matcher
	full := selectorString(ms)
	for _, m := range ordered {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			acc = append(acc, m)
			n, err := p.values(ctx, acc, "")
			if err != nil {
				return err
			}
			if len(n) == 0 {
				return &PreflightError{Judge: p.name, Selector: full, Problem: fmt.Sprintf(
					"Prometheus holds no live series of %s (is it scraped, and is the name right?)", m.Value)}
			}
			continue
		}
		if len(acc) == 0 {
			// No metric name: the selector cannot be narrowed step by
			// step; check it as a whole below.
			break
		}
		present, err := p.values(ctx, acc, m.Name)
		if err != nil {
			return err
		}
		var matched []string
		for _, v := range present {
			if m.Matches(v) {
				matched = append(matched, v)
			}
		}
		voc := vocabularyOf(present)
		if bad && voc != nil {
			for _, v := range matched {
				if voc.success(v) {
					return &PreflightError{Judge: p.name, Selector: full, Problem: fmt.Sprintf(
						"%s matches %q, which means success (%s): every request would count as bad; use %s",
						m, v, voc.name, voc.suggest(m.Name))}
				}
			}
		}
		if len(matched) > 0 {
			acc = append(acc, m)
			continue
		}
		// Nothing present matches. For a code label that is fine as long
		// as the matcher can match a server error that is not there yet.
		if voc != nil {
			if slices.ContainsFunc(voc.failures, m.Matches) {
				continue
			}
			return &PreflightError{Judge: p.name, Selector: full, Problem: fmt.Sprintf(
				"%s can never match: the stable version's %s values are %s (%s) and it matches none of their server errors, so the judge could never see a failure; use %s",
				m, m.Name, list(present), voc.name, voc.suggest(m.Name))}
		}
		return &PreflightError{Judge: p.name, Selector: full, Problem: p.missing(acc, m, present)}
	}
	return nil
}

// missing explains a matcher that selects none of the present values.
func (p *preflight) missing(acc []*labels.Matcher, m *labels.Matcher, present []string) string {
	base := selectorString(acc)
	if len(present) == 1 && present[0] == "" {
		hint := ""
		switch m.Name {
		case p.labels.VersionLabel:
			hint = "; set version_label to the label that holds the version"
		case p.labels.CodeLabel:
			hint = "; set code_label to the label that holds the status code"
		case p.labels.ServiceLabel:
			hint = "; add the label (for example with the scrape job's labels) or set service_label"
		}
		return fmt.Sprintf("no series of %s has a %s label%s", base, m.Name, hint)
	}
	hint := ""
	switch m.Name {
	case p.labels.VersionLabel:
		hint = "; if the stable version's metrics carry another value, map it in rollout.analysis.version_label_values"
	case p.labels.ServiceLabel:
		hint = "; set service_label, or label the scrape job with the service's name"
	}
	return fmt.Sprintf("no series of %s has %s: the values present are %s%s", base, m, list(present), hint)
}

func list(vs []string) string {
	const max = 12
	q := make([]string, 0, min(len(vs), max))
	for i, v := range vs {
		if i == max {
			q = append(q, fmt.Sprintf("… %d more", len(vs)-max))
			break
		}
		q = append(q, strconv.Quote(v))
	}
	return "[" + strings.Join(q, " ") + "]"
}

// vocabulary is a known set of status codes: what the present values of a
// label look like, which of them mean failure, which success.
type vocabulary struct {
	name      string
	failures  []string
	successes []string
	bad       string // the matcher to suggest
	protocol  string // the service protocol whose defaults fit, if any
}

func (v *vocabulary) success(x string) bool { return slices.Contains(v.successes, x) }

func (v *vocabulary) suggest(label string) string {
	s := fmt.Sprintf("bad_codes: %q (%s=~%q)", v.bad, label, v.bad)
	if v.protocol != "" {
		s += fmt.Sprintf(", or set the service's protocol: %s and leave bad_codes out", v.protocol)
	}
	return s
}

// vocabularyOf recognises HTTP status codes (100–599), gRPC code names
// (UNAVAILABLE or Unavailable style) and gRPC code numbers (0–16); nil for
// anything else.
func vocabularyOf(present []string) *vocabulary {
	if len(present) == 0 {
		return nil
	}
	allInt := func(lo, hi int) bool {
		for _, v := range present {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return false
			}
		}
		return true
	}
	switch {
	case allInt(100, 599) && !allInt(0, 16):
		v := &vocabulary{name: "HTTP status codes", bad: HTTPBadCodes}
		for c := 100; c <= 599; c++ {
			switch {
			case c >= 500:
				v.failures = append(v.failures, strconv.Itoa(c))
			case c < 400:
				v.successes = append(v.successes, strconv.Itoa(c))
			}
		}
		return v
	case allInt(0, 16):
		v := &vocabulary{name: "gRPC code numbers", successes: []string{"0"}, bad: "2|4|12|13|14|15", protocol: "grpc"}
		for _, c := range grpcServerErrors {
			v.failures = append(v.failures, strconv.Itoa(c))
		}
		return v
	}
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	upper, camel := false, false
	for _, v := range present {
		if !slices.ContainsFunc(grpcCodes, func(c string) bool { return norm(c) == norm(v) }) {
			return nil
		}
		if v != "OK" {
			upper = upper || v == strings.ToUpper(v)
			camel = camel || v != strings.ToUpper(v)
		}
	}
	if !upper && !camel { // only OK: either spelling
		upper, camel = true, true
	}
	v := &vocabulary{name: "gRPC code names", successes: []string{"OK"}, bad: GRPCBadCodes, protocol: "grpc"}
	var upperNames, camelNames []string
	for _, c := range grpcServerErrors {
		upperNames = append(upperNames, grpcCodes[c])
		camelNames = append(camelNames, camelCase(grpcCodes[c]))
	}
	if upper {
		v.failures = append(v.failures, upperNames...)
	}
	if camel {
		v.failures = append(v.failures, camelNames...)
	}
	switch {
	case upper && !camel:
		v.bad = strings.Join(upperNames, "|")
	case camel && !upper:
		v.bad = strings.Join(camelNames, "|")
	}
	return v
}

// camelCase turns DEADLINE_EXCEEDED into DeadlineExceeded, as grpc-go's
// codes.Code.String() spells it.
func camelCase(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(s), "_") {
		if w == "" {
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
