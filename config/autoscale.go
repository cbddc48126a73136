package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/internal/yamlpos"
	"github.com/vaneproj/vane/slo"
)

// Autoscale is a service's autoscaler (services[].autoscale).
type Autoscale struct {
	// Min replicas (default 1) and Max replicas (required).
	Min *int32 `yaml:"min"`
	Max int32  `yaml:"max"`
	// Interval between looks (default 15s, the HPA's sync period).
	Interval model.Duration `yaml:"interval"`
	// Actuator is what sets the replica count.
	Actuator AutoscaleActuator `yaml:"actuator"`
	// Metrics feed the hpa recommender: PromQL queries with HPA targets.
	Metrics []AutoscaleMetric `yaml:"metrics"`
	// Tolerance of the hpa recommender (default 0.1).
	Tolerance float64 `yaml:"tolerance"`
	// Behavior in the HPA's schema (scaleUp/scaleDown with
	// stabilizationWindowSeconds, selectPolicy, policies); unset fields take
	// the HPA's defaults.
	Behavior *autoscale.Behavior `yaml:"behavior"`
	// LegacyBehavior runs the HPA's path for objects without behavior
	// (5-minute downscale stabilization, scale-up at most max(2×, 4) per
	// look) instead of the behavior defaults. Default false.
	LegacyBehavior bool `yaml:"legacy_behavior"`
	// SLO enables the slo recommender.
	SLO *AutoscaleSLO `yaml:"slo"`
	// Queue enables the queue recommender.
	Queue *AutoscaleQueue `yaml:"queue"`
	// StaleAfter: data older than this is no data (default 2m).
	StaleAfter model.Duration `yaml:"stale_after"`
	// FreshnessQuery (optional) gives the age in seconds of the newest
	// sample behind the metrics, e.g.
	// time() - max(timestamp(http_requests_total{service="checkout"})).
	FreshnessQuery string `yaml:"freshness_query"`
}

// AutoscaleMetric is one hpa metric.
type AutoscaleMetric struct {
	Name   string          `yaml:"name"`
	Query  string          `yaml:"query"`
	Target AutoscaleTarget `yaml:"target"`
}

// AutoscaleTarget is the HPA's MetricTarget: type Value with value,
// AverageValue with averageValue, Utilization with averageUtilization.
type AutoscaleTarget struct {
	Type               string   `yaml:"type"`
	Value              *float64 `yaml:"value"`
	AverageValue       *float64 `yaml:"averageValue"`
	AverageUtilization *float64 `yaml:"averageUtilization"`
}

// AutoscaleSLO configures the slo recommender (see autoscale.SLOSpec).
type AutoscaleSLO struct {
	SLOs              []string       `yaml:"slos"`
	PageBurnRate      float64        `yaml:"page_burn_rate"`
	UpFactor          float64        `yaml:"up_factor"`
	SpareBudget       float64        `yaml:"spare_budget"`
	MaxTargetFactor   float64        `yaml:"max_target_factor"`
	TargetRisePerHour float64        `yaml:"target_rise_per_hour"`
	HoldBelow         float64        `yaml:"hold_below"`
	SpareDownWindow   model.Duration `yaml:"spare_down_window"`
}

// AutoscaleQueue configures the queue recommender (see autoscale.QueueSpec).
type AutoscaleQueue struct {
	// SLO, when set, is a latency SLO whose objective and threshold are the
	// percentile and latency_threshold (explicit fields win), and whose
	// budget sets the headroom.
	SLO              string         `yaml:"slo"`
	Percentile       float64        `yaml:"percentile"`
	LatencyThreshold model.Duration `yaml:"latency_threshold"`
	Slots            int32          `yaml:"slots"`
	StartupDelay     model.Duration `yaml:"startup_delay"`
	MaxUtilization   float64        `yaml:"max_utilization"`
	Smoothing        float64        `yaml:"smoothing"`
	PanicThreshold   float64        `yaml:"panic_threshold"`
	// Queries: throughput (requests/s completed), latency (mean seconds),
	// optional concurrency (in flight) and arrivals (offered requests/s).
	Throughput  string `yaml:"throughput"`
	Latency     string `yaml:"latency"`
	Concurrency string `yaml:"concurrency"`
	Arrivals    string `yaml:"arrivals"`
	// ArrivalsNow (optional): offered requests/s over a short window, for
	// example rate(…[30s]) at a 15 s scrape: the panic path's signal.
	ArrivalsNow string `yaml:"arrivals_now"`
}

