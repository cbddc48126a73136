package slo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/internal/yamlpos"
)

// File is one spec file's name (used in errors) and contents.
type File struct {
	Name string
	Data []byte
}

// Window bounds for rolling windows.
const (
	MinWindow = 7 * 24 * time.Hour
	MaxWindow = 90 * 24 * time.Hour
)

// Labels that Vane sets on generated rules; specs may not set them. The
// identity labels are in Vane's own namespace, so that labels users route
// alerts on (service, slo, team, …) stay theirs.
const (
	LabelSLO      = "vane_slo"
	LabelService  = "vane_service"
	LabelWindow   = "slo_window"
	LabelSeverity = "severity"
	// LabelVaneSeverity carries page/ticket when the spec sets its own
	// severity label, whose value Vane keeps.
	LabelVaneSeverity = "vane_severity"
	// LabelTier names the tier ("1h/5m") on tier recording rules.
	LabelTier = "slo_tier"
)

var reservedLabels = map[string]bool{LabelSLO: true, LabelService: true, LabelWindow: true, LabelVaneSeverity: true, LabelTier: true}

// promqlParser is Prometheus's own parser with default options; it holds no
// mutable state.
var promqlParser = parser.NewParser(parser.Options{})

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Load parses, checks and returns the SLOs of every file, in file order,
// strictly: unknown fields are errors. Each problem is an *Error naming
// file, line and field; all problems of all files are returned together
// (errors.Join), and then no SLO is returned. Warnings are dropped; use
// LoadOptions.Load to read them.
func Load(files ...File) ([]*SLO, error) {
	slos, _, err := LoadOptions{}.Load(files...)
	return slos, err
}

// LoadOptions tunes loading. The zero value is strict loading.
type LoadOptions struct {
	// Lenient turns unknown fields (another tool's extra keys) into
	// warnings instead of errors.
	Lenient bool
}

// Load is like the package's Load and also returns warnings (each an
// *Error): unknown fields in lenient mode, and parts of a spec that Vane
// reads but cannot reproduce (OpenSLO alert policies it cannot map, Sloth
// plugins without an equivalent). Warnings are returned with the errors too.
func (o LoadOptions) Load(files ...File) (slos []*SLO, warnings []error, err error) {
	l := &loader{slis: map[string]openSLI{}, lenient: o.Lenient}
	for _, f := range files {
		l.file(f)
	}
	l.resolveOpenSLO()
	l.checkDuplicates()
	if len(l.errs) > 0 {
		return nil, l.warns, errors.Join(l.errs...)
	}
	return l.slos, l.warns, nil
}

type loader struct {
	slos    []*SLO
	errs    []error
	warns   []error
	lenient bool
	slis    map[string]openSLI // OpenSLO SLI documents by name
	pending []pendingRef       // OpenSLO SLOs waiting for a referenced SLI
	names   map[*SLO]namePos   // where each SLO's name is written
}

// namePos is where an SLO's name is, for duplicate errors.
type namePos struct {
	node  *yaml.Node
	field string
}

func (l *loader) file(f File) {
	w := &walker{file: f.Name, lenient: l.lenient}
	defer func() {
		l.errs = append(l.errs, w.errs...)
		l.warns = append(l.warns, w.warns...)
	}()
	dec := yaml.NewDecoder(bytes.NewReader(f.Data))
	docs := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e := yamlpos.Syntax(f.Name, err)
			e.Msg = "invalid YAML: " + e.Msg
			w.errs = append(w.errs, e)
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := resolve(doc.Content[0])
		// A YAML list of documents (as OpenSLO tools write them).
		if root.Kind == yaml.SequenceNode && len(root.Content) > 0 && allMappings(root.Content) {
			for _, item := range root.Content {
				docs++
				l.document(w, item)
			}
			continue
		}
		docs++
		l.document(w, root)
	}
	if docs == 0 {
		w.errs = append(w.errs, &Error{File: f.Name, Line: 1, Msg: "no SLO spec in file (it is empty)"})
	}
}

func allMappings(ns []*yaml.Node) bool {
	for _, n := range ns {
		if resolve(n).Kind != yaml.MappingNode {
			return false
		}
	}
	return true
}

// Spec formats beyond the three primary ones.
const (
	// FormatSlothCRD is Sloth's Kubernetes resource
	// (apiVersion sloth.slok.dev/v1, kind PrometheusServiceLevel).
	FormatSlothCRD = "sloth.slok.dev/v1"
	// FormatOpenSLOAlpha is OpenSLO v1alpha, as Sloth loads it.
	FormatOpenSLOAlpha = "openslo/v1alpha"
)

