package prom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/vaneproj/vane/internal/promtest"
)

func newTestAlertmanagerClient(t *testing.T, cfg AlertmanagerConfig) (*AlertmanagerClient, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	c, err := NewAlertmanagerClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

// amAlert returns the alert Alertmanager lists with the given alertname.
func amAlert(ctx context.Context, am *promtest.Alertmanager, name string) (*promtest.AlertmanagerAlert, error) {
	alerts, err := am.Alerts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range alerts {
		if alerts[i].Labels["alertname"] == name {
			return &alerts[i], nil
		}
	}
	return nil, fmt.Errorf("alertmanager does not list %s (it has %d alerts)", name, len(alerts))
}

func TestAlertmanagerClientSendsFiringAlerts(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{})
	c, reg := newTestAlertmanagerClient(t, AlertmanagerConfig{URL: am.URL + "/"})
	ctx := context.Background()
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond).UTC()
	alerts := []Alert{
		{Name: "CheckoutAvailabilityBurn", State: "firing", ActiveAt: start, Value: 14.4,
			Labels:       map[string]string{"alertname": "CheckoutAvailabilityBurn", "severity": "page", "sloth_slo": "availability"},
			Annotations:  map[string]string{"summary": "checkout burns its error budget 14.4x too fast"},
			GeneratorURL: "http://vane.example/graph?g0.expr=up&g0.tab=1"},
		{Name: "CheckoutLatencyBurn", State: "firing", ActiveAt: start, ValidUntil: time.Now().Add(time.Hour),
			Labels: map[string]string{"severity": "ticket"}},
	}
	if err := c.Send(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	got, err := amAlert(ctx, am, "CheckoutAvailabilityBurn")
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["severity"] != "page" || got.Labels["sloth_slo"] != "availability" || len(got.Labels) != 3 {
		t.Errorf("labels = %v", got.Labels)
	}
	if got.Annotations["summary"] != "checkout burns its error budget 14.4x too fast" {
		t.Errorf("annotations = %v", got.Annotations)
	}
	if got.GeneratorURL != alerts[0].GeneratorURL {
		t.Errorf("generatorURL = %q", got.GeneratorURL)
	}
	if !got.StartsAt.Equal(start) {
		t.Errorf("startsAt = %v, want %v", got.StartsAt, start)
	}
	if got.Status.State != "active" || !got.EndsAt.After(time.Now()) {
		t.Errorf("state %q, endsAt %v: want an active alert", got.Status.State, got.EndsAt)
	}
	// The alertname comes from Name when the labels lack it; endsAt from
	// ValidUntil.
	got, err = amAlert(ctx, am, "CheckoutLatencyBurn")
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["severity"] != "ticket" || !got.EndsAt.Equal(alerts[1].ValidUntil.Truncate(time.Millisecond)) {
		t.Errorf("second alert = %+v", got)
	}
	if n := testutil.ToFloat64(c.metrics.AlertsSent); n != 2 {
		t.Errorf("alerts sent = %v, want 2", n)
	}
	if n := testutil.CollectAndCount(c.metrics.SendErrors); n != 0 {
		t.Errorf("%d send error series, want none", n)
	}
	if n := testutil.CollectAndCount(c.metrics.SendDuration); n != 1 {
		t.Errorf("%d send duration series, want 1 (success)", n)
	}
	// The registry given in the config exposes them under their names.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP vane_prom_alertmanager_alerts_sent_total Alerts accepted by Alertmanager.
# TYPE vane_prom_alertmanager_alerts_sent_total counter
vane_prom_alertmanager_alerts_sent_total 2
`), "vane_prom_alertmanager_alerts_sent_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "vane_prom_alertmanager_send_duration_seconds"); err != nil || n != 1 {
		t.Errorf("send duration series: %d, %v", n, err)
	}
}

func TestAlertmanagerClientResolvedAlert(t *testing.T) {
	var mu sync.Mutex
	var statuses []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Status string `json:"status"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		statuses = append(statuses, msg.Status)
		mu.Unlock()
	}))
	defer hook.Close()
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{WebhookURL: hook.URL})
	c, _ := newTestAlertmanagerClient(t, AlertmanagerConfig{URL: am.URL})
	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	a := Alert{Name: "CheckoutAvailabilityBurn", State: "firing", ActiveAt: start,
		Labels: map[string]string{"alertname": "CheckoutAvailabilityBurn", "severity": "page"}}
	if err := c.Send(ctx, []Alert{a}); err != nil {
		t.Fatal(err)
	}
	if _, err := amAlert(ctx, am, a.Name); err != nil {
		t.Fatal(err)
	}
	// Resolved: endsAt in the past. Alertmanager stops listing it as
	// active, counts a resolved alert and notifies the receiver.
	a.State, a.ResolvedAt = "inactive", time.Now().Add(-time.Second)
	if err := c.Send(ctx, []Alert{a}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if got, err := amAlert(ctx, am, a.Name); err == nil {
			return fmt.Errorf("still listed after resolution: %+v", got)
		}
		n, err := am.Metric(ctx, `alertmanager_alerts_received_total{status="resolved",version="v2"}`)
		if err != nil || n != 1 {
			return fmt.Errorf("alertmanager counted %v resolved alerts (%v), want 1", n, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(statuses) < 2 || statuses[0] != "firing" || statuses[len(statuses)-1] != "resolved" {
			return fmt.Errorf("receiver got %v, want firing then resolved", statuses)
		}
		return nil
	})
	if n := testutil.ToFloat64(c.metrics.AlertsSent); n != 2 {
		t.Errorf("alerts sent = %v, want 2", n)
	}
}