// AutoscaleActuator is the actuator: its kind and that kind's settings.
type AutoscaleActuator struct {
	// Kind: kubernetes, exec, webhook or local.
	Kind       string              `yaml:"kind"`
	Kubernetes *KubernetesActuator `yaml:"kubernetes"`
	Exec       *ExecActuator       `yaml:"exec"`
	Webhook    *WebhookActuator    `yaml:"webhook"`
	Local      *LocalActuator      `yaml:"local"`
}

// KubernetesActuator is a resource with a scale subresource.
type KubernetesActuator struct {
	// Kubeconfig path (relative to vane.yaml); empty: in-cluster config.
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
	Namespace  string `yaml:"namespace"`
	// APIVersion and Kind of the resource (default apps/v1 Deployment).
	APIVersion string `yaml:"api_version"`
	Kind       string `yaml:"kind"`
	Name       string `yaml:"name"`
}

// ExecActuator runs commands: set gets the count as its last argument and
// in VANE_REPLICAS; get prints "desired [ready]".
type ExecActuator struct {
	Set     []string       `yaml:"set"`
	Get     []string       `yaml:"get"`
	Timeout model.Duration `yaml:"timeout"`
}

// WebhookActuator is an HTTP endpoint: GET returns {"desired":N,"ready":M},
// PUT (or method) with {"replicas":N} sets the count.
type WebhookActuator struct {
	URL       string            `yaml:"url"`
	Method    string            `yaml:"method"`
	TokenFile string            `yaml:"token_file"`
	Headers   map[string]string `yaml:"headers"`
	Timeout   model.Duration    `yaml:"timeout"`
}

// LocalActuator runs replicas of the sample service in vane's process.
type LocalActuator struct {
	Version        string         `yaml:"version"`
	Listen         string         `yaml:"listen"`
	RatePerReplica float64        `yaml:"rate_per_replica"`
	StartupDelay   model.Duration `yaml:"startup_delay"`
	Args           []string       `yaml:"args"`
}

// AutoscalerConfig is what the wiring needs to start one autoscaler.
type AutoscalerConfig struct {
	Spec     autoscale.Spec
	Actuator autoscale.ActuatorSpec
	Interval time.Duration
}

// Autoscalers returns the configured autoscalers, one per service with an
// autoscale section, in the configuration's order.
func (c *Config) Autoscalers() []AutoscalerConfig {
	var out []AutoscalerConfig
	for _, s := range c.Services {
		if s.Autoscale == nil {
			continue
		}
		out = append(out, AutoscalerConfig{Spec: s.Autoscale.spec(s.Name, c.Loaded), Actuator: s.Autoscale.Actuator.spec(c), Interval: time.Duration(s.Autoscale.Interval)})
	}
	return out
}

func (t AutoscaleTarget) target() (autoscale.MetricTarget, string) {
	var out autoscale.MetricTarget
	out.Type = autoscale.TargetType(t.Type)
	var field string
	switch out.Type {
	case autoscale.Value:
		field = "value"
		if t.Value != nil {
			out.Value = *t.Value
		}
	case autoscale.AverageValue:
		field = "averageValue"
		if t.AverageValue != nil {
			out.Value = *t.AverageValue
		}
	case autoscale.Utilization:
		field = "averageUtilization"
		if t.AverageUtilization != nil {
			out.Value = *t.AverageUtilization
		}
	}
	return out, field
}

func findSLO(loaded []*slo.SLO, name string) *slo.SLO {
	for _, l := range loaded {
		if l.ID() == name || l.Name == name {
			return l
		}
	}
	return nil
}