func (l *loader) document(w *walker, root *yaml.Node) {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		w.errorf(root, "", "a spec must be a mapping, got %s", kindName(root))
		return
	}
	var version, apiVersion *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "version":
			version = root.Content[i+1]
		case "apiVersion":
			apiVersion = root.Content[i+1]
		}
	}
	switch {
	case version != nil && version.Value == FormatSloth:
		l.sloth(w, root, dialectSloth)
	case version != nil && version.Value == FormatNative:
		l.sloth(w, root, dialectNative)
	case version != nil:
		w.errorf(version, "version", "unknown spec version %q (want %q, %q, or apiVersion %q, %q, %q)", version.Value, FormatSloth, FormatNative, FormatOpenSLO, FormatOpenSLOAlpha, FormatSlothCRD)
	case apiVersion != nil && (apiVersion.Value == FormatOpenSLO || apiVersion.Value == "openslo.com/v1"):
		l.openSLO(w, root)
	case apiVersion != nil && apiVersion.Value == FormatOpenSLOAlpha:
		l.openSLOAlpha(w, root)
	case apiVersion != nil && apiVersion.Value == FormatSlothCRD:
		l.slothCRD(w, root)
	case apiVersion != nil:
		w.errorf(apiVersion, "apiVersion", "unknown apiVersion %q (want %q, %q or %q)", apiVersion.Value, FormatOpenSLO, FormatOpenSLOAlpha, FormatSlothCRD)
	default:
		w.errorf(root, "version", "required field is missing (%q or %q; OpenSLO documents set apiVersion: %s, Sloth's Kubernetes resources apiVersion: %s)", FormatSloth, FormatNative, FormatOpenSLO, FormatSlothCRD)
	}
}

// slothDialect names the keys of one flavour of Sloth's spec: the
// prometheus/v1 file (snake_case), Sloth's Kubernetes resource (camelCase)
// and Vane's vane/v1 superset.
type slothDialect struct {
	format                                       string
	native                                       bool
	errorQuery, totalQuery, errorRatioQuery      string
	pageAlert, ticketAlert, sloPlugins, children string
}

var (
	dialectSloth  = slothDialect{FormatSloth, false, "error_query", "total_query", "error_ratio_query", "page_alert", "ticket_alert", "slo_plugins", "plugins"}
	dialectNative = slothDialect{FormatNative, true, "error_query", "total_query", "error_ratio_query", "page_alert", "ticket_alert", "", ""}
	dialectCRD    = slothDialect{FormatSlothCRD, false, "errorQuery", "totalQuery", "errorRatioQuery", "pageAlert", "ticketAlert", "sloPlugins", "plugins"}
)

// slothCRD reads Sloth's PrometheusServiceLevel resource: its spec is a
// Sloth spec with camelCase keys.
func (l *loader) slothCRD(w *walker, root *yaml.Node) {
	o := w.object(root, "", "apiVersion", "kind", "metadata", "spec", "status")
	if o == nil {
		return
	}
	if k := o.str("kind", true); k != "" && k != "PrometheusServiceLevel" {
		w.errorf(o.get("kind"), "kind", "unknown %s kind %q (want PrometheusServiceLevel)", FormatSlothCRD, k)
		return
	}
	if !o.has("spec") {
		w.errorf(root, "spec", "required field is missing")
		return
	}
	l.slothSpec(w, o.get("spec"), "spec", dialectCRD)
}

// sloth reads a Sloth prometheus/v1 spec, or Vane's vane/v1 superset.
func (l *loader) sloth(w *walker, root *yaml.Node, d slothDialect) {
	l.slothSpec(w, root, "", d)
}

