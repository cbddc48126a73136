package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/internal/promtest"
)

// runEmbedded starts e.Run in the background and stops and closes it when
// the test ends.
func runEmbedded(t *testing.T, e *Embedded) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// eventually polls f until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func scalarOf(v analysis.Vector) (float64, error) {
	if len(v.Samples) != 1 {
		return 0, errors.New("want one sample, got " + strings.Repeat("*", len(v.Samples)))
	}
	return v.Samples[0].Value, nil
}

func TestEmbeddedScrapesEvaluatesRulesAndAlerts(t *testing.T) {
	exp := promtest.NewExporter(t, "checkout")
	exp.Record("v1", 90, 10)
	exp.Observe("v1", 20*time.Millisecond, 5)

	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rulesFile, []byte(`groups:
- name: checkout
  rules:
  - record: service:errors:total
    expr: sum by (service) (http_requests_total{code=~"5.."})
  - alert: CheckoutErrors
    expr: service:errors:total > 5
    labels:
      severity: page
    annotations:
      summary: "{{ $value }} errors"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	notifiedCh := make(chan []Alert, 1)
	m := NewMetrics(prometheus.NewRegistry())
	e, err := NewEmbedded(EmbeddedConfig{
		ScrapeInterval:     200 * time.Millisecond,
		EvaluationInterval: 200 * time.Millisecond,
		Jobs:               []ScrapeJob{{Name: "app", Targets: []string{exp.Addr()}, Labels: map[string]string{"env": "test"}}},
		RuleFiles:          []string{rulesFile},
		ExternalLabels:     map[string]string{"cluster": "demo"},
		Notify: func(_ context.Context, alerts []Alert) {
			select {
			case notifiedCh <- alerts:
			default:
			}
		},
	}, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	tmp := e.DataDir()
	t.Cleanup(func() { // runs after runEmbedded's Close
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Errorf("temporary data dir %s left behind: %v", tmp, err)
		}
	})
	runEmbedded(t, e)

	ctx := context.Background()
	eventually(t, 10*time.Second, func() error {
		v, err := e.Query(ctx, `sum(http_requests_total{service="checkout",version="v1",env="test",job="app"})`, time.Now())
		if err != nil {
			return err
		}
		if x, err := scalarOf(v); err != nil || x != 100 {
			return errors.New("requests not scraped yet")
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		v, err := e.Query(ctx, `service:errors:total`, time.Now())
		if err != nil {
			return err
		}
		if x, err := scalarOf(v); err != nil || x != 10 {
			return errors.New("recording rule not evaluated yet")
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		alerts := e.Alerts()
		if len(alerts) != 1 || alerts[0].State != "firing" {
			return errors.New("alert not firing yet")
		}
		return nil
	})
	a := e.Alerts()[0]
	if a.Name != "CheckoutErrors" || a.Labels["severity"] != "page" || a.Labels["service"] != "checkout" || a.Value != 10 || a.Annotations["summary"] != "10 errors" {
		t.Fatalf("alert %+v", a)
	}
	select {
	case notified := <-notifiedCh:
		if len(notified) != 1 || notified[0].Labels["cluster"] != "demo" {
			t.Fatalf("notified %+v", notified)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Notify not called")
	}
	eventually(t, 5*time.Second, func() error {
		if n := testutil.ToFloat64(m.ActiveAlerts.WithLabelValues("firing")); n != 1 {
			return fmt.Errorf("active alerts metric %v", n)
		}
		return nil
	})
	if groups := e.RuleGroups(); len(groups) != 1 || groups[0].Rules != 2 || groups[0].LastEvaluation.IsZero() {
		t.Fatalf("rule groups %+v", groups)
	}

	// A histogram quantile over the scraped buckets.
	v, err := e.Query(ctx, `histogram_quantile(0.9, sum by (le) (http_request_duration_seconds_bucket{version="v1"}))`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if x, err := scalarOf(v); err != nil || x <= 0.01 || x > 0.025 {
		t.Fatalf("p90 %v (%v), want within the 10–25ms bucket", x, err)
	}

	// Rules can change at run time; a bad file changes nothing.
	if err := e.SetRuleFiles([]string{filepath.Join(t.TempDir(), "missing.yaml")}); err == nil {
		t.Fatal("a missing rule file was accepted")
	}
	if len(e.RuleGroups()) != 1 {
		t.Fatal("a refused reload changed the rules")
	}
	rules2 := filepath.Join(t.TempDir(), "rules2.yaml")
	if err := os.WriteFile(rules2, []byte("groups:\n- name: other\n  rules:\n  - record: service:requests:total\n    expr: sum by (service) (http_requests_total)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.SetRuleFiles([]string{rules2}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		v, err := e.Query(ctx, `service:requests:total`, time.Now())
		if err != nil {
			return err
		}
		if x, err := scalarOf(v); err != nil || x != 100 {
			return errors.New("new recording rule not evaluated yet")
		}
		if len(e.Alerts()) != 0 {
			return errors.New("the removed alert is still active")
		}
		return nil
	})

	// Targets can change at run time.
	exp2 := promtest.NewExporter(t, "payments")
	exp2.Record("v9", 1, 0)
	if err := e.SetScrapeJobs([]ScrapeJob{{Name: "pay", Targets: []string{exp2.Addr()}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		v, err := e.Query(ctx, `http_requests_total{job="pay",version="v9",code="200"}`, time.Now())
		if err != nil {
			return err
		}
		if len(v.Samples) != 1 {
			return errors.New("new job not scraped yet")
		}
		return nil
	})
}

func TestEmbeddedRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(rate(x[5m])\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cfg  EmbeddedConfig
		want string
	}{
		"bad rule":       {EmbeddedConfig{RuleFiles: []string{bad}}, "bad.yaml"},
		"missing rule":   {EmbeddedConfig{RuleFiles: []string{filepath.Join(dir, "nope.yaml")}}, "nope.yaml"},
		"no targets":     {EmbeddedConfig{Jobs: []ScrapeJob{{Name: "a"}}}, "jobs[0] (a): no targets"},
		"no name":        {EmbeddedConfig{Jobs: []ScrapeJob{{Targets: []string{"x:1"}}}}, "jobs[0]: name is empty"},
		"duplicate jobs": {EmbeddedConfig{Jobs: []ScrapeJob{{Name: "a", Targets: []string{"x:1"}}, {Name: "a", Targets: []string{"y:1"}}}}, `"a"`},
		"bad target":     {EmbeddedConfig{Jobs: []ScrapeJob{{Name: "a", Targets: []string{"http://x:1/metrics"}}}}, "http://x:1/metrics"},
		"timeout":        {EmbeddedConfig{Jobs: []ScrapeJob{{Name: "a", Targets: []string{"x:1"}, Interval: time.Second, Timeout: time.Minute}}}, "scrape timeout"},
		"negative":       {EmbeddedConfig{Retention: -time.Hour}, "negative"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("TMPDIR", t.TempDir()) // where a temporary data dir would go
			e, err := NewEmbedded(tc.cfg)
			if err == nil {
				_ = e.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %q does not name %q", err, tc.want)
			}
			if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "vane-prometheus-*")); len(left) > 0 {
				t.Fatalf("a failed start left a data dir behind")
			}
		})
	}

	// A bad rule file at run time is refused and the rules stay.
	e, err := NewEmbedded(EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.SetRuleFiles([]string{bad}); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Fatalf("SetRuleFiles: %v", err)
	}
	if err := e.SetScrapeJobs([]ScrapeJob{{Name: ""}}); err == nil {
		t.Fatal("SetScrapeJobs accepted a job without a name")
	}
}

// appendSeries writes points into the embedded TSDB.
func appendSeries(t testing.TB, e *Embedded, series []analysis.Series) {
	t.Helper()
	app := e.Appender(context.Background())
	for _, s := range series {
		ls := labels.FromMap(s.Labels)
		for _, p := range s.Points {
			if _, err := app.Append(0, ls, p.T.UnixMilli(), p.V); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedPersistentDataDirAndClose(t *testing.T) {
	dir := t.TempDir()
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	e, err := NewEmbedded(EmbeddedConfig{DataDir: dir, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	appendSeries(t, e, []analysis.Series{{Labels: map[string]string{"__name__": "m", "a": "b"}, Points: []analysis.Point{{T: at, V: 42}}}})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := e.Query(context.Background(), "m", at); KindOf(err) != KindServer {
		t.Fatalf("query after close: %v", err)
	}
	if err := e.Run(context.Background()); err == nil {
		t.Fatal("Run after Close succeeded")
	}

	// Reopened, the data is still there (the WAL is replayed).
	e, err = NewEmbedded(EmbeddedConfig{DataDir: dir, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	v, err := e.Query(context.Background(), "m", at)
	if err != nil {
		t.Fatal(err)
	}
	if x, err := scalarOf(v); err != nil || x != 42 || v.Samples[0].Labels["a"] != "b" {
		t.Fatalf("after reopen: %+v", v)
	}
}

func TestEmbeddedQueryErrorsAndNaN(t *testing.T) {
	e, err := NewEmbedded(EmbeddedConfig{QueryTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	now := time.Now()
	if _, err := e.Query(ctx, "sum(rate(x[5m])", now); KindOf(err) != KindBadQuery {
		t.Fatalf("parse error: %v", err)
	}
	if _, err := e.Query(ctx, "x[5m]", now); KindOf(err) != KindBadResponse {
		t.Fatalf("range vector from instant query: %v", err)
	}
	v, err := e.Query(ctx, "absent_metric", now)
	if err != nil || len(v.Samples) != 0 {
		t.Fatalf("empty: %+v %v", v, err)
	}
	v, err = e.Query(ctx, "0/0", now)
	if err != nil || len(v.Samples) != 1 || !math.IsNaN(v.Samples[0].Value) {
		t.Fatalf("NaN scalar: %+v %v", v, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Query(cctx, "vector(1)", now); KindOf(err) != KindCanceled {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := e.QueryRange(ctx, "vector(1)", now, now.Add(-time.Second), time.Second); KindOf(err) != KindBadQuery {
		t.Fatalf("end before start: %v", err)
	}
	v, err = e.Query(ctx, "time()", time.Time{})
	if x, _ := scalarOf(v); err != nil || math.Abs(x-float64(time.Now().Unix())) > 5 {
		t.Fatalf("a zero time is now: time() = %v, %v", x, err)
	}
	v, err = e.Query(ctx, "time()", time.Unix(100, 999_600_000))
	if x, _ := scalarOf(v); err != nil || x != 101 {
		t.Fatalf("times round to the millisecond as the HTTP API does: time() = %v, %v", x, err)
	}
	m, err := e.QueryRange(ctx, "vector(1)", now.Add(-time.Minute), now, 15*time.Second)
	if err != nil || len(m.Series) != 1 || len(m.Series[0].Points) != 5 {
		t.Fatalf("range: %+v %v", m, err)
	}
}

func TestEmbeddedHandlerServesPrometheusAPI(t *testing.T) {
	e, err := NewEmbedded(EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	var pts []analysis.Point
	for i := range 41 {
		pts = append(pts, analysis.Point{T: base.Add(time.Duration(i) * 15 * time.Second), V: float64(i * 3)})
	}
	appendSeries(t, e, []analysis.Series{{Labels: map[string]string{"__name__": "reqs_total", "version": "v1"}, Points: pts}})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()

	// The HTTP querier (client_golang) reads the handler like Prometheus.
	hq, err := NewHTTPQuerier(HTTPConfig{URL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	end := base.Add(10 * time.Minute)
	for _, q := range []string{`rate(reqs_total[1m])`, `increase(reqs_total[5m])`, `sum_over_time(reqs_total[2m])`, `scalar(sum(reqs_total))`, `absent(nope)`} {
		want, err := e.Query(ctx, q, end)
		if err != nil {
			t.Fatal(err)
		}
		got, err := hq.Query(ctx, q, end)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		assertVectorsEqual(t, q, want, got)
		wantM, err := e.QueryRange(ctx, q, base, end, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		gotM, err := hq.QueryRange(ctx, q, base, end, 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		assertMatricesEqual(t, q, wantM, gotM)
	}
	if _, err := hq.Query(ctx, "sum(", end); KindOf(err) != KindBadQuery {
		t.Fatalf("parse error through handler: %v", err)
	}
	if _, err := hq.Query(ctx, `label_replace(reqs_total, "x", "y", "version", "(")`, end); KindOf(err) != KindBadQuery {
		t.Fatalf("execution error through handler: %v", err)
	}

	for path, want := range map[string]string{
		"/api/v1/labels":                `"version"`,
		"/api/v1/label/version/values":  `"v1"`,
		"/api/v1/alerts":                `"alerts":[]`,
		"/-/ready":                      "OK",
		"/api/v1/query_range?query=1":   `"errorType":"bad_data"`,
		"/api/v1/query?query=1&time=xx": `invalid parameter \"time\"`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body := new(strings.Builder)
		_, _ = io.Copy(body, resp.Body)
		resp.Body.Close()
		if !strings.Contains(body.String(), want) {
			t.Errorf("%s: %s, want %s", path, body, want)
		}
	}
}

