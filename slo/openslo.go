package slo

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// OpenSLO v1 support (github.com/OpenSLO/OpenSLO, v1 "SLO" and "SLI" kinds):
// an SLO with an occurrences budget, one objective, a rolling or calendar
// time window and a ratioMetric SLI (good or bad over total) whose metric
// sources are Prometheus queries. Queries follow the same convention as
// Sloth's: per-second rates with {{.window}} where the range goes.

type openSLI struct {
	sli  SLI
	node *yaml.Node
	ok   bool
}

type pendingRef struct {
	w    *walker
	slo  *SLO
	name string
	node *yaml.Node
	path string
}

func (l *loader) openSLO(w *walker, root *yaml.Node) {
	o := w.object(root, "", "apiVersion", "kind", "metadata", "spec")
	if o == nil {
		return
	}
	kind := o.str("kind", true)
	md := w.object(o.get("metadata"), "metadata", "name", "displayName", "labels", "annotations", "namespace")
	if !o.has("metadata") {
		w.errorf(root, "metadata", "required field is missing")
		return
	}
	name := md.str("name", true)
	checkName(w, md.get("name"), "metadata.name", name)
	switch kind {
	case "SLI":
		so := w.object(o.get("spec"), "spec", "description", "thresholdMetric", "ratioMetric")
		if !o.has("spec") {
			w.errorf(root, "spec", "required field is missing")
			return
		}
		sli, ok := openRatio(w, so)
		if name != "" {
			if prev, dup := l.slis[name]; dup {
				w.errorf(md.get("name"), "metadata.name", "duplicate SLI %q (first defined at line %d)", name, prev.node.Line)
				return
			}
			l.slis[name] = openSLI{sli: sli, node: root, ok: ok}
		}
	case "SLO":
		l.openSLOSpec(w, root, o, md, name)
	case "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget":
		// Other OpenSLO kinds carry nothing Vane needs; they may share a file.
	case "":
	default:
		w.errorf(o.get("kind"), "kind", "unknown OpenSLO kind %q (want SLO or SLI)", kind)
	}
}

