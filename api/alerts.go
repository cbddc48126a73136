package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"
)

// AlertSource lists the active alerts of the Prometheus that evaluates
// Vane's alerting rules: the embedded one, or a Prometheus server (or a
// Thanos or Mimir ruler) through its /api/v1/alerts endpoint.
type AlertSource interface {
	// Alerts returns the active (pending and firing) alerts.
	Alerts(ctx context.Context) ([]Alert, error)
}

// Alert is one active alert of an alerting rule.
type Alert struct {
	// Name is the alerting rule's name (the alertname label).
	Name string `json:"name"`
	// State is "pending" or "firing".
	State string `json:"state"`
	// Labels identify the alert; they include alertname.
	Labels map[string]string `json:"labels"`
	// Annotations hold the summary, description, runbook_url…
	Annotations map[string]string `json:"annotations"`
	// ActiveAt is when the alert's expression started returning it.
	ActiveAt time.Time `json:"activeAt,omitzero"`
	// Value is the expression's value at the last evaluation; null when it
	// is not a finite number (JSON has no NaN).
	Value *float64 `json:"value"`
	// GeneratorURL links to the alert's expression, when the source knows
	// it (the embedded Prometheus does; a server's alerts API does not
	// give it).
	GeneratorURL string `json:"generatorURL,omitempty"`
}

// AlertList is the answer of GET /api/v1/alerts.
type AlertList struct {
	// Source names where the alerts come from: AlertsEmbedded, or the
	// Prometheus server's URL.
	Source string `json:"source"`
	// Alerts are sorted by name, then labels.
	Alerts []Alert `json:"alerts"`
}

// AlertsEmbedded is AlertList.Source for the embedded Prometheus.
const AlertsEmbedded = "embedded"

// FiniteValue returns &v, or nil when v is NaN or infinite: Alert.Value.
func FiniteValue(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func (s *Server) alertRoutes(h func(pattern, route string, mutating bool, f http.HandlerFunc)) {
	h("GET /api/v1/alerts", "alerts", false, s.alerts)
}

// alerts answers GET /api/v1/alerts: the active alerts of the configured
// source; 501 without one, 502 when it fails.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	if s.o.Alerts == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented",
			"no alert source is configured: alerts are read from the embedded Prometheus, or from the Prometheus server of prometheus.url (or a Thanos or Mimir ruler) that evaluates Vane's rules")
		return
	}
	list, err := s.o.Alerts.Alerts(r.Context())
	switch {
	case err != nil && (r.Context().Err() != nil || errors.Is(err, context.Canceled)):
		// The caller went away or gave up.
		writeError(w, http.StatusServiceUnavailable, "timeout", fmt.Sprintf("reading the alerts of %s: %v", s.alertSourceDesc(), err))
		return
	case err != nil:
		writeError(w, http.StatusBadGateway, "alert_source", fmt.Sprintf("reading the alerts of %s: %v", s.alertSourceDesc(), err))
		return
	}
	out := AlertList{Source: s.o.AlertsFrom, Alerts: make([]Alert, 0, len(list))}
	for _, a := range list {
		if a.Labels == nil {
			a.Labels = map[string]string{}
		}
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		out.Alerts = append(out.Alerts, a)
	}
	sort.SliceStable(out.Alerts, func(i, j int) bool {
		if out.Alerts[i].Name != out.Alerts[j].Name {
			return out.Alerts[i].Name < out.Alerts[j].Name
		}
		return labelKey(out.Alerts[i].Labels) < labelKey(out.Alerts[j].Labels)
	})
	writeJSON(w, http.StatusOK, out)
}

// alertSourceDesc names the alert source in errors.
func (s *Server) alertSourceDesc() string {
	switch s.o.AlertsFrom {
	case "":
		return "the alert source"
	case AlertsEmbedded:
		return "the embedded Prometheus"
	}
	return s.o.AlertsFrom
}

// labelKey is a canonical string of labels, to order alerts.
func labelKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(l[k])
		b.WriteByte(0)
	}
	return b.String()
}