func (l *loader) slothSpec(w *walker, root *yaml.Node, base string, d slothDialect) {
	native := d.native
	format := d.format
	top := []string{"service", "labels", "slos"}
	if base == "" {
		top = append(top, "version")
	}
	if d.sloPlugins != "" {
		top = append(top, d.sloPlugins)
	}
	o := w.object(root, base, top...)
	if o == nil {
		return
	}
	var groupPlugins slothPlugins
	if d.sloPlugins != "" && o.has(d.sloPlugins) {
		groupPlugins = readSlothPlugins(w, o, d.sloPlugins)
	}
	service := o.str("service", true)
	checkName(w, o.get("service"), join(base, "service"), service)
	svcLabels := o.strMap("labels")
	checkLabels(w, o, "labels", svcLabels)
	items := o.list("slos", true)
	if o.has("slos") && len(items) == 0 && o.get("slos").Kind == yaml.SequenceNode {
		w.errorf(o.get("slos"), join(base, "slos"), "must list at least one SLO")
	}
	for i, item := range items {
		path := fmt.Sprintf("%s[%d]", join(base, "slos"), i)
		fields := []string{"name", "description", "objective", "labels", "sli", "alerting"}
		if native {
			fields = append(fields, "window")
		} else {
			fields = append(fields, d.children)
		}
		so := w.object(item, path, fields...)
		if so == nil {
			continue
		}
		s := &SLO{Service: service, Format: format, Source: w.source(item), Window: Window{Duration: DefaultWindow}}
		s.Name = so.str("name", true)
		checkName(w, so.get("name"), join(path, "name"), s.Name)
		s.Description = so.str("description", false)
		plugins := groupPlugins
		if !native && so.has(d.children) {
			plugins = plugins.then(readSlothPlugins(w, so, d.children))
		}
		s.Labels = mergeLabels(svcLabels, so.strMap("labels"))
		checkLabels(w, so, "labels", so.strMap("labels"))
		if native && so.has("window") {
			s.Window = parseWindow(w, so.get("window"), join(path, "window"))
		}
		obj, objOK := so.number("objective", true)
		if objOK && obj > 0 && obj < 1 {
			// 0.9995 is a ratio written where a percentage goes.
			w.errorf(so.get("objective"), join(path, "objective"), "%s reads as %s%%: objectives are percentages; did you mean %s?",
				formatFloat(obj), formatFloat(obj), formatFloat(obj*100))
			objOK = false
		} else if objOK && !(obj > 0 && obj < 100) {
			w.errorf(so.get("objective"), join(path, "objective"), "must be a percentage strictly between 0 and 100, got %s", formatFloat(obj))
			objOK = false
		}
		s.Objective = obj
		s.SLI = slothSLI(w, so.get("sli"), join(path, "sli"), d, so.node)
		s.Alerting = slothAlerting(w, so.get("alerting"), join(path, "alerting"), d, so.node, s)
		plugins.apply(w, s)
		if objOK {
			checkTiersCanFire(w, so.get("objective"), join(path, "objective"), s)
		}
		l.add(s, so.get("name"), join(path, "name"))
	}
}

// add records s, whose name is written at n (field names it in errors).
func (l *loader) add(s *SLO, n *yaml.Node, field string) {
	if l.names == nil {
		l.names = map[*SLO]namePos{}
	}
	l.names[s] = namePos{node: n, field: field}
	l.slos = append(l.slos, s)
}

func (l *loader) checkDuplicates() {
	seen := map[string]*SLO{}
	for _, s := range l.slos {
		if s.Name == "" || s.Service == "" {
			continue
		}
		if prev, ok := seen[s.ID()]; ok {
			file, line := splitSource(s.Source)
			e := &Error{File: file, Line: line, Field: "name",
				Msg: fmt.Sprintf("duplicate SLO %q of service %q (first defined at %s)", s.Name, s.Service, prev.Source)}
			if p, ok := l.names[s]; ok && p.node != nil {
				e.Line, e.Column, e.Field = p.node.Line, p.node.Column, p.field
			}
			l.errs = append(l.errs, e)
			continue
		}
		seen[s.ID()] = s
	}
}

func splitSource(src string) (string, int) {
	i := strings.LastIndexByte(src, ':')
	if i < 0 {
		return src, 0
	}
	n, err := strconv.Atoi(src[i+1:])
	if err != nil {
		return src, 0
	}
	return src[:i], n
}

func mergeLabels(a, b map[string]string) map[string]string {
	if len(a)+len(b) == 0 {
		return nil
	}
	m := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func checkName(w *walker, n *yaml.Node, field, v string) {
	if v != "" && !nameRE.MatchString(v) {
		w.errorf(n, field, "%q is not a valid name (letters, digits, '_', '-', '.'; starting with a letter or digit)", v)
	}
}

func checkLabels(w *walker, o *object, key string, labels map[string]string) {
	if o == nil {
		return
	}
	n := o.get(key)
	for k, v := range labels {
		kn := n
		for i := 0; n != nil && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				kn = n.Content[i]
			}
		}
		field := join(join(o.path, key), k)
		switch {
		case !model.LegacyValidation.IsValidLabelName(k):
			w.errorf(kn, field, "%q is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)", k)
		case strings.HasPrefix(k, "__"):
			w.errorf(kn, field, "label names starting with __ are reserved for Prometheus")
		case reservedLabels[k]:
			w.errorf(kn, field, "label %q is set by Vane and cannot be overridden", k)
		case !utf8.ValidString(v):
			w.errorf(kn, field, "label value is not valid UTF-8")
		}
	}
}