func (l *loader) openSLOSpec(w *walker, root *yaml.Node, o, md *object, name string) {
	sp := w.object(o.get("spec"), "spec", "description", "service", "indicator", "indicatorRef", "timeWindow",
		"budgetingMethod", "objectives", "alertPolicies")
	if !o.has("spec") {
		w.errorf(root, "spec", "required field is missing")
		return
	}
	if sp == nil {
		return
	}
	s := &SLO{Name: name, Format: FormatOpenSLO, Source: w.source(root), Window: Window{Duration: DefaultWindow}}
	s.Description = sp.str("description", false)
	s.Service = sp.str("service", true)
	checkName(w, sp.get("service"), "spec.service", s.Service)
	s.Labels = openLabels(w, md)
	timeslices := false
	if bm := sp.str("budgetingMethod", true); bm != "" && bm != "Occurrences" {
		w.errorf(sp.get("budgetingMethod"), "spec.budgetingMethod", "only Occurrences is supported, got %q (Vane counts events; time-slice budgets are not supported)", bm)
		timeslices = true
	}
	// Time window: exactly one.
	if tws := sp.list("timeWindow", false); len(tws) > 1 {
		w.errorf(sp.get("timeWindow"), "spec.timeWindow", "must list exactly one time window, got %d", len(tws))
	} else if len(tws) == 1 {
		s.Window = openWindow(w, tws[0])
	}
	// Objective: exactly one, with target (0..1) or targetPercent.
	objs := sp.list("objectives", true)
	if sp.has("objectives") && len(objs) != 1 {
		w.errorf(sp.at("objectives"), "spec.objectives", "must list exactly one objective, got %d", len(objs))
	}
	var objNode *yaml.Node
	if len(objs) == 1 {
		oo := w.object(objs[0], "spec.objectives[0]", "displayName", "target", "targetPercent", "op", "value", "timeSliceTarget", "timeSliceWindow", "indicator", "indicatorRef", "compositeWeight")
		for _, k := range []string{"op", "value", "timeSliceTarget", "timeSliceWindow", "indicator", "indicatorRef", "compositeWeight"} {
			if oo.has(k) && !timeslices {
				w.errorf(oo.keys[k], join("spec.objectives[0]", k), "not supported: Vane reads ratio (Occurrences) objectives with target or targetPercent")
			}
		}
		if oo != nil {
			switch {
			case oo.has("target") && oo.has("targetPercent"), !oo.has("target") && !oo.has("targetPercent"):
				w.errorf(oo.node, "spec.objectives[0]", "must set exactly one of target, targetPercent")
			case oo.has("target"):
				if x, ok := quotedNumber(oo, "target"); ok {
					objNode = oo.get("target")
					if !(x > 0 && x < 1) {
						w.errorf(objNode, "spec.objectives[0].target", "must be a ratio strictly between 0 and 1, got %s", formatFloat(x))
						objNode = nil
					}
					s.Objective = roundFloat(x * 100)
				}
			default:
				if x, ok := quotedNumber(oo, "targetPercent"); ok {
					objNode = oo.get("targetPercent")
					if !(x > 0 && x < 100) {
						w.errorf(objNode, "spec.objectives[0].targetPercent", "must be a percentage strictly between 0 and 100, got %s", formatFloat(x))
						objNode = nil
					}
					s.Objective = x
				}
			}
		}
	}
	s.Alerting = Alerting{Name: alertNameFor(name)}
	if sp.has("alertPolicies") {
		s.Alerting.Tiers = openAlertPolicies(w, sp, s.Window.Duration)
	}
	switch {
	case sp.has("indicator") == sp.has("indicatorRef"):
		w.errorf(sp.node, "spec", "must set exactly one of indicator, indicatorRef")
	case sp.has("indicator"):
		io := w.object(sp.get("indicator"), "spec.indicator", "metadata", "spec")
		if io != nil {
			im := w.object(io.get("metadata"), "spec.indicator.metadata", "name", "displayName", "labels", "annotations")
			_ = im
			is := w.object(io.get("spec"), "spec.indicator.spec", "description", "thresholdMetric", "ratioMetric")
			if !io.has("spec") {
				w.errorf(io.node, "spec.indicator.spec", "required field is missing")
			} else {
				s.SLI, _ = openRatio(w, is)
			}
		}
	default:
		ref := sp.str("indicatorRef", true)
		if ref != "" {
			l.pending = append(l.pending, pendingRef{w: w, slo: s, name: ref, node: sp.get("indicatorRef"), path: "spec.indicatorRef"})
		}
	}
	if objNode != nil {
		checkTiersCanFire(w, objNode, "spec.objectives[0]", s)
	}
	l.add(s, md.get("name"), "metadata.name")
}

// resolveOpenSLO fills the SLIs of SLOs that reference SLI documents, which
// may come from any file and in any order.
func (l *loader) resolveOpenSLO() {
	for _, p := range l.pending {
		sli, ok := l.slis[p.name]
		if !ok {
			e := &Error{File: p.w.file, Line: p.node.Line, Column: p.node.Column, Field: p.path,
				Msg: fmt.Sprintf("no OpenSLO SLI named %q in the loaded files", p.name)}
			l.errs = append(l.errs, e)
			continue
		}
		p.slo.SLI = sli.sli
	}
}

func openWindow(w *walker, n *yaml.Node) Window {
	o := w.object(n, "spec.timeWindow[0]", "duration", "isRolling", "calendar")
	if o == nil {
		return Window{Duration: DefaultWindow}
	}
	d := o.str("duration", true)
	rolling := o.boolean("isRolling")
	dn := o.get("duration")
	field := "spec.timeWindow[0].duration"
	if !rolling {
		switch d {
		case "1M":
			return Window{Duration: 30 * 24 * time.Hour, Calendar: CalendarMonth}
		case "1w":
			return Window{Duration: 7 * 24 * time.Hour, Calendar: CalendarWeek}
		case "":
			return Window{Duration: DefaultWindow}
		}
		w.errorf(dn, field, "calendar windows must be 1M or 1w, got %q", d)
		return Window{Duration: DefaultWindow}
	}
	if d == "" {
		return Window{Duration: DefaultWindow}
	}
	// OpenSLO durations also count weeks (w) and months (M, taken as 30d,
	// as Sloth and Pyrra do); Prometheus's parser reads w but not M.
	if n, ok := strings.CutSuffix(d, "M"); ok {
		if k, err := strconv.Atoi(n); err == nil && k > 0 {
			c := *dn
			c.Value = strconv.Itoa(30*k) + "d"
			return parseWindow(w, &c, field)
		}
	}
	return parseWindow(w, dn, field)
}

