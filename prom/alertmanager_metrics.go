package prom

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// AlertmanagerMetrics are an AlertmanagerClient's metrics, namespace vane,
// subsystem prom. Labels are bounded: outcome is "success" or "error",
// kind is "http_4xx", "http_5xx", "network", "timeout", "canceled" or
// "invalid".
type AlertmanagerMetrics struct {
	// AlertsSent counts alerts Alertmanager accepted.
	AlertsSent prometheus.Counter
	// SendErrors counts Send calls that failed after their retries, by the
	// kind of the last failure.
	SendErrors *prometheus.CounterVec
	// SendDuration observes every Send call, retries included, by outcome.
	SendDuration *prometheus.HistogramVec
	// Retries counts attempts beyond the first.
	Retries prometheus.Counter
}

// NewAlertmanagerMetrics creates the metrics and registers them with reg;
// a nil reg leaves them unregistered. Registering twice on one registry is
// an error.
func NewAlertmanagerMetrics(reg prometheus.Registerer) (*AlertmanagerMetrics, error) {
	m := &AlertmanagerMetrics{
		AlertsSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "alertmanager_alerts_sent_total",
			Help:      "Alerts accepted by Alertmanager.",
		}),
		SendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "alertmanager_send_errors_total",
			Help:      "Batches of alerts that could not be sent to Alertmanager after retries, by kind of the last failure.",
		}, []string{"kind"}),
		SendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "alertmanager_send_duration_seconds",
			Help:      "Time taken to send a batch of alerts to Alertmanager, retries included.",
			Buckets:   []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vane",
			Subsystem: "prom",
			Name:      "alertmanager_retries_total",
			Help:      "Attempts to send alerts to Alertmanager beyond the first.",
		}),
	}
	if reg != nil {
		var errs []error
		var done []prometheus.Collector
		for _, c := range []prometheus.Collector{m.AlertsSent, m.SendErrors, m.SendDuration, m.Retries} {
			if err := reg.Register(c); err != nil {
				errs = append(errs, err)
				continue
			}
			done = append(done, c)
		}
		if err := errors.Join(errs...); err != nil {
			for _, c := range done { // all or nothing
				reg.Unregister(c)
			}
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}
