package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/promtest"
)

// TestRunSendsAlertsToAlertmanager runs the controller with the embedded
// Prometheus and alertmanager.url set: an alert of its rule files reaches
// a real Alertmanager.
func TestRunSendsAlertsToAlertmanager(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), `groups:
- name: vane-run
  rules:
  - alert: VaneRunTestAlert
    expr: vector(1)
    labels: {severity: ticket}
    annotations: {summary: "always firing"}
`, 0o644)
	cfgFile := filepath.Join(dir, "vane.yaml")
	httpAddr := freeAddr(t)
	cfg, err := config.Parse(cfgFile, []byte(fmt.Sprintf(`prometheus:
  rule_files: [rules.yaml]
  external_labels: {cluster: test-1}
xds:
  listen: %s
http:
  listen: %s
store:
  path: vane.db
alertmanager:
  url: %s
`, freeAddr(t), httpAddr, am.URL)), nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := startController(t, cfg)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	var gen string
	for {
		alerts, err := am.Alerts(ctx)
		if err == nil && len(alerts) == 1 && alerts[0].Labels["alertname"] == "VaneRunTestAlert" &&
			alerts[0].Labels["severity"] == "ticket" && alerts[0].Annotations["summary"] == "always firing" &&
			alerts[0].Labels["cluster"] == "test-1" {
			gen = alerts[0].GeneratorURL
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager has %v (%v)\nvane log:\n%s", alerts, err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), "Alert firing"); n != 1 {
		t.Errorf("the firing alert was logged %d times, want once:\n%s", n, logs.String())
	}
	// The alert's generatorURL opens on vane's own HTTP server: a page
	// showing the expression and its graph.
	if want := "http://" + httpAddr + "/prometheus/graph?g0.expr=vector%281%29"; !strings.HasPrefix(gen, want) {
		t.Fatalf("generatorURL %q, want %s…", gen, want)
	}
	// The rules may fire before the HTTP server listens: wait for it.
	var resp *http.Response
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err = http.Get(gen); err == nil || time.Now().After(wait) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "vector(1)") || !strings.Contains(string(body), "<svg") {
		t.Fatalf("generatorURL answers %d:\n%s", resp.StatusCode, body)
	}
	// The API lists the embedded Prometheus's alert, with its generatorURL.
	var l api.AlertList
	if code := (apiCaller{t: t, base: "http://" + httpAddr}).call("GET", "/api/v1/alerts", "", nil, &l); code != 200 || l.Source != api.AlertsEmbedded ||
		len(l.Alerts) != 1 || l.Alerts[0].Name != "VaneRunTestAlert" || l.Alerts[0].State != "firing" ||
		l.Alerts[0].Annotations["summary"] != "always firing" || l.Alerts[0].Value == nil || *l.Alerts[0].Value != 1 || !strings.HasPrefix(l.Alerts[0].GeneratorURL, "http://"+httpAddr+"/prometheus/graph?g0.expr=vector%281%29") {
		t.Errorf("GET /api/v1/alerts: HTTP %d %+v", code, l)
	}
	// promtool reads vane run's embedded Prometheus under /prometheus/.
	promtool := promtest.Tool(t, "promtool")
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		out, err := exec.Command(promtool, "query", "instant", "http://"+httpAddr+"/prometheus", `ALERTS{alertname="VaneRunTestAlert"}`).CombinedOutput()
		if err == nil && strings.Contains(string(out), `alertstate="firing"`) {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("promtool query instant: %v\n%s", err, out)
		}
	}
}