// openRatio reads an OpenSLO SLI spec's ratioMetric: good or bad over
// total, or a raw ratio. Queries hold {{.window}} where the range goes
// (returning per-second rates over it), or, without it, are the SLI's raw
// counters (a metric selector, or a sum of one), over which Vane builds its
// own windows as rates.
func openRatio(w *walker, o *object) (SLI, bool) {
	if o == nil {
		return SLI{}, false
	}
	if o.has("thresholdMetric") {
		w.errorf(o.keys["thresholdMetric"], join(o.path, "thresholdMetric"), "threshold metrics are not supported; use ratioMetric")
		return SLI{}, false
	}
	if !o.has("ratioMetric") {
		w.errorf(o.node, join(o.path, "ratioMetric"), "required field is missing")
		return SLI{}, false
	}
	path := join(o.path, "ratioMetric")
	r := w.object(o.get("ratioMetric"), path, "counter", "good", "bad", "total", "rawType", "raw")
	if r == nil {
		return SLI{}, false
	}
	counter := r.boolean("counter")
	if r.has("raw") {
		for _, k := range []string{"good", "bad", "total"} {
			if r.has(k) {
				w.errorf(r.keys[k], join(path, k), "must not be set with raw")
				return SLI{}, false
			}
		}
		rt := r.str("rawType", true)
		if rt != "" && rt != "success" && rt != "failure" {
			w.errorf(r.get("rawType"), join(path, "rawType"), "must be success or failure, got %q", rt)
			return SLI{}, false
		}
		q := openQuery(w, r, "raw", false, false)
		if q == "" || rt == "" {
			return SLI{}, false
		}
		if rt == "success" {
			q = "1 - (" + q + ")"
		}
		return SLI{Kind: SLIRaw, ErrorRatioQuery: q}, true
	}
	if r.has("good") == r.has("bad") {
		w.errorf(r.node, path, "must set exactly one of good, bad (or raw)")
		return SLI{}, false
	}
	total := openQuery(w, r, "total", counter, true)
	if r.has("good") {
		good := openQuery(w, r, "good", counter, true)
		if good == "" || total == "" {
			return SLI{}, false
		}
		return SLI{Kind: SLIEvents, ErrorQuery: "(" + total + ") - (" + good + ")", TotalQuery: total}, true
	}
	bad := openQuery(w, r, "bad", counter, true)
	if bad == "" || total == "" {
		return SLI{}, false
	}
	return SLI{Kind: SLIEvents, ErrorQuery: bad, TotalQuery: total}, true
}

// openQuery reads the Prometheus query of r.key. A query without
// {{.window}} is taken as raw counters (events) or an instant ratio (raw).
func openQuery(w *walker, r *object, key string, counter, events bool) string {
	path := join(r.path, key)
	if !r.has(key) {
		w.errorf(r.node, path, "required field is missing")
		return ""
	}
	mo := w.object(r.get(key), path, "metricSource")
	if mo == nil {
		return ""
	}
	ms := w.object(mo.get("metricSource"), join(path, "metricSource"), "metricSourceRef", "type", "spec")
	if !mo.has("metricSource") {
		w.errorf(mo.node, join(path, "metricSource"), "required field is missing")
		return ""
	}
	if ms == nil {
		return ""
	}
	if t := ms.str("type", false); t != "" && !promQLSources[strings.ToLower(t)] {
		w.errorf(ms.get("type"), join(ms.path, "type"), "only PromQL metric sources (Prometheus, Mimir, Thanos, Cortex) are supported, got %q", t)
		return ""
	}
	if !ms.has("spec") {
		w.errorf(ms.node, join(ms.path, "spec"), "required field is missing")
		return ""
	}
	// The query is spec.query (or spec.promql), or spec itself as a string.
	var q string
	qs, qkey := ms, "spec"
	if sn := ms.get("spec"); sn.Kind == yaml.ScalarNode && sn.Tag != "!!null" {
		q = windowVar(strings.TrimSpace(sn.Value))
	} else {
		// metricSource.spec is data-source specific in OpenSLO: keys other
		// than the query (dimensions, …) are warnings, not errors.
		lenient := w.lenient
		w.lenient = true
		qs = w.object(sn, join(ms.path, "spec"), "query", "promql")
		w.lenient = lenient
		qkey = "query"
		if qs != nil && !qs.has("query") && qs.has("promql") {
			qkey = "promql"
		}
		q = windowVar(strings.TrimSpace(qs.str(qkey, true)))
	}
	if q == "" {
		return ""
	}
	before := len(w.errs)
	if !strings.Contains(q, WindowVar) {
		if err := parseQuery(q); err != nil {
			w.errorf(qs.get(qkey), join(qs.path, qkey), "invalid PromQL: %v", err)
			return ""
		}
		if !events {
			// An instant ratio: Vane averages it over each window.
			return fmt.Sprintf("avg_over_time((%s)[%s:])", q, WindowVar)
		}
		rq, err := counterRate(q)
		if err != nil {
			w.errorf(qs.get(qkey), join(qs.path, qkey), "a query without %s must read counters (a metric selector or a sum of one), from which Vane builds its windows: %v", WindowVar, err)
			return ""
		}
		_ = counter
		return rq
	}
	checkQuery(w, qs, qkey, q, true)
	if len(w.errs) > before {
		return ""
	}
	return q
}

