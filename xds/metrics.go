package xds

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the xDS server's own metrics, namespace vane, subsystem xds.
type Metrics struct {
	connectedStreams prometheus.Gauge
	pushes           *prometheus.CounterVec
	ackLatency       prometheus.Histogram
	nacks            *prometheus.CounterVec
	applies          *prometheus.CounterVec
	applyDuration    prometheus.Histogram

	// pushesByType and nacksByType hold the children of pushes and nacks
	// per typeIndex, so that counting a message does not hash its label.
	pushesByType [numTypes]prometheus.Counter
	nacksByType  [numTypes]prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg when reg is
// not nil. Type labels are bounded: listener, route, cluster, endpoint, other.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connectedStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "vane", Subsystem: "xds", Name: "connected_streams",
			Help: "ADS streams currently connected.",
		}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane", Subsystem: "xds", Name: "pushes_total",
			Help: "Discovery responses sent, by resource type.",
		}, []string{"type"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "vane", Subsystem: "xds", Name: "ack_latency_seconds",
			Help:    "Time from sending a discovery response to its ACK.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane", Subsystem: "xds", Name: "nacks_total",
			Help: "Discovery responses rejected by a client, by resource type.",
		}, []string{"type"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane", Subsystem: "xds", Name: "applies_total",
			Help: "Routing changes applied, by result (acked, nacked, unchanged, canceled, invalid).",
		}, []string{"result"}),
		applyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "vane", Subsystem: "xds", Name: "apply_duration_seconds",
			Help:    "Time from a routing change to its ACK by every subscribed node.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
	}
	for i, url := range typeURLs {
		m.pushesByType[i] = m.pushes.WithLabelValues(typeName(url))
		m.nacksByType[i] = m.nacks.WithLabelValues(typeName(url))
	}
	for _, r := range []string{"acked", "nacked", "unchanged", "canceled", "invalid"} {
		m.applies.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.connectedStreams, m.pushes, m.ackLatency, m.nacks, m.applies, m.applyDuration)
	}
	return m
}

// ConnectedStreams is the gauge of connected ADS streams.
func (m *Metrics) ConnectedStreams() prometheus.Gauge { return m.connectedStreams }

// NACKs is the counter of NACKs for a type label (listener, route, cluster, endpoint).
func (m *Metrics) NACKs(typ string) prometheus.Counter { return m.nacks.WithLabelValues(typ) }

// Pushes is the counter of discovery responses sent for a type label.
func (m *Metrics) Pushes(typ string) prometheus.Counter { return m.pushes.WithLabelValues(typ) }

// typeCounter returns the child of vec for url, from byType for the types
// Vane serves.
func typeCounter(vec *prometheus.CounterVec, byType *[numTypes]prometheus.Counter, url string) prometheus.Counter {
	if i := typeIndex(url); i >= 0 {
		return byType[i]
	}
	return vec.WithLabelValues(typeName(url))
}