func (a *Autoscale) spec(name string, loaded []*slo.SLO) autoscale.Spec {
	s := autoscale.Spec{Name: name, Min: 1, Max: a.Max, Tolerance: a.Tolerance, StaleAfter: time.Duration(a.StaleAfter), FreshnessQuery: a.FreshnessQuery}
	if a.Min != nil {
		s.Min = *a.Min
	}
	for _, m := range a.Metrics {
		t, _ := m.Target.target()
		s.Metrics = append(s.Metrics, autoscale.MetricSpec{Name: m.Name, Query: m.Query, Target: t})
	}
	switch {
	case a.Behavior != nil:
		b := *a.Behavior
		s.Behavior = &b
	case !a.LegacyBehavior:
		s.Behavior = &autoscale.Behavior{}
	}
	if x := a.SLO; x != nil {
		s.SLO = &autoscale.SLOSpec{SLOs: x.SLOs, PageBurnRate: x.PageBurnRate, UpFactor: x.UpFactor, SpareBudget: x.SpareBudget,
			MaxTargetFactor: x.MaxTargetFactor, TargetRisePerHour: x.TargetRisePerHour, HoldBelow: x.HoldBelow,
			SpareDownWindow: time.Duration(x.SpareDownWindow)}
	}
	if q := a.Queue; q != nil {
		s.Queue = &autoscale.QueueSpec{Percentile: q.Percentile, Threshold: time.Duration(q.LatencyThreshold), Slots: q.Slots,
			StartupDelay: time.Duration(q.StartupDelay), MaxUtilization: q.MaxUtilization, Smoothing: q.Smoothing,
			PanicThreshold: q.PanicThreshold}
		if l := findSLO(loaded, q.SLO); l != nil {
			if s.Queue.Percentile == 0 {
				s.Queue.Percentile = l.Target()
			}
			if s.Queue.Threshold == 0 && l.SLI.Latency != nil {
				s.Queue.Threshold = time.Duration(l.SLI.Latency.Threshold * float64(time.Second))
			}
		}
		s.QueueQueries = &autoscale.QueueQueries{Throughput: q.Throughput, Latency: q.Latency, Concurrency: q.Concurrency,
			Arrivals: q.Arrivals, ArrivalsNow: q.ArrivalsNow, BudgetSLO: q.SLO}
	}
	return s
}

func (a AutoscaleActuator) spec(c *Config) autoscale.ActuatorSpec {
	out := autoscale.ActuatorSpec{Kind: a.Kind}
	if k := a.Kubernetes; k != nil {
		out.Kubernetes = &autoscale.KubernetesSpec{Kubeconfig: c.Resolve(k.Kubeconfig), Context: k.Context, Namespace: k.Namespace,
			APIVersion: k.APIVersion, Kind: k.Kind, Name: k.Name}
	}
	if e := a.Exec; e != nil {
		out.Exec = &autoscale.ExecSpec{Set: e.Set, Get: e.Get, Timeout: time.Duration(e.Timeout)}
	}
	if w := a.Webhook; w != nil {
		out.Webhook = &autoscale.WebhookSpec{URL: w.URL, Method: w.Method, TokenFile: c.Resolve(w.TokenFile), Headers: w.Headers, Timeout: time.Duration(w.Timeout)}
	}
	if l := a.Local; l != nil {
		out.Local = &autoscale.LocalSpec{Version: l.Version, Listen: l.Listen, RatePerReplica: l.RatePerReplica, StartupDelay: time.Duration(l.StartupDelay), Args: l.Args}
	}
	return out
}