func parseWindow(w *walker, n *yaml.Node, field string) Window {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		w.errorf(n, field, "must be a duration (e.g. 30d) or month or week, got %s", kindName(n))
		return Window{Duration: DefaultWindow}
	}
	switch n.Value {
	case CalendarMonth:
		return Window{Duration: 30 * 24 * time.Hour, Calendar: CalendarMonth}
	case CalendarWeek:
		return Window{Duration: 7 * 24 * time.Hour, Calendar: CalendarWeek}
	}
	d, err := ParseDuration(n.Value)
	if err != nil {
		w.errorf(n, field, "must be a duration (e.g. 30d) or month or week: %v", err)
		return Window{Duration: DefaultWindow}
	}
	if d < MinWindow || d > MaxWindow {
		w.errorf(n, field, "window %s is outside 7d..90d", n.Value)
		return Window{Duration: DefaultWindow}
	}
	if d%(5*time.Minute) != 0 {
		w.errorf(n, field, "window %s must be a whole number of 5m", n.Value)
	}
	return Window{Duration: d}
}

func slothSLI(w *walker, n *yaml.Node, path string, d slothDialect, parent *yaml.Node) SLI {
	if n == nil {
		w.errorf(parent, path, "required field is missing")
		return SLI{}
	}
	kinds := []string{"events", "raw", "plugin"}
	if d.native {
		kinds = []string{"events", "raw", "latency"}
	}
	o := w.object(n, path, kinds...)
	if o == nil {
		return SLI{}
	}
	set := 0
	for _, k := range kinds {
		if o.has(k) {
			set++
		}
	}
	if set != 1 {
		w.errorf(o.node, path, "must set exactly one of %s, got %d", strings.Join(kinds, ", "), set)
		return SLI{}
	}
	switch {
	case o.has("plugin"):
		return slothSLIPlugin(w, o, join(path, "plugin"))
	case o.has("events"):
		eo := w.object(o.get("events"), join(path, "events"), d.errorQuery, d.totalQuery)
		s := SLI{Kind: SLIEvents, ErrorQuery: windowVar(eo.str(d.errorQuery, true)), TotalQuery: windowVar(eo.str(d.totalQuery, true))}
		checkQuery(w, eo, d.errorQuery, s.ErrorQuery, true)
		checkQuery(w, eo, d.totalQuery, s.TotalQuery, true)
		if s.ErrorQuery != "" && strings.TrimSpace(s.ErrorQuery) == strings.TrimSpace(s.TotalQuery) {
			w.errorf(eo.get(d.errorQuery), join(eo.path, d.errorQuery), "the error and total queries are the same")
		}
		return s
	case o.has("raw"):
		ro := w.object(o.get("raw"), join(path, "raw"), d.errorRatioQuery)
		s := SLI{Kind: SLIRaw, ErrorRatioQuery: windowVar(ro.str(d.errorRatioQuery, true))}
		checkQuery(w, ro, d.errorRatioQuery, s.ErrorRatioQuery, true)
		return s
	default:
		lo := w.object(o.get("latency"), join(path, "latency"), "metric", "selector", "threshold", "native")
		if lo == nil {
			return SLI{}
		}
		lat := &LatencySLI{Metric: lo.str("metric", true), Selector: lo.str("selector", false), Native: lo.boolean("native")}
		if lat.Metric != "" && (!model.LegacyValidation.IsValidMetricName(lat.Metric) || strings.HasSuffix(lat.Metric, "_bucket")) {
			w.errorf(lo.get("metric"), join(lo.path, "metric"), "%q is not a histogram name (a metric name without _bucket/_count)", lat.Metric)
		}
		if lat.Selector != "" {
			if _, err := promqlParser.ParseMetricSelector("{" + lat.Selector + "}"); err != nil {
				w.errorf(lo.get("selector"), join(lo.path, "selector"), "invalid label matchers: %v", err)
			}
		}
		th, ok := lo.number("threshold", true)
		if ok && !(th > 0) || math.IsInf(th, 0) {
			w.errorf(lo.get("threshold"), join(lo.path, "threshold"), "must be a positive number of seconds, got %s", formatFloat(th))
		}
		lat.Threshold = th
		s := SLI{Kind: SLILatency, Latency: lat}
		s.ErrorQuery, s.TotalQuery = lat.queries()
		return s
	}
}

