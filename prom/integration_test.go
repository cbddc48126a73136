package prom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/internal/promtest"
)

// These tests run the real Prometheus server (built by make test-tools).

// waitValue polls q until query returns one sample equal to want.
func waitValue(t *testing.T, q analysis.Querier, query string, want float64) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		v, err := q.Query(context.Background(), query, time.Now())
		if err != nil {
			return err
		}
		if len(v.Samples) != 1 || v.Samples[0].Value != want {
			return fmt.Errorf("%s = %+v, want %v", query, v.Samples, want)
		}
		return nil
	})
}

func TestIntegrationHTTPQuerierOnPrometheus(t *testing.T) {
	exp := promtest.NewExporter(t, "checkout")
	exp.Record("v1", 990, 10)
	srv := promtest.Start(t, promtest.ServerConfig{
		ScrapeInterval: 250 * time.Millisecond,
		Jobs:           []promtest.Job{{Name: "checkout", Targets: []string{exp.Addr()}}},
	})
	m := NewMetrics(prometheus.NewRegistry())
	q, err := NewInstrumentedHTTP(HTTPConfig{URL: srv.URL, Timeout: 5 * time.Second, Backoff: 10 * time.Millisecond}, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitValue(t, q, `sum(http_requests_total{service="checkout",version="v1"})`, 1000)
	v, err := q.Query(ctx, `http_requests_total{code="500"}`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Samples) != 1 || v.Samples[0].Labels["job"] != "checkout" || v.Samples[0].Labels["instance"] != exp.Addr() || v.Samples[0].Value != 10 {
		t.Fatalf("samples %+v", v.Samples)
	}
	now := time.Now()
	mat, err := q.QueryRange(ctx, `sum(http_requests_total)`, now.Add(-2*time.Second), now, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(mat.Series) != 1 || len(mat.Series[0].Points) == 0 {
		t.Fatalf("range %+v", mat)
	}
	// Prometheus's own warnings reach the caller.
	v, err = q.Query(ctx, `quantile(2, http_requests_total)`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Warnings) == 0 || !strings.Contains(v.Warnings[0], "quantile") {
		t.Fatalf("warnings %q", v.Warnings)
	}
	// A bad query is not retried.
	if _, err := q.Query(ctx, `sum(rate(http_requests_total[1m])`, time.Now()); KindOf(err) != KindBadQuery {
		t.Fatalf("bad query: %v", err)
	}
	if n := testutil.ToFloat64(m.QueryErrors.WithLabelValues("http", "bad_query")); n != 1 {
		t.Fatalf("bad_query errors %v", n)
	}
	if n := testutil.CollectAndCount(m.Retries); n != 0 {
		t.Fatalf("retries recorded: %d", n)
	}

	// Checks built by the analysis package: no data and NaN are
	// Inconclusive, never Pass.
	max := 0.05
	build := func(query string) analysis.Check {
		c, err := analysis.Spec{Judge: &analysis.ThresholdSpec{CommonSpec: analysis.CommonSpec{Interval: model.Duration(time.Millisecond)}, Query: query, Max: &max}}.
			Build(analysis.Vars{Service: "checkout", Version: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	errRatio := `sum(rate(http_requests_total{service="{{.service}}",version="{{.version}}",code="500"}[1m])) / sum(rate(http_requests_total{service="{{.service}}",version="{{.version}}"}[1m]))`
	noData := build(`sum(rate(http_requests_total{service="{{.service}}",version="v404"}[1m]))`)
	if r := noData.Evaluate(ctx, q, time.Now()); r.Verdict != analysis.Inconclusive || !strings.Contains(r.Reason, "no data") {
		t.Fatalf("empty result: %s: %s", r.Verdict, r.Reason)
	}
	// The counters have not moved for more than a second of scrapes: the
	// error ratio over the last second of rates is 0/0.
	// Wait for that state rather than for a fixed time.
	nan := build(strings.ReplaceAll(errRatio, "[1m]", "[1s]"))
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := nan.Evaluate(ctx, q, time.Now())
		if r.Verdict == analysis.Inconclusive && strings.Contains(r.Reason, "NaN") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("NaN: %s: %s", r.Verdict, r.Reason)
		}
	}

	// Prometheus stops: the querier fails after its retries and the check
	// is Inconclusive.
	ratio := build(errRatio)
	exp.Record("v1", 990, 10)
	waitValue(t, q, `sum(http_requests_total{service="checkout",version="v1"})`, 2000)
	if r := ratio.Evaluate(ctx, q, time.Now()); r.Verdict == analysis.Inconclusive {
		t.Fatalf("with Prometheus up: %s: %s", r.Verdict, r.Reason)
	}
	srv.Stop()
	_, err = q.Query(ctx, "up", time.Now())
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Kind != KindNetwork || qe.Attempts != DefaultMaxAttempts {
		t.Fatalf("with Prometheus stopped: %v", err)
	}
	if n := testutil.ToFloat64(m.Retries.WithLabelValues("network")); n != DefaultMaxAttempts-1 {
		t.Fatalf("network retries %v", n)
	}
	if r := ratio.Evaluate(ctx, q, time.Now().Add(time.Second)); r.Verdict != analysis.Inconclusive || !strings.Contains(r.Reason, "network") {
		t.Fatalf("with Prometheus stopped: %s: %s", r.Verdict, r.Reason)
	}
}

// TestIntegrationSequentialJudge runs the sequential canary judge on an
// exporter scraped by a real Prometheus server (through the HTTP querier)
// and by the embedded Prometheus: in both, a canary with ten times the
// stable error ratio fails and one with the same ratio passes.
func TestIntegrationSequentialJudge(t *testing.T) {
	t.Run("prometheus", func(t *testing.T) {
		exp := promtest.NewExporter(t, "checkout")
		srv := promtest.Start(t, promtest.ServerConfig{
			ScrapeInterval: 200 * time.Millisecond,
			Jobs:           []promtest.Job{{Name: "checkout", Targets: []string{exp.Addr()}}},
		})
		q, err := NewInstrumentedHTTP(HTTPConfig{URL: srv.URL}, WithMetrics(NewMetrics(nil)))
		if err != nil {
			t.Fatal(err)
		}
		judgeCanaries(t, exp, q)
	})
	t.Run("embedded", func(t *testing.T) {
		exp := promtest.NewExporter(t, "checkout")
		e, err := NewEmbedded(EmbeddedConfig{
			ScrapeInterval: 200 * time.Millisecond,
			Jobs:           []ScrapeJob{{Name: "checkout", Targets: []string{exp.Addr()}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		runEmbedded(t, e)
		judgeCanaries(t, exp, Instrument(e, NewMetrics(nil), "embedded"))
	})
}

func judgeCanaries(t *testing.T, exp *promtest.Exporter, q analysis.Querier) {
	for _, v := range []string{"v1", "v2", "v3"} {
		exp.Record(v, 0, 0)
	}
	stableTotal := 0.0
	spec := analysis.Spec{Judge: &analysis.SequentialSpec{CommonSpec: analysis.CommonSpec{Interval: model.Duration(time.Millisecond)}, Counters: analysis.Counters{RequestsMetric: promtest.RequestsMetric}}}
	for _, tc := range []struct {
		canary   string
		badRatio float64
		want     analysis.Verdict
	}{
		{"v2", 0.10, analysis.Fail}, // ten times stable's 1%
		{"v3", 0.01, analysis.Pass},
	} {
		check, err := spec.Build(analysis.Vars{Service: "checkout", Version: tc.canary, Stable: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		var r analysis.Result
		canaryTotal := 0.0
		for look := 0; look < 40; look++ {
			if look > 0 {
				// One interval of traffic: 10% to the canary.
				exp.Record("v1", 89100, 900)
				exp.Record(tc.canary, int(10000*(1-tc.badRatio)), int(10000*tc.badRatio))
				stableTotal += 90000
				canaryTotal += 10000
			}
			waitValue(t, q, `sum(http_requests_total{version="v1"})`, stableTotal)
			waitValue(t, q, fmt.Sprintf(`sum(http_requests_total{version=%q})`, tc.canary), canaryTotal)
			r = check.Evaluate(context.Background(), q, time.Now())
			if r.Verdict != analysis.Continue {
				t.Logf("%s after %d looks (%v canary requests): %s: %s", tc.canary, look, canaryTotal, r.Verdict, r.Reason)
				break
			}
		}
		if r.Verdict != tc.want {
			t.Fatalf("canary %s: %s (%s), want %s", tc.canary, r.Verdict, r.Reason, tc.want)
		}
	}
}

// history builds 45 minutes of counters, a histogram and a gauge every 15 s
// ending at end, with a counter reset, for comparing the two adapters.
func history(end time.Time) []analysis.Series {
	start := end.Add(-45 * time.Minute)
	step := 15 * time.Second
	n := int(end.Sub(start) / step)
	mk := func(ls map[string]string, f func(i int) float64) analysis.Series {
		s := analysis.Series{Labels: ls}
		for i := 0; i <= n; i++ {
			s.Points = append(s.Points, analysis.Point{T: start.Add(time.Duration(i) * step), V: f(i)})
		}
		return s
	}
	var out []analysis.Series
	for vi, ver := range []string{"v1", "v2"} {
		rate := float64(50 * (vi + 1))
		errRatio := 0.01 * float64(1+4*vi)
		out = append(out,
			mk(map[string]string{"__name__": "http_requests_total", "service": "checkout", "version": ver, "code": "200"}, func(i int) float64 {
				x := float64(i) * rate * 15 * (1 - errRatio) * (1 + 0.3*math.Sin(float64(i)/7))
				if vi == 1 && i >= n/2 { // v2 restarts half way
					x -= float64(n/2) * rate * 15 * (1 - errRatio) * 0.9
				}
				return math.Floor(x)
			}),
			mk(map[string]string{"__name__": "http_requests_total", "service": "checkout", "version": ver, "code": "500"}, func(i int) float64 {
				return math.Floor(float64(i) * rate * 15 * errRatio * (1 + 0.5*math.Cos(float64(i)/5)))
			}))
		var cum float64
		for bi, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"} {
			cum += []float64{0.05, 0.2, 0.3, 0.2, 0.1, 0.08, 0.04, 0.02, 0.01}[bi] * (1 + float64(vi)*float64(bi)/8)
			share := cum
			out = append(out, mk(map[string]string{"__name__": "http_request_duration_seconds_bucket", "service": "checkout", "version": ver, "le": le}, func(i int) float64 {
				return math.Floor(float64(i) * rate * 15 * share)
			}))
		}
		out = append(out, mk(map[string]string{"__name__": "queue_depth", "service": "checkout", "version": ver}, func(i int) float64 {
			return 10 + 5*math.Sin(float64(i+vi)/3)
		}))
	}
	return out
}

// TestIntegrationEmbeddedMatchesPrometheus writes the same samples into the
// embedded TSDB (through its appender) and into a real Prometheus server
// (backfilled with promtool) and checks that both adapters give the same
// answers to instant and range queries.
func TestIntegrationEmbeddedMatchesPrometheus(t *testing.T) {
	end := time.Now().Add(-2 * time.Minute).Truncate(time.Minute)
	data := history(end)

	dir := t.TempDir()
	promtest.Backfill(t, dir, data)
	srv := promtest.Start(t, promtest.ServerConfig{DataDir: dir})
	hq, err := NewHTTPQuerier(HTTPConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := NewEmbedded(EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	appendSeries(t, emb, data)

	queries := []string{
		`http_requests_total`,
		`rate(http_requests_total[1m])`,
		`sum by (version) (rate(http_requests_total{code="500"}[5m])) / sum by (version) (rate(http_requests_total[5m]))`,
		`increase(http_requests_total{version="v2"}[10m])`,
		`resets(http_requests_total[30m])`,
		`sum_over_time(queue_depth[5m])`,
		`avg_over_time(queue_depth[7m]) - min_over_time(queue_depth[7m])`,
		`max_over_time(rate(http_requests_total[2m])[10m:1m])`,
		`histogram_quantile(0.99, sum by (le, version) (rate(http_request_duration_seconds_bucket[5m])))`,
		`histogram_quantile(0.5, sum by (le) (increase(http_request_duration_seconds_bucket{version="v1"}[10m])))`,
		`sum(rate(http_requests_total{version="v3"}[5m]))`,
		`quantile(2, queue_depth)`,
		`absent(nothing_here)`,
		`scalar(sum(queue_depth))`,
	}
	ctx := context.Background()
	instants := []time.Time{end.Add(-30 * time.Minute), end.Add(-17*time.Minute - 7*time.Second), end, end.Add(3 * time.Minute)}
	for _, query := range queries {
		for _, at := range instants {
			want, err := hq.Query(ctx, query, at)
			if err != nil {
				t.Fatalf("prometheus %s: %v", query, err)
			}
			got, err := emb.Query(ctx, query, at)
			if err != nil {
				t.Fatalf("embedded %s: %v", query, err)
			}
			if err := diffVectors(want, got); err != nil {
				t.Errorf("%s at %s: %v", query, at.Format(time.TimeOnly), err)
			}
			if strings.Join(want.Warnings, "|") != strings.Join(got.Warnings, "|") {
				t.Errorf("%s: warnings %q, want %q", query, got.Warnings, want.Warnings)
			}
		}
		want, err := hq.QueryRange(ctx, query, end.Add(-40*time.Minute), end.Add(time.Minute), 30*time.Second)
		if err != nil {
			t.Fatalf("prometheus range %s: %v", query, err)
		}
		got, err := emb.QueryRange(ctx, query, end.Add(-40*time.Minute), end.Add(time.Minute), 30*time.Second)
		if err != nil {
			t.Fatalf("embedded range %s: %v", query, err)
		}
		if err := diffMatrices(want, got); err != nil {
			t.Errorf("range %s: %v", query, err)
		}
		if len(want.Series) == 0 && !strings.Contains(query, "v3") {
			t.Errorf("range %s: empty, the comparison proves nothing", query)
		}
	}
}