// quotedNumber reads a number that may be written as a string ('0.99'), as
// Kubernetes-flavoured OpenSLO files do.
func quotedNumber(o *object, key string) (float64, bool) {
	if n := o.get(key); n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		if x, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64); err == nil {
			return x, true
		}
	}
	return o.number(key, false)
}

// promQLSources are the OpenSLO metric source types whose queries are PromQL.
var promQLSources = map[string]bool{"prometheus": true, "mimir": true, "thanos": true, "cortex": true}

// counterRate turns a counter query (sel, sum(sel), sum by (l) (sel)) into
// its per-second rate over {{.window}}: sum(rate(sel[{{.window}}])).
func counterRate(q string) (string, error) {
	expr, err := promqlParser.ParseExpr(q)
	if err != nil {
		return "", err
	}
	expr = unparen(expr)
	switch e := expr.(type) {
	case *parser.VectorSelector:
		return fmt.Sprintf("sum(rate(%s[%s]))", e.String(), WindowVar), nil
	case *parser.AggregateExpr:
		vs, ok := unparen(e.Expr).(*parser.VectorSelector)
		if e.Op != parser.SUM || !ok {
			break
		}
		grouping := ""
		if len(e.Grouping) > 0 {
			kw := "by"
			if e.Without {
				kw = "without"
			}
			grouping = fmt.Sprintf(" %s (%s)", kw, strings.Join(e.Grouping, ", "))
		}
		return fmt.Sprintf("sum%s (rate(%s[%s]))", grouping, vs.String(), WindowVar), nil
	}
	return "", fmt.Errorf("got %q", q)
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// openLabels reads OpenSLO metadata labels, whose values may be a string
// or a list of strings (joined with ",").
func openLabels(w *walker, md *object) map[string]string {
	n := md.get("labels")
	if n == nil || n.Kind != yaml.MappingNode {
		m := md.strMap("labels")
		checkLabels(w, md, "labels", m)
		return m
	}
	m := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if !model.LegacyValidation.IsValidLabelName(k.Value) {
			// Kubernetes-style object labels (team.example.com/x) cannot
			// be Prometheus labels.
			w.warnf(k, join(join(md.path, "labels"), k.Value), "not a valid Prometheus label name; the label is not added to the rules")
			continue
		}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
			m[k.Value] = v.Value
		case v.Kind == yaml.SequenceNode:
			var vals []string
			for _, c := range v.Content {
				if c = resolve(c); c.Kind == yaml.ScalarNode {
					vals = append(vals, c.Value)
				}
			}
			m[k.Value] = strings.Join(vals, ",")
		default:
			w.errorf(v, join(join(md.path, "labels"), k.Value), "must be a string or a list of strings, got %s", kindName(v))
		}
	}
	checkLabels(w, md, "labels", m)
	if len(m) == 0 {
		return nil
	}
	return m
}