// windowVarRE matches the window placeholder as Sloth accepts it, with
// optional spaces: {{.window}}, {{ .window }}.
var windowVarRE = regexp.MustCompile(`{{ *\.window *}}`)

// windowVar writes every form of the window placeholder as WindowVar.
func windowVar(q string) string {
	if !strings.Contains(q, "{{") {
		return q
	}
	return windowVarRE.ReplaceAllLiteralString(q, WindowVar)
}

// checkQuery parses q with Prometheus's own PromQL parser, after putting a
// range in place of {{.window}}, which event queries must contain.
func checkQuery(w *walker, o *object, key, q string, needWindow bool) {
	if o == nil || q == "" {
		return
	}
	field := join(o.path, key)
	n := o.get(key)
	for _, m := range templateVarRE.FindAllStringSubmatch(q, -1) {
		if "{{."+m[1]+"}}" != WindowVar {
			msg := fmt.Sprintf("unknown template variable {{.%s}}: the only one is %s", m[1], WindowVar)
			if yamlpos.Closest(m[1], []string{"window"}) != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", WindowVar)
			}
			w.errorf(n, field, "%s", msg)
			return
		}
	}
	if needWindow && !strings.Contains(q, WindowVar) {
		w.errorf(n, field, "query must contain %s where the range goes, e.g. rate(x[%s])", WindowVar, WindowVar)
		return
	}
	if err := parseQuery(strings.ReplaceAll(q, WindowVar, "5m")); err != nil {
		w.errorf(n, field, "invalid PromQL: %v", err)
	}
}

