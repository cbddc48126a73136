package kube

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the Router's metrics. Labels: service (a configured
// service), result (applied, failed) and backend (stable, canary).
type Metrics struct {
	reapplies *prometheus.CounterVec
	endpoints *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reapplies: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "kube", Name: "endpoint_reapplies_total",
			Help: "Routings re-applied after a Kubernetes endpoint change, by result (applied, failed)."}, []string{"service", "result"}),
		endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "kube", Name: "ready_endpoints",
			Help: "Ready endpoints taken from Kubernetes at the last apply, by backend (stable, canary)."}, []string{"service", "backend"}),
	}
	if reg != nil {
		reg.MustRegister(m.reapplies, m.endpoints)
	}
	return m
}
