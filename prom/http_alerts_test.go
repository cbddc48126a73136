package prom

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/internal/promtest"
)

func TestHTTPAlertsDecodesSortsAndRetries(t *testing.T) {
	f := newFakeProm(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/alerts" {
			writeJSON(w, 404, `{"status":"error","errorType":"not_found","error":"no route"}`)
			return
		}
		if n == 1 {
			writeJSON(w, 503, `{"status":"error","errorType":"unavailable","error":"rule manager not ready"}`)
			return
		}
		writeJSON(w, 200, `{"status":"success","data":{"alerts":[
{"labels":{"alertname":"Slow","severity":"page"},"annotations":{"summary":"slow"},"state":"firing","activeAt":"2026-11-30T08:00:00Z","value":"1.5e+00"},
{"labels":{"alertname":"Down"},"annotations":{},"state":"pending","activeAt":"2026-11-30T08:01:00.5Z","value":"NaN"}]}}`)
	})
	q, err := NewHTTPQuerier(fastConfig(f.URL))
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.Alerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "Down" || got[1].Name != "Slow" {
		t.Fatalf("alerts %+v", got)
	}
	down, slow := got[0], got[1]
	if down.State != "pending" || !math.IsNaN(down.Value) || down.Annotations != nil || !down.ActiveAt.Equal(time.Date(2026, 11, 30, 8, 1, 0, 5e8, time.UTC)) {
		t.Errorf("Down %+v", down)
	}
	if slow.State != "firing" || slow.Value != 1.5 || slow.Labels["severity"] != "page" || slow.Labels["alertname"] != "Slow" ||
		slow.Annotations["summary"] != "slow" || slow.GeneratorURL != "" {
		t.Errorf("Slow %+v", slow)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("calls %d, want 2 (one retry after the 503)", n)
	}
}

func TestHTTPAlertsErrors(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"status":"success","data":{"alerts":[{"labels":{"alertname":"X"},"state":"firing","value":"many"}]}}`)
	})
	q, err := NewHTTPQuerier(fastConfig(f.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Alerts(context.Background())
	if KindOf(err) != KindBadResponse || !strings.Contains(err.Error(), `value "many" is not a number`) || !strings.Contains(err.Error(), "/api/v1/alerts") {
		t.Fatalf("bad value: %v", err)
	}
	f.Close()
	_, err = q.Alerts(context.Background())
	if KindOf(err) != KindNetwork || !strings.Contains(err.Error(), f.URL) {
		t.Fatalf("server gone: %v", err)
	}
}

// TestIntegrationHTTPAlertsOnPrometheus reads a real Prometheus server's
// alerts: one that fires at once and one that stays pending.
func TestIntegrationHTTPAlertsOnPrometheus(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(`groups:
- name: test
  rules:
  - alert: AlwaysFiring
    expr: vector(2)
    labels: {severity: page}
    annotations: {summary: "fires at once"}
  - alert: LongPending
    expr: vector(1)
    for: 1h
`), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := promtest.Start(t, promtest.ServerConfig{EvaluationInterval: 250 * time.Millisecond, RuleFiles: []string{rules}})
	q, err := NewHTTPQuerier(HTTPConfig{URL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, 15*time.Second, func() error {
		got, err := q.Alerts(context.Background())
		if err != nil {
			return err
		}
		if len(got) != 2 {
			return fmt.Errorf("alerts %+v, want 2", got)
		}
		fire, pend := got[0], got[1]
		if fire.Name != "AlwaysFiring" || fire.State != "firing" || fire.Value != 2 || fire.Labels["severity"] != "page" ||
			fire.Annotations["summary"] != "fires at once" || fire.ActiveAt.Before(start.Add(-time.Minute)) {
			return fmt.Errorf("firing alert %+v", fire)
		}
		if pend.Name != "LongPending" || pend.State != "pending" || pend.Value != 1 {
			return fmt.Errorf("pending alert %+v", pend)
		}
		return nil
	})
}