func TestAlertmanagerClientStoppedServer(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{})
	am.Stop()
	c, _ := newTestAlertmanagerClient(t, AlertmanagerConfig{URL: am.URL, MaxAttempts: 3, Backoff: 10 * time.Millisecond})
	err := c.Send(context.Background(), []Alert{{Name: "A", State: "firing", ActiveAt: time.Now()}})
	if err == nil {
		t.Fatal("Send to a stopped Alertmanager succeeded")
	}
	if !strings.Contains(err.Error(), am.URL+"/api/v2/alerts") || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error does not name the endpoint and attempts: %v", err)
	}
	if n := testutil.ToFloat64(c.metrics.SendErrors.WithLabelValues("network")); n != 1 {
		t.Errorf("network send errors = %v, want 1", n)
	}
	if n := testutil.ToFloat64(c.metrics.Retries); n != 2 {
		t.Errorf("retries = %v, want 2", n)
	}
	if n := testutil.ToFloat64(c.metrics.AlertsSent); n != 0 {
		t.Errorf("alerts sent = %v, want 0", n)
	}
}

func TestAlertmanagerClientBadURL(t *testing.T) {
	for _, u := range []string{"", "alertmanager:9093", "ftp://alertmanager:9093", "http://", "http://am:9093/?x=1", "http://a b"} {
		_, err := NewAlertmanagerClient(AlertmanagerConfig{URL: u})
		if err == nil {
			t.Errorf("url %q accepted", u)
			continue
		}
		if !strings.HasPrefix(err.Error(), "prom: alertmanager: ") || (u != "" && !strings.Contains(err.Error(), u)) {
			t.Errorf("url %q: unclear error %v", u, err)
		}
	}
	// A reachable server that is not Alertmanager's API: a 404 names the
	// endpoint and is not retried.
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{})
	c, _ := newTestAlertmanagerClient(t, AlertmanagerConfig{URL: am.URL + "/not-alertmanager"})
	err := c.Send(context.Background(), []Alert{{Name: "A", State: "firing", ActiveAt: time.Now()}})
	if err == nil || !strings.Contains(err.Error(), am.URL+"/not-alertmanager/api/v2/alerts") ||
		!strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "1 attempts") {
		t.Fatalf("error = %v", err)
	}
	if n := testutil.ToFloat64(c.metrics.SendErrors.WithLabelValues("http_4xx")); n != 1 {
		t.Errorf("4xx send errors = %v, want 1", n)
	}
}

func TestAlertmanagerClientRetriesServerErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c, _ := newTestAlertmanagerClient(t, AlertmanagerConfig{URL: srv.URL, Backoff: time.Millisecond, Client: srv.Client()})
	if err := c.Send(context.Background(), []Alert{{Name: "A", ActiveAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || testutil.ToFloat64(c.metrics.Retries) != 2 {
		t.Fatalf("calls %d, retries %v; want 3 and 2", calls.Load(), testutil.ToFloat64(c.metrics.Retries))
	}
	// Always 5xx: the error carries the last answer.
	calls.Store(-100)
	err := c.Send(context.Background(), []Alert{{Name: "A", ActiveAt: time.Now()}})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "overloaded") {
		t.Fatalf("error = %v", err)
	}
	if n := testutil.ToFloat64(c.metrics.SendErrors.WithLabelValues("http_5xx")); n != 1 {
		t.Errorf("5xx send errors = %v, want 1", n)
	}
}

func TestAlertmanagerClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, _ := newTestAlertmanagerClient(t, AlertmanagerConfig{URL: srv.URL, Timeout: 200 * time.Millisecond, Client: srv.Client()})
	start := time.Now()
	err := c.Send(context.Background(), []Alert{{Name: "A", ActiveAt: time.Now()}})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %s with a 200ms timeout", d)
	}
	if n := testutil.ToFloat64(c.metrics.SendErrors.WithLabelValues("timeout")); n != 1 {
		t.Errorf("timeout send errors = %v, want 1", n)
	}
}

func TestAlertmanagerMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewAlertmanagerClient(AlertmanagerConfig{URL: "http://127.0.0.1:9093", Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAlertmanagerClient(AlertmanagerConfig{URL: "http://127.0.0.1:9093", Registerer: reg}); err == nil {
		t.Fatal("a second client registered the same metrics")
	}
}

func TestPostableAlerts(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pa := PostableAlerts([]Alert{
		{Name: "X", Labels: map[string]string{"a": "1"}, Annotations: map[string]string{"s": "t"}, ActiveAt: at, ValidUntil: at.Add(4 * time.Minute), GeneratorURL: "http://x/graph"},
		{Name: "X", Labels: map[string]string{"a": "2"}, ActiveAt: at, ValidUntil: at.Add(4 * time.Minute), ResolvedAt: at.Add(time.Minute)},
	})
	b, err := json.Marshal(pa)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"annotations":{"s":"t"},"endsAt":"2026-01-01T00:04:00.000Z","startsAt":"2026-01-01T00:00:00.000Z","generatorURL":"http://x/graph","labels":{"a":"1","alertname":"X"}},` +
		`{"endsAt":"2026-01-01T00:01:00.000Z","startsAt":"2026-01-01T00:00:00.000Z","labels":{"a":"2","alertname":"X"}}]`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// TestEmbeddedAlertsReachAlertmanager runs the whole path: an embedded
// Prometheus evaluates a rule file, its alert fires and reaches a real
// Alertmanager through the Notify hook and the client, then resolves.
func TestEmbeddedAlertsReachAlertmanager(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{})
	c, _ := newTestAlertmanagerClient(t, AlertmanagerConfig{URL: am.URL})
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(`groups:
- name: checkout
  rules:
  - alert: CheckoutErrorBudgetBurn
    expr: vane_test_burn_rate > 14.4
    labels:
      severity: page
    annotations:
      summary: "burn rate {{ $value }}"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := NewEmbedded(EmbeddedConfig{
		EvaluationInterval: 100 * time.Millisecond,
		RuleFiles:          []string{rulesFile},
		ExternalLabels:     map[string]string{"cluster": "demo"},
		ExternalURL:        "http://vane.example:8080/",
		Notify:             NotifyAlerts(c, slog.New(slog.NewTextHandler(t.Output(), nil))),
	})
	if err != nil {
		t.Fatal(err)
	}
	setBurn := func(v float64) {
		app := e.Appender(context.Background())
		if _, err := app.Append(0, labels.FromStrings("__name__", "vane_test_burn_rate", "slo", "availability"), time.Now().UnixMilli(), v); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	setBurn(20)
	runEmbedded(t, e)

	ctx := context.Background()
	eventually(t, 10*time.Second, func() error {
		got, err := amAlert(ctx, am, "CheckoutErrorBudgetBurn")
		if err != nil {
			return err
		}
		want := map[string]string{"alertname": "CheckoutErrorBudgetBurn", "severity": "page", "slo": "availability", "cluster": "demo"}
		if fmt.Sprint(got.Labels) != fmt.Sprint(want) {
			return fmt.Errorf("labels %v, want %v", got.Labels, want)
		}
		if got.Annotations["summary"] != "burn rate 20" {
			return fmt.Errorf("annotations %v", got.Annotations)
		}
		if !strings.HasPrefix(got.GeneratorURL, "http://vane.example:8080/graph?g0.expr=vane_test_burn_rate+%3E+14.4") {
			return fmt.Errorf("generatorURL %q", got.GeneratorURL)
		}
		if !got.EndsAt.After(time.Now()) || got.Status.State != "active" {
			return fmt.Errorf("not active: %+v", got)
		}
		return nil
	})
	// The burn rate drops: the rule manager resolves the alert and sends
	// it once more with endsAt set; Alertmanager no longer lists it.
	setBurn(1)
	eventually(t, 10*time.Second, func() error {
		if got, err := amAlert(ctx, am, "CheckoutErrorBudgetBurn"); err == nil {
			return fmt.Errorf("still active: %+v", got)
		}
		if n, err := am.Metric(ctx, `alertmanager_alerts_received_total{status="resolved",version="v2"}`); err != nil || n < 1 {
			return fmt.Errorf("alertmanager received %v resolved alerts (%v)", n, err)
		}
		return nil
	})
	if n := testutil.ToFloat64(c.metrics.AlertsSent); n < 2 {
		t.Errorf("alerts sent = %v, want the firing and the resolved one", n)
	}
}

// An incident logs one firing and one resolved line, however often the
// rule manager resends it.
func TestNotifyAlertsLogsOncePerTransition(t *testing.T) {
	var buf strings.Builder
	notify := NotifyAlerts(nil, slog.New(slog.NewTextHandler(&buf, nil)))
	firing := Alert{Name: "Burn", State: "firing", Labels: map[string]string{"alertname": "Burn", "slo": "a"}, Value: 20}
	other := Alert{Name: "Burn", State: "firing", Labels: map[string]string{"alertname": "Burn", "slo": "b"}, Value: 20}
	resolved := firing
	resolved.State, resolved.ResolvedAt = "inactive", time.Now()
	for range 5 {
		notify(context.Background(), []Alert{firing, other})
	}
	for range 14 {
		notify(context.Background(), []Alert{resolved})
	}
	notify(context.Background(), []Alert{firing}) // fires again: a new incident
	out := buf.String()
	if n := strings.Count(out, `msg="Alert firing"`); n != 3 {
		t.Errorf("%d firing lines, want 3 (a, b, a again):\n%s", n, out)
	}
	if n := strings.Count(out, `msg="Alert resolved"`); n != 1 {
		t.Errorf("%d resolved lines, want 1:\n%s", n, out)
	}
}
