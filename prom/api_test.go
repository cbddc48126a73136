package prom

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/internal/promtest"
)

// TestHandlerIsAPrometheusAPI drives every call a Grafana data source or a
// script makes with client_golang's API client, and promtool, against the
// embedded Prometheus while it scrapes a target and evaluates rules.
func TestHandlerIsAPrometheusAPI(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demo_requests_total", Help: "Requests served."}, []string{"code"})
	reg.MustRegister(c)
	c.WithLabelValues("200").Add(10)
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer target.Close()

	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(`groups:
- name: demo
  rules:
  - record: code:demo_requests:sum
    expr: sum by (code) (demo_requests_total)
  - alert: DemoServing
    expr: sum(demo_requests_total) > 0
    annotations: {summary: "demo serves"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var gotURL string
	var once sync.Once
	notified := make(chan struct{})
	e, err := NewEmbedded(EmbeddedConfig{ScrapeInterval: 200 * time.Millisecond, EvaluationInterval: 200 * time.Millisecond,
		Jobs:      []ScrapeJob{{Name: "demo", Targets: []string{strings.TrimPrefix(target.URL, "http://")}}},
		RuleFiles: []string{rules}, ExternalURL: "http://vane.example:8080/prometheus",
		Notify: func(_ context.Context, as []Alert) {
			if len(as) > 0 {
				once.Do(func() { gotURL = as[0].GeneratorURL; close(notified) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		_ = e.Close()
	}()
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	client, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := promv1.NewAPI(client)

	// Wait for the alert to fire: by then the target was scraped and the
	// rules evaluated.
	select {
	case <-notified:
	case <-time.After(20 * time.Second):
		t.Fatal("the alert never fired")
	}
	if want := "http://vane.example:8080/prometheus/graph?g0.expr="; !strings.HasPrefix(gotURL, want) {
		t.Fatalf("generatorURL %q, want it under %s", gotURL, want)
	}
	now := time.Now()

	v, _, _, err := p.Query(ctx, `code:demo_requests:sum`, now)
	if err != nil || v.Type() != model.ValVector || len(v.(model.Vector)) != 1 || v.(model.Vector)[0].Value != 10 {
		t.Fatalf("query: %v %v", v, err)
	}
	m, _, _, err := p.QueryRange(ctx, `demo_requests_total`, promv1.Range{Start: now.Add(-time.Minute), End: now, Step: time.Second})
	if err != nil || len(m.(model.Matrix)) != 1 || len(m.(model.Matrix)[0].Values) == 0 {
		t.Fatalf("query_range: %v %v", m, err)
	}
	if _, _, _, err := p.Query(ctx, `sum(`, now); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Fatalf("a parse error is bad_data as in Prometheus: %v", err)
	}
	series, _, _, err := p.Series(ctx, []string{`demo_requests_total`}, now.Add(-time.Minute), now)
	if err != nil || len(series) != 1 || series[0]["job"] != "demo" {
		t.Fatalf("series: %v %v", series, err)
	}
	names, _, _, err := p.LabelNames(ctx, nil, now.Add(-time.Minute), now)
	if err != nil || !slices.Contains(names, "code") {
		t.Fatalf("labels: %v %v", names, err)
	}
	vals, _, _, err := p.LabelValues(ctx, "job", nil, now.Add(-time.Minute), now)
	if err != nil || len(vals) != 1 || vals[0] != "demo" {
		t.Fatalf("label values: %v %v", vals, err)
	}
	md, err := p.Metadata(ctx, "demo_requests_total", "")
	if err != nil || len(md["demo_requests_total"]) == 0 || md["demo_requests_total"][0].Type != promv1.MetricTypeCounter {
		t.Fatalf("metadata: %v %v", md, err)
	}
	rr, err := p.Rules(ctx, nil)
	if err != nil || len(rr.Groups) != 1 || len(rr.Groups[0].Rules) != 2 {
		t.Fatalf("rules: %+v %v", rr, err)
	}
	al, err := p.Alerts(ctx)
	if err != nil || len(al.Alerts) != 1 || al.Alerts[0].State != promv1.AlertStateFiring || al.Alerts[0].Labels["alertname"] != "DemoServing" {
		t.Fatalf("alerts: %+v %v", al, err)
	}
	tg, err := p.Targets(ctx)
	if err != nil || len(tg.Active) != 1 || tg.Active[0].Health != promv1.HealthGood {
		t.Fatalf("targets: %+v %v", tg, err)
	}
	bi, err := p.Buildinfo(ctx)
	if err != nil || bi.Version == "" || bi.GoVersion == "" {
		t.Fatalf("buildinfo: %+v %v", bi, err)
	}

	// promtool reads it as it reads a Prometheus server.
	out, err := exec.Command(promtest.Tool(t, "promtool"), "query", "instant", srv.URL, `code:demo_requests:sum`).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `code:demo_requests:sum{code="200"} => 10`) {
		t.Fatalf("promtool query instant: %v\n%s", err, out)
	}

	// The generatorURL's page shows the expression and its graph.
	u := srv.URL + gotURL[len("http://vane.example:8080/prometheus"):]
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "sum(demo_requests_total) &gt; 0") || !strings.Contains(string(body), "<polyline") {
		t.Fatalf("graph page %s: %d\n%s", u, resp.StatusCode, body)
	}
}
