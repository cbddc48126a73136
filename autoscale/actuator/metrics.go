package actuator

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the actuators' metrics. The controller counts the errors it
// gets (vane_autoscale_actuator_errors_total); these count what happens
// underneath: every attempt, the retries, and how long calls take.
type Metrics struct {
	attempts *prometheus.CounterVec
	retries  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg when it is not
// nil. Labels: actuator (the kind: kubernetes, exec, http, local), op (get,
// set) and result (ok, error).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane", Subsystem: "autoscale_actuator", Name: "attempts_total",
			Help: "Actuator calls attempted, retries included, by actuator kind, operation and result.",
		}, []string{"actuator", "op", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane", Subsystem: "autoscale_actuator", Name: "retries_total",
			Help: "Actuator calls retried after a transient failure, by actuator kind and operation.",
		}, []string{"actuator", "op"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "vane", Subsystem: "autoscale_actuator", Name: "call_duration_seconds",
			Help:    "Time one actuator call attempt took, by actuator kind and operation.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"actuator", "op"}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.retries, m.duration)
	}
	return m
}
