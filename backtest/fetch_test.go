package backtest_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/backtest"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

func twin() *slo.SLO {
	s := slo.TestTwin(&slo.SLO{Name: "availability", Service: "checkout", Objective: 99.9,
		Window: slo.Window{Duration: slo.DefaultWindow}, Format: slo.FormatNative, Source: "slos.yaml:3"})
	s.Alerting.Name = "CheckoutAvailability"
	return s
}

// backfilled starts a real Prometheus holding a synthetic month (with a
// 2h gap and a counter reset) backfilled with promtool, and returns it with
// the counters and the range.
func backfilled(t *testing.T) (*promtest.Server, *backtest.Counters, time.Time, time.Time) {
	t.Helper()
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-30 * 24 * time.Hour)
	c, _ := backtest.Synth(backtest.SynthOptions{Start: start, Days: 30, Seed: 11})
	req := analysis.Series{Labels: map[string]string{"__name__": slo.TestRequestsMetric}}
	errs := analysis.Series{Labels: map[string]string{"__name__": slo.TestErrorsMetric}}
	gapFrom, gapTo := len(c.Requests)/2, len(c.Requests)/2+120
	reset := len(c.Requests) * 3 / 4
	var offR, offE float64
	for i := range c.Requests {
		if i >= gapFrom && i < gapTo {
			continue // the exporter was down
		}
		if i == reset {
			offR, offE = c.Requests[i-1], c.Errors[i-1] // the exporter restarted
		}
		at := c.Start.Add(time.Duration(i) * c.Interval)
		req.Points = append(req.Points, analysis.Point{T: at, V: c.Requests[i] - offR})
		errs.Points = append(errs.Points, analysis.Point{T: at, V: c.Errors[i] - offE})
	}
	dir := t.TempDir()
	in := filepath.Join(t.TempDir(), "in.om")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := promtest.WriteOpenMetrics(f, []analysis.Series{req, errs}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := exec.Command(promtest.Tool(t, "promtool"), "tsdb", "create-blocks-from", "openmetrics",
		"--max-block-duration=768h", in, dir).CombinedOutput(); err != nil {
		t.Fatalf("promtool backfill: %v\n%s", err, out)
	}
	srv := promtest.Start(t, promtest.ServerConfig{DataDir: dir, Args: []string{"--storage.tsdb.retention.time=90d"}})
	return srv, c, start, end
}

// TestFetchFromPrometheus reads a backfilled month from a real Prometheus
// in chunks, caches it, and replays it to the same pages as the counters
// themselves; the gap is reported, the counter reset is not an incident.
func TestFetchFromPrometheus(t *testing.T) {
	srv, c, start, end := backfilled(t)
	q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: srv.URL, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := twin()
	var progress strings.Builder
	run := backtest.Run{SLOs: []*slo.SLO{s}, Querier: q, URL: srv.URL, Cache: backtest.Cache{Dir: t.TempDir()}, Progress: &progress,
		Fetch: backtest.FetchOptions{From: start, To: end, Step: time.Minute, ChunkPoints: 5000,
			Transient: func(err error) bool { return prom.KindOf(err).Retryable() }}}
	t0 := time.Now()
	rep, err := run.Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fetched 30 days at 1m in %s", time.Since(t0).Round(time.Millisecond))
	if !strings.Contains(progress.String(), "18/18 chunks") {
		t.Errorf("progress = %q, want 18 chunks", progress.String())
	}
	ser := rep.Series[s.ID()]
	if !ser.Partial || len(ser.Notes) == 0 || !strings.Contains(ser.Notes[0], "longest gap") {
		t.Errorf("the 2h gap is not reported: partial=%v notes=%q", ser.Partial, ser.Notes)
	}
	for _, v := range ser.Errors {
		if v < 0 {
			t.Fatalf("negative error rate %g: the counter reset leaked", v)
		}
	}
	want, err := backtest.Evaluate(s, backtest.SpecPolicy(s), backtest.SeriesFromCounters(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Results[0]
	if got.Policy.Name != "spec" || got.Pages != want.Pages || len(got.Alerts) != len(want.Alerts) {
		t.Fatalf("fetched replay pages %d, counters' replay %d:\n%+v\n%+v", got.Pages, want.Pages, got.Alerts, want.Alerts)
	}
	for i, a := range got.Alerts {
		b := want.Alerts[i]
		// Pages agree to the minute; tickets' 1d and 3d windows miss the 2h
		// gap in the fetched history only, and cross their slow thresholds
		// a few minutes apart.
		tol := 1.0
		if a.Severity == slo.SeverityTicket {
			tol = 15
		}
		if d := a.Start.Sub(b.Start); a.Severity != b.Severity || math.Abs(d.Minutes()) > tol {
			t.Errorf("alert %d: fetched %s at %s, counters %s at %s", i, a.Severity, a.Start, b.Severity, b.Start)
		}
	}
	// The second run reads the cache and does not query.
	var again strings.Builder
	run.Progress, run.Querier = &again, failing{}
	if _, err := run.Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again.String(), "read from cache") {
		t.Errorf("second run did not read the cache: %q", again.String())
	}
	// Reports.
	out := t.TempDir()
	if err := rep.WriteDir(out); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, w := range []string{"| spec |", "| workbook |", "| pyrra |", "(partial)", ".png)"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("report.md lacks %q", w)
		}
	}
}

type failing struct{}

func (failing) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, os.ErrDeadlineExceeded
}

// TestFetchErrors: a range with no data, a query Prometheus refuses and an
// unreachable Prometheus fail with errors naming the SLO and the cause.
func TestFetchErrors(t *testing.T) {
	srv, _, start, _ := backfilled(t)
	q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	transient := func(err error) bool { return prom.KindOf(err).Retryable() }
	s := twin()
	ctx := context.Background()
	old := start.Add(-90 * 24 * time.Hour)
	_, err = backtest.Fetch(ctx, q, s, backtest.FetchOptions{From: old, To: old.Add(24 * time.Hour), Transient: transient})
	if err == nil || !strings.Contains(err.Error(), "no data between") || !strings.Contains(err.Error(), "slos.yaml:3") {
		t.Errorf("no data: err = %v", err)
	}
	bad := *s
	bad.SLI.ErrorQuery = "sum(rate(x[{{.window}}])) +"
	_, err = backtest.Fetch(ctx, q, &bad, backtest.FetchOptions{From: start, To: start.Add(time.Hour), Transient: transient})
	if err == nil || !strings.Contains(err.Error(), "bad_query") || !strings.Contains(err.Error(), "slos.yaml:3") {
		t.Errorf("bad query: err = %v", err)
	}
	addr, _ := promtest.FreeAddr()
	down, _ := prom.NewHTTPQuerier(prom.HTTPConfig{URL: "http://" + addr, MaxAttempts: 1})
	_, err = backtest.Fetch(ctx, down, s, backtest.FetchOptions{From: start, To: start.Add(time.Hour), Transient: transient})
	if err == nil || !strings.Contains(err.Error(), "every query failed") || !strings.Contains(err.Error(), "network") {
		t.Errorf("unreachable: err = %v", err)
	}
	_, err = backtest.Fetch(ctx, q, s, backtest.FetchOptions{From: start, To: start})
	if err == nil || !strings.Contains(err.Error(), "not after") {
		t.Errorf("empty range: err = %v", err)
	}
}
