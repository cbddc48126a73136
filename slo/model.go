package slo

import (
	"fmt"
	"strings"
	"time"
)

// Spec formats that LoadFiles recognises.
const (
	FormatSloth   = "prometheus/v1" // Sloth's spec, loaded unchanged
	FormatNative  = "vane/v1"       // Vane's superset of Sloth's spec
	FormatOpenSLO = "openslo/v1"    // OpenSLO v1 SLO and SLI documents
)

// Formats lists every spec format Load recognises, for messages and docs.
func Formats() []string {
	return []string{FormatSloth, FormatSlothCRD, FormatNative, FormatOpenSLO, FormatOpenSLOAlpha}
}

// SLO is one loaded and validated service-level objective. Other packages
// read it (analysis, rollout, autoscale, dashboards); the loader fills it.
type SLO struct {
	// Name is the SLO's name, unique within its service.
	Name string `json:"name"`
	// Service is the service the SLO belongs to.
	Service string `json:"service"`
	// Description is free text from the spec.
	Description string `json:"description,omitempty"`
	// Objective is the target in percent as written in the spec (99.9).
	Objective float64 `json:"objective"`
	// Window is the compliance window (default 30d).
	Window Window `json:"window"`
	// SLI says how to count bad and total events.
	SLI SLI `json:"sli"`
	// Labels are the service's labels merged with the SLO's own; they are
	// added to every generated rule.
	Labels map[string]string `json:"labels,omitempty"`
	// Alerting configures the page and ticket alerts.
	Alerting Alerting `json:"alerting"`
	// Format is the spec format the SLO came from (FormatSloth, …).
	Format string `json:"format"`
	// Source is where the SLO is defined, "file:line".
	Source string `json:"source"`
	// RuleInterval is the evaluation interval of the SLO's rule group (Sloth's
	// rule_intervals plugin); 0 leaves Prometheus's global interval.
	RuleInterval time.Duration `json:"rule_interval,omitempty"`
}

// ID is "service-name", unique across a set of loaded SLOs.
func (s *SLO) ID() string { return s.Service + "-" + s.Name }

// Target is the objective as a ratio in (0, 1): 99.9% → 0.999.
func (s *SLO) Target() float64 { return roundFloat(s.Objective / 100) }

// ErrorBudget is 1 − Target().
func (s *SLO) ErrorBudget() float64 { return ErrorBudget(s.Target()) }

// Tiers returns the SLO's alert tiers: the spec's own when it sets
// alerting.tiers, else DefaultTiers for its window.
func (s *SLO) Tiers() []Tier {
	if len(s.Alerting.Tiers) > 0 {
		return append([]Tier(nil), s.Alerting.Tiers...)
	}
	return DefaultTiers(s.Window.Duration)
}

// SLIKind says how an SLI counts events.
type SLIKind string

// The kinds of SLI.
const (
	// SLIEvents counts bad and total events with two queries.
	SLIEvents SLIKind = "events"
	// SLIRaw reads an error ratio from one query; it cannot be weighted by
	// traffic over long windows.
	SLIRaw SLIKind = "raw"
	// SLILatency counts requests slower than a threshold in a histogram.
	SLILatency SLIKind = "latency"
)

// WindowVar is the placeholder for the range in event queries.
const WindowVar = "{{.window}}"

// SLI says how to count bad and total events. Queries hold WindowVar where
// the range goes and return per-second rates (Sloth's convention).
type SLI struct {
	Kind SLIKind `json:"kind"`
	// ErrorQuery and TotalQuery are set for events and latency SLIs.
	ErrorQuery string `json:"error_query,omitempty"`
	TotalQuery string `json:"total_query,omitempty"`
	// ErrorRatioQuery is set for raw SLIs.
	ErrorRatioQuery string `json:"error_ratio_query,omitempty"`
	// Latency is set for latency SLIs.
	Latency *LatencySLI `json:"latency,omitempty"`
}