// openAlertPolicies maps OpenSLO alert policies to Vane's tiers: each
// inline burn-rate condition (op gt/gte, threshold = burn rate,
// lookbackWindow = long window) becomes a tier whose short window is a
// twelfth of the long one, as in the SRE Workbook; severity page when the
// condition's severity reads critical/page/high, else ticket. What cannot
// be mapped (references to other documents, other kinds, alertAfter,
// notification targets) is a warning, and without any mapped condition
// the default tiers stay.
func openAlertPolicies(w *walker, sp *object, window time.Duration) []Tier {
	var tiers []Tier
	for i, pn := range sp.list("alertPolicies", false) {
		path := fmt.Sprintf("spec.alertPolicies[%d]", i)
		po := w.object(pn, path, "kind", "metadata", "spec", "alertPolicyRef", "apiVersion")
		if po == nil {
			continue
		}
		if po.has("alertPolicyRef") {
			w.warnf(po.get("alertPolicyRef"), join(path, "alertPolicyRef"), "alert policy references are not mapped; Vane's default tiers apply")
			continue
		}
		ps := w.object(po.get("spec"), join(path, "spec"), "description", "alertWhenNoData", "alertWhenResolved", "alertWhenBreaching", "conditions", "notificationTargets")
		if ps == nil {
			continue
		}
		if ps.has("notificationTargets") {
			w.warnf(ps.keys["notificationTargets"], join(ps.path, "notificationTargets"), "notification targets are not mapped: route Vane's alerts in Alertmanager")
		}
		for j, cn := range ps.list("conditions", false) {
			cpath := fmt.Sprintf("%s.conditions[%d]", ps.path, j)
			co := w.object(cn, cpath, "kind", "metadata", "spec", "conditionRef", "apiVersion")
			if co == nil {
				continue
			}
			if co.has("conditionRef") {
				w.warnf(co.get("conditionRef"), join(cpath, "conditionRef"), "alert condition references are not mapped")
				continue
			}
			cs := w.object(co.get("spec"), join(cpath, "spec"), "description", "severity", "condition")
			cc := w.object(cs.get("condition"), join(cpath, "spec.condition"), "kind", "op", "threshold", "lookbackWindow", "alertAfter")
			if cc == nil {
				continue
			}
			if k := cc.str("kind", false); !strings.EqualFold(k, "burnrate") {
				w.warnf(cc.node, cc.path, "only burnrate conditions are mapped to tiers, got kind %q", k)
				continue
			}
			if op := cc.str("op", false); op != "" && op != "gt" && op != "gte" {
				w.warnf(cc.get("op"), join(cc.path, "op"), "only op gt or gte is mapped to a tier, got %q", op)
				continue
			}
			br, ok := cc.number("threshold", true)
			if !ok || !(br > 0) {
				w.warnf(cc.at("threshold"), join(cc.path, "threshold"), "a burn rate above 0 is needed to map this condition")
				continue
			}
			lb := cc.str("lookbackWindow", true)
			long, err := ParseDuration(lb)
			if err != nil || long < 12*time.Minute || long > window {
				w.warnf(cc.at("lookbackWindow"), join(cc.path, "lookbackWindow"), "lookback window %q is not between 12m and the SLO window %s; condition not mapped", lb, FormatDuration(window))
				continue
			}
			long = long.Truncate(time.Minute)
			if cc.has("alertAfter") {
				w.warnf(cc.keys["alertAfter"], join(cc.path, "alertAfter"), "alertAfter is not mapped: Vane's tiers need their short window to agree instead")
			}
			sev := SeverityTicket
			switch strings.ToLower(cs.str("severity", false)) {
			case "critical", "page", "high", "error":
				sev = SeverityPage
			}
			short := max((long / 12).Truncate(time.Minute), time.Minute)
			tiers = append(tiers, Tier{Severity: sev, Long: long, Short: short, BurnRate: br,
				BudgetFraction: FractionForBurnRate(br, window, long)})
		}
	}
	if len(tiers) == 0 {
		w.warnf(sp.keys["alertPolicies"], "spec.alertPolicies", "no burn-rate condition could be mapped to a tier; Vane's default tiers apply")
	}
	return tiers
}