func TestEmbeddedSharesARegistryAcrossRestarts(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := range 2 {
		e, err := NewEmbedded(EmbeddedConfig{Registerer: reg})
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, mf := range mfs {
			names[strings.SplitN(mf.GetName(), "_", 3)[1]] = true
		}
		if !names["tsdb"] || !names["engine"] {
			t.Fatalf("prometheus metrics missing from the registry: %v", names)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Two at once on one registry: the second is refused, and the first
	// keeps its metrics.
	e, err := NewEmbedded(EmbeddedConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	if e2, err := NewEmbedded(EmbeddedConfig{Registerer: reg}); err == nil || !strings.Contains(err.Error(), "registry") {
		if e2 != nil {
			_ = e2.Close()
		}
		t.Fatalf("a second embedded Prometheus on the same registry: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "vane-prometheus-*")); len(left) > 0 {
		t.Fatalf("the refused start left %v behind", left)
	}
	if mfs, _ := reg.Gather(); len(mfs) == 0 {
		t.Fatal("the refused start unregistered the first one's metrics")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Fatalf("%d metric families left registered after Close", len(mfs))
	}
}

// newHandlerServer serves e.Handler on a loopback port and returns an HTTP
// querier reading it.
func newHandlerServer(t testing.TB, e *Embedded) *HTTPQuerier {
	t.Helper()
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	q, err := NewHTTPQuerier(HTTPConfig{URL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return q
}
