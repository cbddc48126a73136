package slo

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Sloth plugins. Sloth v0.16 runs every SLO through a chain of SLO plugins
// (ids "sloth.dev/core/…" and "sloth.dev/contrib/…", embedded in its
// binary) and can take SLI plugins that write the SLI's queries. Vane
// reimplements what these plugins are documented to do where its rules
// have an equivalent, and refuses the others by id.

// slothSLOPluginEffect says what Vane does with an embedded Sloth SLO plugin.
var slothSLOPluginEffect = map[string]string{
	// Sloth's default chain: Vane's own validation and rules do this.
	"sloth.dev/core/validate/v1":       "",
	"sloth.dev/core/sli_rules/v1":      "",
	"sloth.dev/core/metadata_rules/v1": "",
	"sloth.dev/core/alert_rules/v1":    "",
	// Debugging aids that change no rule.
	"sloth.dev/core/debug/v1": "",
	"sloth.dev/core/noop/v1":  "",
	// Sets the rule group's evaluation interval (interval.default).
	"sloth.dev/contrib/rule_intervals/v1": "interval",
	// Adds labels to Sloth's sloth_slo_info metric, which Vane does not write.
	"sloth.dev/contrib/info_labels/v1": "warn",
	// An extra alert when the budget remaining falls to a threshold.
	"sloth.dev/contrib/error_budget_exhausted_alert/v1": "exhausted",
	// Keeps the spec's labels off the recorded series (but preserveLabels).
	"sloth.dev/contrib/remove_labels/v1": "remove_labels",
}