// validateAutoscale checks services[i].autoscale.
func (c *Config) validateAutoscale(v *validator, i int, s Service) {
	a := s.Autoscale
	if a == nil {
		return
	}
	p := fmt.Sprintf("services[%d].autoscale", i)
	if a.Max == 0 {
		v.at(p+".max", "required")
	}
	for k, m := range a.Metrics {
		mp := fmt.Sprintf("%s.metrics[%d]", p, k)
		if strings.TrimSpace(m.Query) == "" {
			v.at(mp+".query", "required")
		}
		t, field := m.Target.target()
		switch {
		case field == "":
			v.at(mp+".target.type", "%q is not one of Value, AverageValue, Utilization", m.Target.Type)
		case t.Value == 0 && !hasField(m.Target, field):
			v.at(mp+".target", "type %s needs %s", t.Type, field)
		case !(t.Value > 0):
			v.at(mp+".target", "%s: %v must be positive", field, t.Value)
		}
	}
	// The queue's percentile and threshold come from its SLO: when that
	// SLO is missing, the error says so, not that they are unset.
	missingSLO := false
	if q := a.Queue; q != nil {
		qp := p + ".queue"
		if q.Throughput == "" {
			v.at(qp+".throughput", "required")
		}
		if q.Latency == "" && q.Concurrency == "" {
			v.at(qp, "latency or concurrency is required")
		}
		if q.SLO != "" && findSLO(c.Loaded, q.SLO) == nil {
			v.at(qp+".slo", "no SLO named %q in the slos files", q.SLO)
			missingSLO = true
		}
	}
	if x := a.SLO; x != nil {
		for k, n := range x.SLOs {
			if findSLO(c.Loaded, n) == nil {
				v.at(fmt.Sprintf("%s.slo.slos[%d]", p, k), "no SLO named %q in the slos files", n)
			}
		}
	}
	spec := a.spec(s.Name, c.Loaded)
	if err := spec.Validate(); err != nil {
		for _, e := range yamlpos.Unjoin(err) {
			msg := e.Error()
			// Target errors were reported above with the HPA field names.
			if strings.HasPrefix(msg, "metrics[") && strings.Contains(msg, "].target:") {
				continue
			}
			if missingSLO && (strings.HasPrefix(msg, "queue: percentile") || strings.HasPrefix(msg, "queue: threshold")) {
				continue
			}
			if strings.HasPrefix(msg, "queue: threshold") {
				msg = "queue.latency_threshold: " + strings.TrimPrefix(msg, "queue: threshold: ")
			}
			msg = strings.Replace(msg, "queue: ", "queue.", 1)
			msg = strings.Replace(msg, "slo: ", "slo.", 1)
			v.nested(p, fmt.Errorf("%s", msg))
		}
	}
	act := a.Actuator
	ap := p + ".actuator"
	set := map[string]bool{autoscale.KindKubernetes: act.Kubernetes != nil, autoscale.KindExec: act.Exec != nil,
		autoscale.KindWebhook: act.Webhook != nil, autoscale.KindLocal: act.Local != nil}
	if _, ok := set[act.Kind]; !ok {
		v.at(ap+".kind", "%q is not one of kubernetes, exec, webhook, local", act.Kind)
		return
	}
	for kind, isSet := range set {
		if isSet && kind != act.Kind {
			v.at(ap+"."+kind, "set, but the kind is %q", act.Kind)
		}
	}
	switch act.Kind {
	case autoscale.KindKubernetes:
		k := act.Kubernetes
		if k == nil {
			v.at(ap+".kubernetes", "required for kind kubernetes")
			return
		}
		if k.Name == "" {
			v.at(ap+".kubernetes.name", "required")
		}
		if k.Namespace == "" {
			v.at(ap+".kubernetes.namespace", "required")
		}
	case autoscale.KindExec:
		e := act.Exec
		if e == nil {
			v.at(ap+".exec", "required for kind exec")
			return
		}
		if len(e.Set) == 0 {
			v.at(ap+".exec.set", "a command is required")
		}
		if len(e.Get) == 0 {
			v.at(ap+".exec.get", "a command is required (the count is read back)")
		}
	case autoscale.KindWebhook:
		w := act.Webhook
		if w == nil {
			v.at(ap+".webhook", "required for kind webhook")
			return
		}
		if w.URL == "" {
			v.at(ap+".webhook.url", "required")
		}
		checkURL(v, ap+".webhook.url", w.URL)
	case autoscale.KindLocal:
		if act.Local == nil {
			v.at(ap+".local", "required for kind local")
			return
		}
		if act.Local.Version == "" {
			v.at(ap+".local.version", "required")
		}
	}
}

func hasField(t AutoscaleTarget, field string) bool {
	switch field {
	case "value":
		return t.Value != nil
	case "averageValue":
		return t.AverageValue != nil
	case "averageUtilization":
		return t.AverageUtilization != nil
	}
	return false
}