// templateVarRE finds template variables such as {{.window}} and
// {{ .windw }} in a query.
var templateVarRE = regexp.MustCompile(`\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

func parseQuery(q string) error {
	expr, err := promqlParser.ParseExpr(q)
	if err != nil {
		return err
	}
	if t := expr.Type(); t != parser.ValueTypeVector && t != parser.ValueTypeScalar {
		return fmt.Errorf("query returns a %s; it must return an instant vector", t)
	}
	return nil
}

func slothAlerting(w *walker, n *yaml.Node, path string, d slothDialect, parent *yaml.Node, s *SLO) Alerting {
	if n == nil {
		w.errorf(parent, path, "required field is missing")
		return Alerting{}
	}
	native := d.native
	fields := []string{"name", "labels", "annotations", d.pageAlert, d.ticketAlert}
	if native {
		fields = append(fields, "tiers", "min_events", "runbook_url")
	}
	o := w.object(n, path, fields...)
	if o == nil {
		return Alerting{}
	}
	a := Alerting{Name: o.str("name", false), Labels: o.strMap("labels"), Annotations: o.strMap("annotations")}
	if a.Name != "" && !model.LegacyValidation.IsValidMetricName(a.Name) {
		w.errorf(o.get("name"), join(path, "name"), "%q is not a valid alert name ([a-zA-Z_:][a-zA-Z0-9_:]*)", a.Name)
	}
	checkLabels(w, o, "labels", a.Labels)
	a.PageAlert = alertConfig(w, o, d.pageAlert)
	a.TicketAlert = alertConfig(w, o, d.ticketAlert)
	// As in Sloth, the name is needed only when an alert is generated.
	if a.Name == "" && (!a.PageAlert.Disable || !a.TicketAlert.Disable) {
		if nn := o.get("name"); nn != nil && nn.Tag != "!!null" {
			if strings.TrimSpace(nn.Value) == "" {
				w.errorf(nn, join(path, "name"), "must not be empty")
			}
		} else {
			w.errorf(o.node, join(path, "name"), "required field is missing (it names the page and ticket alerts; it may be left out only when both are disabled)")
		}
	}
	if native {
		a.RunbookURL = o.str("runbook_url", false)
		if x, ok := o.number("min_events", false); ok {
			if x < 0 {
				w.errorf(o.get("min_events"), join(path, "min_events"), "must not be negative")
			}
			if s.SLI.Kind == SLIRaw {
				w.errorf(o.get("min_events"), join(path, "min_events"), "needs an events or latency SLI (a raw ratio has no event count)")
			}
			a.MinEvents = x
		}
		if o.has("tiers") {
			a.Tiers = parseTiers(w, o, s.Window.Duration)
		}
	}
	return a
}

func alertConfig(w *walker, parent *object, key string) AlertConfig {
	if !parent.has(key) {
		return AlertConfig{}
	}
	o := w.object(parent.get(key), join(parent.path, key), "disable", "labels", "annotations")
	if o == nil {
		return AlertConfig{}
	}
	c := AlertConfig{Disable: o.boolean("disable"), Labels: o.strMap("labels"), Annotations: o.strMap("annotations")}
	checkLabels(w, o, "labels", c.Labels)
	return c
}

func parseTiers(w *walker, o *object, window time.Duration) []Tier {
	items := o.list("tiers", false)
	if len(items) == 0 {
		w.errorf(o.at("tiers"), join(o.path, "tiers"), "must list at least one tier (or be left out for the defaults)")
		return nil
	}
	var out []Tier
	for i, it := range items {
		path := fmt.Sprintf("%s.tiers[%d]", o.path, i)
		to := w.object(it, path, "severity", "long", "short", "budget_percent", "burn_rate")
		if to == nil {
			continue
		}
		t := Tier{Severity: Severity(to.str("severity", true))}
		if t.Severity != "" && t.Severity != SeverityPage && t.Severity != SeverityTicket {
			w.errorf(to.get("severity"), join(path, "severity"), "must be page or ticket, got %q", t.Severity)
		}
		long := tierDuration(w, to, "long")
		short := tierDuration(w, to, "short")
		t.Long, t.Short = long, short
		if long > 0 && short > 0 && short >= long {
			w.errorf(to.get("short"), join(path, "short"), "short window %s must be shorter than the long window %s", FormatDuration(short), FormatDuration(long))
		}
		if long > window {
			w.errorf(to.get("long"), join(path, "long"), "long window %s is longer than the SLO window %s", FormatDuration(long), FormatDuration(window))
		}
		bp, hasBP := to.number("budget_percent", false)
		br, hasBR := to.number("burn_rate", false)
		switch {
		case hasBP == hasBR && !(to.has("budget_percent") != to.has("burn_rate")):
			w.errorf(it, path, "must set exactly one of budget_percent, burn_rate")
		case hasBP:
			if !(bp > 0 && bp <= 100) {
				w.errorf(to.get("budget_percent"), join(path, "budget_percent"), "must be in (0, 100], got %s", formatFloat(bp))
			} else if long > 0 {
				t.BudgetFraction = roundFloat(bp / 100)
				t.BurnRate = BurnRateForFraction(t.BudgetFraction, window, long)
			}
		case hasBR:
			if !(br > 0) || math.IsInf(br, 0) {
				w.errorf(to.get("burn_rate"), join(path, "burn_rate"), "must be a positive number, got %s", formatFloat(br))
			} else if long > 0 {
				t.BurnRate = br
				t.BudgetFraction = FractionForBurnRate(br, window, long)
			}
		}
		out = append(out, t)
	}
	return out
}

func tierDuration(w *walker, o *object, key string) time.Duration {
	s := o.str(key, true)
	if s == "" {
		return 0
	}
	d, err := ParseDuration(s)
	if err != nil || d <= 0 {
		w.errorf(o.get(key), join(o.path, key), "must be a positive duration like 1h or 5m, got %q", s)
		return 0
	}
	if d%time.Minute != 0 || d < time.Minute {
		w.errorf(o.get(key), join(o.path, key), "must be a whole number of minutes, got %q", s)
		return 0
	}
	return d
}

// checkTiersCanFire reports tiers that no error ratio can trigger: a tier
// fires above BurnRate × (1 − target), and an error ratio is at most 1.
func checkTiersCanFire(w *walker, n *yaml.Node, field string, s *SLO) {
	if len(s.Alerting.Tiers) == 0 && s.Alerting.Name == "" {
		return
	}
	for _, t := range s.Tiers() {
		if t.BurnRate <= 0 || t.Long <= 0 {
			continue
		}
		if th := t.Threshold(s.Target()); th >= 1 {
			w.errorf(n, field, "a %s%% SLO can never fire the %s tier: even a full outage burns the budget at %sx, not above %sx (%s%% of a %s budget in %s); raise the objective or set alerting.tiers",
				formatFloat(s.Objective), t.Severity, formatFloat(roundFloat(1/s.ErrorBudget())), formatFloat(t.BurnRate),
				formatFloat(roundFloat(t.BudgetFraction*100)), FormatDuration(s.Window.Duration), FormatDuration(t.Long))
			return
		}
	}
}
