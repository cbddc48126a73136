package rollout

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaneproj/vane/analysis"
)

// Metrics are the rollout controller's metrics. Labels are bounded: one
// value per configured service, phase, verdict or event type.
type Metrics struct {
	phase        *prometheus.GaugeVec
	weight       *prometheus.GaugeVec
	step         *prometheus.GaugeVec
	verdicts     *prometheus.CounterVec
	evalDuration *prometheus.HistogramVec
	missedTicks  *prometheus.CounterVec
	events       *prometheus.CounterVec
	applyLatency *prometheus.HistogramVec
	lastDecision *prometheus.GaugeVec
	storeErrors  prometheus.Counter
	hookErrors   *prometheus.CounterVec
	// waitingForProxy is 1 while the rollout's last routing change had
	// fewer ACKs than Options.MinProxies.
	waitingForProxy *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "rollout", Name: "phase",
			Help: "1 for the rollout's current phase, 0 for the others."}, []string{"rollout", "phase"}),
		weight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "rollout", Name: "canary_weight",
			Help: "Percentage of requests the rollout sends to the canary."}, []string{"rollout"}),
		step: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "rollout", Name: "step",
			Help: "Number of the rollout's current plan step, from 1 (as the CLI, UI and events count)."}, []string{"rollout"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "analysis", Name: "verdicts_total",
			Help: "Verdicts of the rollout judges, by verdict."}, []string{"rollout", "verdict"}),
		evalDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "vane", Subsystem: "rollout", Name: "evaluation_duration_seconds",
			Help: "Time of one rollout evaluation (queries, judges, decision, actions).", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"rollout"}),
		missedTicks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "rollout", Name: "missed_ticks_total",
			Help: "Evaluation intervals skipped because an evaluation took longer than the interval."}, []string{"rollout"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "rollout", Name: "events_total",
			Help: "Rollout events by type (started, step, rollback, succeeded…)."}, []string{"rollout", "type"}),
		applyLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "vane", Subsystem: "rollout", Name: "apply_duration_seconds",
			Help: "Time from a routing change to its ACK by every proxy.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}, []string{"rollout"}),
		lastDecision: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "rollout", Name: "last_decision_timestamp_seconds",
			Help: "Unix time of the rollout's last state change."}, []string{"rollout"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "vane", Subsystem: "rollout", Name: "store_errors_total",
			Help: "Failures to persist rollout state."}),
		hookErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "rollout", Name: "webhook_errors_total",
			Help: "Failed webhook calls by hook."}, []string{"hook"}),
		waitingForProxy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "rollout", Name: "waiting_for_proxy",
			Help: "1 while the rollout's routing change has been ACKed by fewer proxies than min_proxies: nothing is applied and no analysis runs."}, []string{"rollout"}),
	}
	if reg != nil {
		reg.MustRegister(m.phase, m.weight, m.step, m.verdicts, m.evalDuration, m.missedTicks, m.events,
			m.applyLatency, m.lastDecision, m.storeErrors, m.hookErrors, m.waitingForProxy)
	}
	return m
}

func (m *Metrics) observe(s State) {
	for _, p := range Phases {
		v := 0.0
		if p == s.Phase {
			v = 1
		}
		m.phase.WithLabelValues(s.Name, string(p)).Set(v)
	}
	m.weight.WithLabelValues(s.Name).Set(float64(s.Routing.Weights.Canary))
	m.step.WithLabelValues(s.Name).Set(float64(s.Step + 1))
	m.lastDecision.WithLabelValues(s.Name).Set(float64(s.Updated.UnixNano()) / 1e9)
}

func (m *Metrics) initRollout(name string) {
	for _, v := range []analysis.Verdict{analysis.Continue, analysis.Pass, analysis.Fail, analysis.Inconclusive} {
		m.verdicts.WithLabelValues(name, v.String())
	}
	m.missedTicks.WithLabelValues(name)
}
