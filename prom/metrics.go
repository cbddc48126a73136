package prom

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the prom package's own metrics, namespace vane, subsystem prom.
// Labels are bounded: querier is "http" or "embedded", type is "instant" or
// "range", outcome is "success" or "error", kind is an ErrorKind.
type Metrics struct {
	// QueryDuration observes every query, retries included, by querier, type
	// and outcome.
	QueryDuration *prometheus.HistogramVec
	// QueryErrors counts failed queries by querier and error kind.
	QueryErrors *prometheus.CounterVec
	// QueryWarnings counts queries whose answer carried warnings.
	QueryWarnings *prometheus.CounterVec
	// Retries counts attempts beyond the first, by error kind of the attempt
	// that failed.
	Retries *prometheus.CounterVec
	// ActiveAlerts is the number of pending and firing alerts of the
	// embedded rule manager, by state.
	ActiveAlerts *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg. A nil reg
// leaves them unregistered, which suits tests.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		QueryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "query_duration_seconds",
			Help:      "Time taken by Prometheus queries, retries included.",
			Buckets:   []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"querier", "type", "outcome"}),
		QueryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "query_errors_total",
			Help:      "Failed Prometheus queries by kind of failure.",
		}, []string{"querier", "kind"}),
		QueryWarnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "query_warnings_total",
			Help:      "Prometheus queries whose answer carried warnings.",
		}, []string{"querier"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "query_retries_total",
			Help:      "Prometheus query attempts beyond the first, by kind of the failure retried.",
		}, []string{"kind"}),
		ActiveAlerts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "embedded_active_alerts",
			Help:      "Pending and firing alerts of the embedded rule manager.",
		}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(m.QueryDuration, m.QueryErrors, m.QueryWarnings, m.Retries, m.ActiveAlerts)
	}
	return m
}

// newEmbeddedOpenGauge is vane_prom_embedded_open, registered by each
// embedded Prometheus on the registry of its own Prometheus metrics
// (EmbeddedConfig.Registerer), where it also marks the registry as taken.
func newEmbeddedOpenGauge() prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "vane",
		Subsystem: "prom",
		Name:      "embedded_open",
		Help:      "1 while an embedded Prometheus is open on this registry.",
	})
}