// alertNameFor turns an OpenSLO name into an alert name:
// "checkout-availability" → "SLOCheckoutAvailabilityBudgetBurn".
func alertNameFor(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' && b.Len() > 0:
			if up {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return "SLO" + b.String() + "BudgetBurn"
}

// openSLOAlpha reads an OpenSLO v1alpha SLO as Sloth v0.16 does: one SLO
// per objective, named "<metadata.name>-<index>", each with a
// ratioMetrics SLI (good over total, Prometheus PromQL queries), a window
// of whole days (timeWindows count × Day, default 30d) and, as in Sloth,
// no alerts (v1alpha has no alert name).
func (l *loader) openSLOAlpha(w *walker, root *yaml.Node) {
	o := w.object(root, "", "apiVersion", "kind", "metadata", "spec")
	if o == nil {
		return
	}
	switch kind := o.str("kind", true); kind {
	case "SLO", "":
	case "Service":
		return // carries nothing Vane needs
	default:
		w.errorf(o.get("kind"), "kind", "only kinds SLO and Service of %s are supported, got %q", FormatOpenSLOAlpha, kind)
		return
	}
	md := w.object(o.get("metadata"), "metadata", "name", "displayName", "labels", "annotations", "namespace")
	name := md.str("name", true)
	sp := w.object(o.get("spec"), "spec", "description", "service", "budgetingMethod", "objectives", "timeWindows", "indicator")
	if sp == nil {
		w.errorf(root, "spec", "required field is missing")
		return
	}
	service := sp.str("service", true)
	checkName(w, sp.get("service"), "spec.service", service)
	if bm := sp.str("budgetingMethod", false); bm != "" && bm != "Occurrences" {
		w.errorf(sp.get("budgetingMethod"), "spec.budgetingMethod", "only Occurrences is supported, got %q", bm)
	}
	window := Window{Duration: DefaultWindow}
	if tws := sp.list("timeWindows", false); len(tws) > 1 {
		w.errorf(sp.get("timeWindows"), "spec.timeWindows", "only one time window is supported, got %d", len(tws))
	} else if len(tws) == 1 {
		tw := w.object(tws[0], "spec.timeWindows[0]", "count", "unit", "isRolling", "calendar")
		if u := tw.str("unit", true); u != "" && !strings.EqualFold(u, "day") {
			w.errorf(tw.get("unit"), "spec.timeWindows[0].unit", "only Day windows are supported (as in Sloth), got %q", u)
		} else if c, ok := tw.number("count", true); ok {
			n := *tw.get("count")
			n.Value = formatFloat(c) + "d"
			window = parseWindow(w, &n, "spec.timeWindows[0].count")
		}
	}
	objs := sp.list("objectives", true)
	if sp.has("objectives") && len(objs) == 0 {
		w.errorf(sp.at("objectives"), "spec.objectives", "must list at least one objective")
	}
	for i, on := range objs {
		path := fmt.Sprintf("spec.objectives[%d]", i)
		oo := w.object(on, path, "displayName", "op", "value", "target", "timeSliceTarget", "ratioMetrics")
		if oo == nil {
			continue
		}
		s := &SLO{Name: fmt.Sprintf("%s-%d", name, i), Service: service, Format: FormatOpenSLOAlpha, Source: w.source(on), Window: window,
			Description: sp.str("description", false),
			Alerting:    Alerting{PageAlert: AlertConfig{Disable: true}, TicketAlert: AlertConfig{Disable: true}}}
		if x, ok := oo.number("target", true); ok {
			if !(x > 0 && x < 1) {
				w.errorf(oo.get("target"), join(path, "target"), "must be a ratio strictly between 0 and 1, got %s", formatFloat(x))
			}
			s.Objective = roundFloat(x * 100)
		}
		if !oo.has("ratioMetrics") {
			w.errorf(oo.node, join(path, "ratioMetrics"), "required field is missing (Vane, like Sloth, reads ratio SLIs)")
		} else {
			s.SLI = alphaRatio(w, oo, join(path, "ratioMetrics"))
		}
		l.add(s, oo.node, path)
	}
}

func alphaRatio(w *walker, oo *object, path string) SLI {
	r := w.object(oo.get("ratioMetrics"), path, "good", "total", "counter")
	if r == nil {
		return SLI{}
	}
	q := func(key string) string {
		qo := w.object(r.get(key), join(path, key), "source", "queryType", "query", "metadata")
		if qo == nil {
			w.errorf(r.node, join(path, key), "required field is missing")
			return ""
		}
		if src := qo.str("source", true); src != "" && src != "prometheus" && src != "sloth" {
			w.errorf(qo.get("source"), join(qo.path, "source"), "only prometheus sources are supported, got %q", src)
			return ""
		}
		if qt := qo.str("queryType", true); qt != "" && qt != "promql" {
			w.errorf(qo.get("queryType"), join(qo.path, "queryType"), "only promql queries are supported, got %q", qt)
			return ""
		}
		s := windowVar(qo.str("query", true))
		before := len(w.errs)
		checkQuery(w, qo, "query", s, true)
		if len(w.errs) > before {
			return ""
		}
		return s
	}
	good, total := q("good"), q("total")
	if good == "" || total == "" {
		return SLI{}
	}
	return SLI{Kind: SLIEvents, ErrorQuery: "(" + total + ") - (" + good + ")", TotalQuery: total}
}