func supportedSLOPlugins() string {
	ids := make([]string, 0, len(slothSLOPluginEffect))
	for id := range slothSLOPluginEffect {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// slothPlugins is a resolved Sloth plugin chain.
type slothPlugins struct {
	// interval is the rule group interval set by rule_intervals.
	interval time.Duration
	// exhausted is the alert of error_budget_exhausted_alert.
	exhausted *ExhaustedAlert
	// removeLabels is set by remove_labels; preserve lists the labels it keeps.
	removeLabels bool
	preserve     map[string]bool
}

// then is the chain of an SLO whose own chain is child, under a group
// chain p: the SLO's settings win.
func (p slothPlugins) then(child slothPlugins) slothPlugins {
	if child.interval > 0 {
		p.interval = child.interval
	}
	if child.exhausted != nil {
		p.exhausted = child.exhausted
	}
	if child.removeLabels {
		p.removeLabels, p.preserve = true, child.preserve
	}
	return p
}

// apply sets what the chain changes on s.
func (p slothPlugins) apply(_ *walker, s *SLO) {
	if p.interval > 0 {
		s.RuleInterval = p.interval
	}
	if p.exhausted != nil {
		x := *p.exhausted
		s.Alerting.Exhausted = &x
	}
	if p.removeLabels {
		// Sloth keeps the removed labels on its sloth_slo_info metric
		// only; Vane writes no info metric, so they are dropped.
		kept := map[string]string{}
		for k, v := range s.Labels {
			if p.preserve[k] {
				kept[k] = v
			}
		}
		s.Labels = kept
		if len(kept) == 0 {
			s.Labels = nil
		}
	}
}

// readSlothPlugins reads a Sloth plugin chain ({overridePrevious, chain})
// at o.key, reporting unknown plugin ids.
func readSlothPlugins(w *walker, o *object, key string) slothPlugins {
	var out slothPlugins
	po := w.object(o.get(key), join(o.path, key), "overridePrevious", "chain")
	if po == nil {
		return out
	}
	if po.boolean("overridePrevious") {
		w.errorf(po.get("overridePrevious"), join(po.path, "overridePrevious"),
			"replacing Sloth's default plugin chain is not supported: Vane always generates its own SLI, metadata and alert rules")
	}
	for i, it := range po.list("chain", false) {
		path := fmt.Sprintf("%s.chain[%d]", po.path, i)
		io := w.object(it, path, "id", "config", "priority")
		if io == nil {
			continue
		}
		id := io.str("id", true)
		if id == "" {
			continue
		}
		effect, ok := slothSLOPluginEffect[id]
		if !ok {
			w.errorf(io.get("id"), join(path, "id"), "Sloth SLO plugin %q is not supported (Vane supports: %s)", id, supportedSLOPlugins())
			continue
		}
		switch effect {
		case "warn":
			w.warnf(io.get("id"), join(path, "id"), "Sloth SLO plugin %q has no effect: it labels Sloth's sloth_slo_info metric, which Vane does not write", id)
		case "interval":
			out.interval = ruleIntervals(w, io, path)
		case "exhausted":
			out.exhausted = exhaustedAlert(w, io, path)
		case "remove_labels":
			out.removeLabels, out.preserve = true, map[string]bool{}
			cfg := w.object(io.get("config"), join(path, "config"), "preserveLabels", "skipMetrics")
			for _, n := range cfg.list("preserveLabels", false) {
				if n.Kind == yaml.ScalarNode {
					out.preserve[n.Value] = true
				}
			}
			if len(cfg.list("skipMetrics", false)) > 0 {
				w.warnf(cfg.get("skipMetrics"), join(cfg.path, "skipMetrics"), "not applied: Vane removes the labels from every recorded series of the SLO")
			}
		}
	}
	return out
}

// ruleIntervals reads rule_intervals' config: interval.default becomes the
// SLO's rule group interval. Vane writes one group per SLO, so per-kind
// intervals (sliError, metadata, alert) cannot differ from it.
func ruleIntervals(w *walker, io *object, path string) time.Duration {
	cfg := w.object(io.get("config"), join(path, "config"), "interval")
	if cfg == nil {
		w.errorf(io.node, join(path, "config"), "required field is missing")
		return 0
	}
	iv := w.object(cfg.get("interval"), join(cfg.path, "interval"), "default", "sliError", "metadata", "alert")
	if iv == nil {
		w.errorf(cfg.node, join(cfg.path, "interval"), "required field is missing")
		return 0
	}
	def := iv.str("default", true)
	if def == "" {
		return 0
	}
	d, err := ParseDuration(def)
	if err != nil || d <= 0 {
		w.errorf(iv.get("default"), join(iv.path, "default"), "must be a positive duration like 1m, got %q", def)
		return 0
	}
	for _, k := range []string{"sliError", "metadata", "alert"} {
		if v := iv.str(k, false); v != "" && v != def {
			w.warnf(iv.get(k), join(iv.path, k), "Vane writes one rule group per SLO, evaluated every %s (interval.default); this interval is not applied", def)
		}
	}
	return d
}

// exhaustedAlert reads error_budget_exhausted_alert's config, with its
// documented defaults: threshold 0, for 5m, alert name ErrorBudgetExhausted.
func exhaustedAlert(w *walker, io *object, path string) *ExhaustedAlert {
	x := &ExhaustedAlert{Name: "ErrorBudgetExhausted", For: 5 * time.Minute}
	cfg := w.object(io.get("config"), join(path, "config"), "threshold", "for", "annotations", "alert_name", "alert_labels", "selector_labels")
	if cfg == nil {
		return x
	}
	if th, ok := cfg.number("threshold", false); ok {
		x.Threshold = th
	}
	if f := cfg.str("for", false); f != "" {
		d, err := ParseDuration(f)
		if err != nil || d < 0 {
			w.errorf(cfg.get("for"), join(cfg.path, "for"), "must be a duration like 5m, got %q", f)
		} else {
			x.For = d
		}
	}
	if n := cfg.str("alert_name", false); n != "" {
		if !model.LegacyValidation.IsValidMetricName(n) {
			w.errorf(cfg.get("alert_name"), join(cfg.path, "alert_name"), "%q is not a valid alert name", n)
		}
		x.Name = n
	}
	x.Labels = cfg.strMap("alert_labels")
	checkLabels(w, cfg, "alert_labels", x.Labels)
	x.Annotations = cfg.strMap("annotations")
	x.SelectorLabels = cfg.strMap("selector_labels")
	checkLabels(w, cfg, "selector_labels", x.SelectorLabels)
	return x
}

// slothSLIPlugin builds the SLI of one of the common Sloth SLI plugins
// (github.com/slok/sloth-common-sli-plugins), reimplemented from their
// documentation: each takes an optional filter of label matchers.
func slothSLIPlugin(w *walker, o *object, path string) SLI {
	po := w.object(o.get("plugin"), path, "id", "options")
	if po == nil {
		return SLI{}
	}
	id := po.str("id", true)
	if id == "" {
		return SLI{}
	}
	opts := po.strMap("options")
	mk, ok := slothSLIPlugins[id]
	if !ok {
		ids := make([]string, 0, len(slothSLIPlugins))
		for k := range slothSLIPlugins {
			ids = append(ids, k)
		}
		sort.Strings(ids)
		w.errorf(po.get("id"), join(path, "id"), "Sloth SLI plugin %q is not supported (Vane supports: %s; or write the SLI as events or raw queries)", id, strings.Join(ids, ", "))
		return SLI{}
	}
	filter := strings.Trim(strings.TrimSpace(opts["filter"]), ",")
	if filter != "" {
		if _, err := promqlParser.ParseMetricSelector("{" + filter + "}"); err != nil {
			w.errorf(po.get("options"), join(path, "options.filter"), "invalid label matchers: %v", err)
			return SLI{}
		}
	}
	sli, err := mk(filter, opts)
	if err != nil {
		w.errorf(po.get("options"), join(path, "options"), "%v", err)
		return SLI{}
	}
	return sli
}

// matchers joins label matchers, leaving out empty ones.
func matchers(ms ...string) string {
	var out []string
	for _, m := range ms {
		if m != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ",")
}

var slothSLIPlugins = map[string]func(filter string, opts map[string]string) (SLI, error){
	// Errors are responses with a 5xx or 429 status.
	"sloth-common/kubernetes/apiserver/availability": func(filter string, _ map[string]string) (SLI, error) {
		return SLI{Kind: SLIEvents,
			ErrorQuery: fmt.Sprintf(`sum(rate(apiserver_request_total{%s}[%s]))`, matchers(filter, `code=~"(5..|429)"`), WindowVar),
			TotalQuery: fmt.Sprintf(`sum(rate(apiserver_request_total{%s}[%s]))`, filter, WindowVar),
		}, nil
	},
	// Errors are DNS responses with rcode SERVFAIL, or matching the regex in
	// option custom_rcode_regex.
	"sloth-common/coredns/availability": func(filter string, opts map[string]string) (SLI, error) {
		re := strings.TrimSpace(opts["custom_rcode_regex"])
		if re == "" {
			re = "SERVFAIL"
		}
		if _, err := regexp.Compile("^(?:" + re + ")$"); err != nil {
			return SLI{}, fmt.Errorf("option custom_rcode_regex: %v", err)
		}
		return SLI{Kind: SLIEvents,
			ErrorQuery: fmt.Sprintf(`sum(rate(coredns_dns_responses_total{%s}[%s]))`, matchers(filter, fmt.Sprintf("rcode=~%q", re)), WindowVar),
			TotalQuery: fmt.Sprintf(`sum(rate(coredns_dns_responses_total{%s}[%s]))`, filter, WindowVar),
		}, nil
	},
	// Errors are requests slower than the histogram bucket in option bucket.
	"sloth-common/kubernetes/apiserver/latency": func(filter string, opts map[string]string) (SLI, error) {
		b := strings.TrimSpace(opts["bucket"])
		if b == "" {
			return SLI{}, fmt.Errorf("option bucket is required (the latency bound, a histogram bucket such as \"0.2\")")
		}
		total := fmt.Sprintf(`sum(rate(apiserver_request_duration_seconds_count{%s}[%s]))`, filter, WindowVar)
		good := fmt.Sprintf(`sum(rate(apiserver_request_duration_seconds_bucket{%s}[%s]))`, matchers(filter, fmt.Sprintf("le=%q", b)), WindowVar)
		return SLI{Kind: SLIEvents, ErrorQuery: fmt.Sprintf("(%s - %s)", total, good), TotalQuery: total}, nil
	},
}
