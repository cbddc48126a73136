package slo

import (
	"fmt"
	"strings"
	"time"
	"unicode"

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
	md := w.object(o.get("metadata"), "metadata", "name", "displayName", "labels", "annotations")
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
	s.Labels = md.strMap("labels")
	checkLabels(w, md, "labels", s.Labels)
	if bm := sp.str("budgetingMethod", true); bm != "" && bm != "Occurrences" {
		w.errorf(sp.get("budgetingMethod"), "spec.budgetingMethod", "only Occurrences is supported, got %q", bm)
	}
	if sp.has("alertPolicies") {
		w.errorf(sp.keys["alertPolicies"], "spec.alertPolicies", "OpenSLO alert policies are not supported; Vane generates multi-window multi-burn-rate alerts")
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
		oo := w.object(objs[0], "spec.objectives[0]", "displayName", "target", "targetPercent")
		if oo != nil {
			switch {
			case oo.has("target") && oo.has("targetPercent"), !oo.has("target") && !oo.has("targetPercent"):
				w.errorf(oo.node, "spec.objectives[0]", "must set exactly one of target, targetPercent")
			case oo.has("target"):
				if x, ok := oo.number("target", false); ok {
					objNode = oo.get("target")
					if !(x > 0 && x < 1) {
						w.errorf(objNode, "spec.objectives[0].target", "must be a ratio strictly between 0 and 1, got %s", formatFloat(x))
						objNode = nil
					}
					s.Objective = roundFloat(x * 100)
				}
			default:
				if x, ok := oo.number("targetPercent", false); ok {
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
	l.add(s, root)
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
	return parseWindow(w, dn, field)
}

// openRatio reads an OpenSLO SLI spec's ratioMetric.
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
	if r.has("raw") {
		w.errorf(r.keys["raw"], join(path, "raw"), "raw ratio metrics are not supported; use good or bad with total")
		return SLI{}, false
	}
	if r.has("good") == r.has("bad") {
		w.errorf(r.node, path, "must set exactly one of good, bad")
		return SLI{}, false
	}
	total := openQuery(w, r, "total")
	if r.has("good") {
		good := openQuery(w, r, "good")
		if good == "" || total == "" {
			return SLI{}, false
		}
		return SLI{Kind: SLIEvents, ErrorQuery: "(" + total + ") - (" + good + ")", TotalQuery: total}, true
	}
	bad := openQuery(w, r, "bad")
	if bad == "" || total == "" {
		return SLI{}, false
	}
	return SLI{Kind: SLIEvents, ErrorQuery: bad, TotalQuery: total}, true
}

func openQuery(w *walker, r *object, key string) string {
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
	if t := ms.str("type", false); t != "" && !strings.EqualFold(t, "prometheus") {
		w.errorf(ms.get("type"), join(ms.path, "type"), "only Prometheus metric sources are supported, got %q", t)
		return ""
	}
	qs := w.object(ms.get("spec"), join(ms.path, "spec"), "query")
	if !ms.has("spec") {
		w.errorf(ms.node, join(ms.path, "spec"), "required field is missing")
		return ""
	}
	q := qs.str("query", true)
	before := len(w.errs)
	checkQuery(w, qs, "query", q, true)
	if len(w.errs) > before {
		return ""
	}
	return q
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