// LatencySLI counts requests slower than Threshold as bad.
type LatencySLI struct {
	// Metric is the histogram's name without _bucket/_count suffixes.
	Metric string `json:"metric"`
	// Selector holds label matchers without braces: `job="api",code!~"5.."`.
	Selector string `json:"selector,omitempty"`
	// Threshold is the latency bound in seconds. For classic histograms it
	// must be one of the bucket bounds (le).
	Threshold float64 `json:"threshold"`
	// Native selects native histograms (histogram_fraction) instead of
	// classic buckets.
	Native bool `json:"native,omitempty"`
}

// Queries renders the error and total queries for one window (rates per
// second). Raw SLIs have no total: total is "".
func (s SLI) Queries(window time.Duration) (errorQuery, totalQuery string) {
	w := FormatDuration(window)
	switch s.Kind {
	case SLIRaw:
		return strings.ReplaceAll(s.ErrorRatioQuery, WindowVar, w), ""
	default:
		return strings.ReplaceAll(s.ErrorQuery, WindowVar, w), strings.ReplaceAll(s.TotalQuery, WindowVar, w)
	}
}

// latencyQueries builds the event queries of a latency SLI.
func (l *LatencySLI) queries() (errQ, totalQ string) {
	sel := ""
	if l.Selector != "" {
		sel = l.Selector
	}
	th := formatFloat(l.Threshold)
	if l.Native {
		m := fmt.Sprintf("%s{%s}", l.Metric, sel)
		totalQ = fmt.Sprintf("histogram_count(sum(rate(%s[%s])))", m, WindowVar)
		errQ = fmt.Sprintf("histogram_count(sum(rate(%s[%s]))) * (1 - histogram_fraction(0, %s, sum(rate(%s[%s]))))", m, WindowVar, th, m, WindowVar)
		return errQ, totalQ
	}
	bucketSel := fmt.Sprintf(`le="%s"`, th)
	if sel != "" {
		bucketSel = sel + "," + bucketSel
	}
	totalQ = fmt.Sprintf("sum(rate(%s_count{%s}[%s]))", l.Metric, sel, WindowVar)
	errQ = fmt.Sprintf("(%s - sum(rate(%s_bucket{%s}[%s])))", totalQ, l.Metric, bucketSel, WindowVar)
	return errQ, totalQ
}

// Alerting configures an SLO's page and ticket alerts.
type Alerting struct {
	// Name is the alert name shared by the page and ticket alerts.
	Name string `json:"name"`
	// Labels and Annotations go on both alerts.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	PageAlert   AlertConfig       `json:"page_alert"`
	TicketAlert AlertConfig       `json:"ticket_alert"`
	// Tiers are custom tiers (vane/v1); empty means DefaultTiers.
	Tiers []Tier `json:"tiers,omitempty"`
	// MinEvents keeps a tier quiet while its long window holds fewer events.
	MinEvents float64 `json:"min_events,omitempty"`
	// RunbookURL becomes the runbook_url annotation.
	RunbookURL string `json:"runbook_url,omitempty"`
	// Exhausted is an extra alert on the budget remaining (Sloth's
	// error_budget_exhausted_alert plugin); nil for none.
	Exhausted *ExhaustedAlert `json:"exhausted,omitempty"`
}

// ExhaustedAlert fires while the SLO's error budget remaining is at or
// below Threshold (a ratio: 0 is an exhausted budget) for For.
type ExhaustedAlert struct {
	Name      string        `json:"name"`
	Threshold float64       `json:"threshold"`
	For       time.Duration `json:"for"`
	// Labels and Annotations go on the alert; SelectorLabels narrow the
	// budget series it reads.
	Labels         map[string]string `json:"labels,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	SelectorLabels map[string]string `json:"selector_labels,omitempty"`
}

// AlertConfig is the per-severity part of Alerting.
type AlertConfig struct {
	Disable     bool              `json:"disable,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}
