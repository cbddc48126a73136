package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeAlerts is an alert source answering alerts or err.
type fakeAlerts struct {
	alerts []Alert
	err    error
}

func (f fakeAlerts) Alerts(context.Context) ([]Alert, error) { return f.alerts, f.err }

func TestAlertsListsTheSourcesActiveAlertsSorted(t *testing.T) {
	since := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	src := fakeAlerts{alerts: []Alert{
		{Name: "CheckoutBudgetBurn", State: "pending", Labels: map[string]string{"alertname": "CheckoutBudgetBurn", "severity": "ticket"},
			ActiveAt: since, Value: FiniteValue(math.NaN())},
		{Name: "CheckoutBudgetBurn", State: "firing", Labels: map[string]string{"alertname": "CheckoutBudgetBurn", "severity": "page"},
			Annotations: map[string]string{"summary": "checkout burns its budget"}, ActiveAt: since, Value: FiniteValue(14.4),
			GeneratorURL: "http://vane:8080/prometheus/graph?g0.expr=x"},
		{Name: "AnAlert", State: "firing", Labels: map[string]string{"alertname": "AnAlert"}, Value: FiniteValue(1)},
	}}
	e := newEnvWith(t, "", func(o *Options) { o.Alerts, o.AlertsFrom = src, "http://prometheus:9090" })
	a := e.do("GET", "/api/v1/alerts", "", "")
	if a.code != 200 {
		t.Fatalf("GET /api/v1/alerts: %d %s", a.code, a.body)
	}
	var l AlertList
	if err := json.Unmarshal([]byte(a.body), &l); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	if l.Source != "http://prometheus:9090" || len(l.Alerts) != 3 {
		t.Fatalf("got %s", a.body)
	}
	var order []string
	for _, x := range l.Alerts {
		order = append(order, x.Name+"/"+x.Labels["severity"])
	}
	if got := strings.Join(order, " "); got != "AnAlert/ CheckoutBudgetBurn/page CheckoutBudgetBurn/ticket" {
		t.Errorf("order %s", got)
	}
	page, ticket := l.Alerts[1], l.Alerts[2]
	if page.State != "firing" || !page.ActiveAt.Equal(since) || page.Value == nil || *page.Value != 14.4 ||
		page.Annotations["summary"] != "checkout burns its budget" || page.GeneratorURL != "http://vane:8080/prometheus/graph?g0.expr=x" {
		t.Errorf("page alert %+v", page)
	}
	// A NaN value is null; missing annotations are an empty object.
	if ticket.Value != nil || ticket.Annotations == nil || !strings.Contains(a.body, `"value": null`) {
		t.Errorf("ticket alert %+v in %s", ticket, a.body)
	}
	if n := strings.Count(a.body, "generatorURL"); n != 1 {
		t.Errorf("%d generatorURLs, want only the known one: %s", n, a.body)
	}

	// No alert: an empty list, not null.
	e = newEnvWith(t, "", func(o *Options) { o.Alerts, o.AlertsFrom = fakeAlerts{}, AlertsEmbedded })
	if a := e.do("GET", "/api/v1/alerts", "", ""); a.code != 200 || a.body != "{\n  \"source\": \"embedded\",\n  \"alerts\": []\n}\n" {
		t.Fatalf("no alert: %d %q", a.code, a.body)
	}
}

func TestAlertsWithoutASourceIs501(t *testing.T) {
	e := newEnv(t, "")
	a := e.do("GET", "/api/v1/alerts", "", "")
	if a.code != 501 || a.err.Code != "not_implemented" || !strings.Contains(a.err.Error, "no alert source is configured") ||
		!strings.Contains(a.err.Error, "prometheus.url") {
		t.Fatalf("got %d %s", a.code, a.body)
	}
}

func TestAlertsWhenTheSourceFailsIs502(t *testing.T) {
	src := fakeAlerts{err: errors.New(`prom: query "GET /api/v1/alerts" on http://prometheus:9090: network: connection refused`)}
	e := newEnvWith(t, "", func(o *Options) { o.Alerts, o.AlertsFrom = src, "http://prometheus:9090" })
	a := e.do("GET", "/api/v1/alerts", "", "")
	if a.code != 502 || a.err.Code != "alert_source" || !strings.Contains(a.err.Error, "connection refused") ||
		!strings.Contains(a.err.Error, "reading the alerts of http://prometheus:9090") {
		t.Fatalf("got %d %s", a.code, a.body)
	}
}
