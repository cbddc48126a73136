package autoscale

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the autoscale controllers' metrics. Labels are bounded: one
// value per configured autoscaler, recommender or direction.
type Metrics struct {
	desired        *prometheus.GaugeVec
	current        *prometheus.GaugeVec
	recommendation *prometheus.GaugeVec
	actions        *prometheus.CounterVec
	actuatorErrors *prometheus.CounterVec
	paused         *prometheus.GaugeVec
	holds          *prometheus.CounterVec
	storeErrors    prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg when it is
// not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		desired: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "autoscale", Name: "desired_replicas",
			Help: "Replicas the autoscaler last decided on."}, []string{"autoscaler"}),
		current: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "autoscale", Name: "current_replicas",
			Help: "Replicas the actuator last reported."}, []string{"autoscaler"}),
		recommendation: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "autoscale", Name: "recommendation",
			Help: "Each recommender's last recommendation in replicas (NaN when it had none)."}, []string{"autoscaler", "recommender"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "autoscale", Name: "actions_total",
			Help: "Scale changes made and confirmed, by direction (up, down)."}, []string{"autoscaler", "direction"}),
		actuatorErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "autoscale", Name: "actuator_errors_total",
			Help: "Failed actuator calls (reads and writes, each attempt)."}, []string{"autoscaler"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "vane", Subsystem: "autoscale", Name: "paused",
			Help: "1 while the autoscaler is paused or stopped by a fight."}, []string{"autoscaler"}),
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "autoscale", Name: "holds_total",
			Help: "Looks that held because the autoscaler could not decide safely (no data, unknown scale, paused, fight)."}, []string{"autoscaler"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "vane", Subsystem: "autoscale", Name: "store_errors_total",
			Help: "Failures to persist autoscaler state."}),
	}
	if reg != nil {
		reg.MustRegister(m.desired, m.current, m.recommendation, m.actions, m.actuatorErrors, m.paused, m.holds, m.storeErrors)
	}
	return m
}

func (m *Metrics) init(name string, recommenders []string) {
	m.actions.WithLabelValues(name, "up")
	m.actions.WithLabelValues(name, "down")
	m.actuatorErrors.WithLabelValues(name)
	m.holds.WithLabelValues(name)
	m.paused.WithLabelValues(name)
	for _, r := range recommenders {
		m.recommendation.WithLabelValues(name, r)
	}
}
