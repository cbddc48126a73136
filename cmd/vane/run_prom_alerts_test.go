package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/internal/promtest"
)

// TestRunAlertsFromPrometheusServer runs vane run with prometheus.url set
// to a real Prometheus server that evaluates a rule file with an alert
// that fires at once and one that stays pending: GET /api/v1/alerts lists
// both as the server reports them, the web page lists the firing one
// (and no link to an embedded Prometheus), and once the server is gone
// the API answers 502 naming it and the page says so.
func TestRunAlertsFromPrometheusServer(t *testing.T) {
	chromium := promtest.Tool(t, "chromium")
	bin := buildVane(t)
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	writeFile(t, rules, `groups:
- name: vane-alerts
  rules:
  - alert: VaneServerTestAlert
    expr: vector(3)
    labels: {severity: page, service: checkout}
    annotations: {summary: "fires at once", runbook_url: "http://runbooks.example/checkout"}
  - alert: VaneServerPending
    expr: vector(1)
    for: 1h
`, 0o644)
	srv := promtest.Start(t, promtest.ServerConfig{RuleFiles: []string{rules}})
	httpAddr := freeAddr(t)
	cfgFile := filepath.Join(dir, "vane.yaml")
	writeFile(t, cfgFile, fmt.Sprintf(`prometheus:
  url: %s
xds:
  listen: %s
http:
  listen: %s
store:
  path: vane.db
`, srv.URL, freeAddr(t), httpAddr), 0o644)
	started := time.Now()
	p, a := startVaneReady(t, bin, cfgFile, httpAddr)

	var l api.AlertList
	waitUntil(t, "the server's alerts on /api/v1/alerts", 30*time.Second, p, func() bool {
		l = api.AlertList{}
		return a.call("GET", "/api/v1/alerts", "", nil, &l) == 200 && len(l.Alerts) == 2 && l.Alerts[1].State == "firing"
	})
	if l.Source != srv.URL {
		t.Errorf("source %q, want %s", l.Source, srv.URL)
	}
	pending, firing := l.Alerts[0], l.Alerts[1]
	if pending.Name != "VaneServerPending" || pending.State != "pending" || pending.Value == nil || *pending.Value != 1 {
		t.Errorf("pending alert %+v", pending)
	}
	if firing.Name != "VaneServerTestAlert" || firing.Labels["alertname"] != "VaneServerTestAlert" || firing.Labels["severity"] != "page" ||
		firing.Labels["service"] != "checkout" || firing.Annotations["summary"] != "fires at once" ||
		firing.Value == nil || *firing.Value != 3 || firing.ActiveAt.Before(started.Add(-time.Minute)) || firing.ActiveAt.After(time.Now()) {
		t.Errorf("firing alert %+v", firing)
	}

	// The page lists the firing alert, not the pending one.
	bctx := openBrowser(t, chromium, 800, 60*time.Second)
	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+httpAddr+"/#/"), chromedp.WaitVisible(chromedp.CSS(`#alerts td.fail`))); err != nil {
		t.Fatalf("the page's alerts: %v\n%s", err, tail(p.out.String(), 30))
	}
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#alerts tbody tr")].map(tr => tr.innerText)`))
	if err != nil || len(rows) != 1 || !strings.Contains(rows[0], "VaneServerTestAlert") || !strings.Contains(rows[0], "service=checkout, severity=page") ||
		!strings.Contains(rows[0], "fires at once") || !strings.Contains(rows[0], "runbook") {
		t.Errorf("alert rows %q (%v)", rows, err)
	}
	if hidden, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById("prom-link").hidden`)); err != nil || !hidden {
		t.Errorf("the embedded Prometheus link is shown (hidden %v, %v)", hidden, err)
	}

	// The server goes away: 502 naming it, and the page says why.
	srv.Stop()
	resp, err := http.Get(a.base + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	var e api.Error
	derr := json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 502 || derr != nil || e.Code != "alert_source" || !strings.Contains(e.Error, srv.URL) {
		t.Errorf("without the server: HTTP %d %+v (%v), want 502 naming %s", resp.StatusCode, e, derr, srv.URL)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`(document.getElementById("alerts") || {}).textContent?.includes("Alerts cannot be shown")`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Errorf("the page after the server stopped: %v", err)
	}
}
