package ha

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the election's metrics; they have no labels.
type Metrics struct {
	leader prometheus.Gauge
	terms  prometheus.Counter
	lost   prometheus.Counter

	replicas      prometheus.Gauge
	configDiffers prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "ha", Name: "leader",
			Help: "1 while this replica leads (runs the rollout and autoscale loops), 0 while it follows."}),
		terms: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "vane", Subsystem: "ha", Name: "terms_total",
			Help: "Times this replica won the election."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "vane", Subsystem: "ha", Name: "leadership_lost_total",
			Help: "Times this replica's session ended while it led (lease expired, etcd away longer than the TTL)."}),
		replicas: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "ha", Name: "replicas",
			Help: "Live replicas (their records in etcd, this one included), as this replica sees them."}),
		configDiffers: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "ha", Name: "config_differs",
			Help: "Other live replicas whose configuration of some service differs from this replica's (the stored state wins)."}),
	}
	if reg != nil {
		reg.MustRegister(m.leader, m.terms, m.lost, m.replicas, m.configDiffers)
	}
	return m
}

// TermStarted records that this replica started leading; electors other
// than Elector (a Kubernetes Lease) report their terms with it and
// TermEnded.
func (m *Metrics) TermStarted() {
	m.terms.Inc()
	m.leader.Set(1)
}

// TermEnded records the end of a term; lost tells that the leadership was
// lost rather than given up.
func (m *Metrics) TermEnded(lost bool) {
	m.leader.Set(0)
	if lost {
		m.lost.Inc()
	}
}
