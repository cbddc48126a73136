package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

// historySLO is the SLO of the history tests: 99% of checkout's calls
// succeed over 7 days (a 1% budget).
const historySLO = `version: "vane/v1"
service: "checkout"
slos:
  - name: "availability"
    objective: 99
    window: 7d
    sli:
      events:
        error_query: sum(rate(demo_requests_total{service="checkout",code=~"Unavailable|Internal|Unknown"}[{{.window}}]))
        total_query: sum(rate(demo_requests_total{service="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutBudgetBurn
`

// TestUISLOHistoryWithPrometheusServer runs vane run against a real
// Prometheus server (prometheus.url) that holds two hours of checkout's
// calls from before vane started, with a 10-minute incident (1 call in 6
// failing) 90 minutes ago, and no Vane recording rules. The SLO history
// endpoint computes the burn rates and the budget from the SLI's own
// queries over those two hours, agreeing with the SLO engine's instant
// reads; bad parameters are refused with 400; and the web page draws the
// burn rate and budget from before it was opened (screenshot:
// $VANE_TEST_ARTIFACTS/ui-slo-history.png).
func TestUISLOHistoryWithPrometheusServer(t *testing.T) {
	chromium := promtest.Tool(t, "chromium")
	bin := buildVane(t)
	dir := t.TempDir()

	// Two hours of counters every 15 s, ending a minute ago.
	now := time.Now().Truncate(time.Second)
	from, to := now.Add(-2*time.Hour), now.Add(-time.Minute)
	incident := [2]time.Time{now.Add(-90 * time.Minute), now.Add(-80 * time.Minute)}
	ok := analysis.Series{Labels: map[string]string{"__name__": "demo_requests_total", "service": "checkout", "version": "v1", "code": "OK"}}
	bad := analysis.Series{Labels: map[string]string{"__name__": "demo_requests_total", "service": "checkout", "version": "v1", "code": "Unavailable"}}
	var nOK, nBad float64
	for ts := from; !ts.After(to); ts = ts.Add(15 * time.Second) {
		if !ts.Before(incident[0]) && ts.Before(incident[1]) {
			nOK, nBad = nOK+100, nBad+20 // 1 call in 6 fails: a 16.7x burn of a 1% budget
		} else {
			nOK, nBad = nOK+100, nBad+0.1
		}
		ok.Points = append(ok.Points, analysis.Point{T: ts, V: nOK})
		bad.Points = append(bad.Points, analysis.Point{T: ts, V: nBad})
	}
	data := t.TempDir()
	promtest.Backfill(t, data, []analysis.Series{ok, bad})
	srv := promtest.Start(t, promtest.ServerConfig{DataDir: data})

	writeFile(t, filepath.Join(dir, "slos.yaml"), historySLO, 0o644)
	httpAddr := freeAddr(t)
	cfgFile := filepath.Join(dir, "vane.yaml")
	writeFile(t, cfgFile, fmt.Sprintf(`slos: [slos.yaml]
prometheus:
  url: %s
xds:
  listen: %s
http:
  listen: %s
store:
  path: vane.db
`, srv.URL, freeAddr(t), httpAddr), 0o644)
	p, a := startVaneReady(t, bin, cfgFile, httpAddr)

	// The history over the two hours, every minute, ending now.
	const path = "/api/v1/slos/checkout/availability/history"
	var h api.SLOHistory
	if code := a.call("GET", fmt.Sprintf("%s?range=2h&step=1m&end=%d", path, now.Unix()), "", nil, &h); code != 200 {
		t.Fatalf("history: HTTP %d\n%s", code, tail(p.out.String(), 30))
	}
	if len(h.Errors) > 0 || h.Step != "1m" || !h.End.Equal(now) {
		t.Fatalf("history: step %s, end %s, errors %q", h.Step, h.End, h.Errors)
	}
	byWindow := map[string][]slo.Point{}
	for _, w := range h.BurnRates {
		byWindow[w.Window] = w.Points
	}
	five := byWindow["5m"]
	if len(five) < 100 || five[0].T.After(now.Add(-110*time.Minute)) {
		t.Fatalf("5m burn rate: %d points from %v; want two hours'", len(five), five)
	}
	// The incident: a 5m window inside it burns at 20/120/1% = 16.7x;
	// before and after it, 0.1/100.1/1% = 0.1x.
	var peak float64
	for _, pt := range five {
		peak = math.Max(peak, pt.V)
		if pt.T.Before(incident[0]) && math.Abs(pt.V-0.1/100.1/0.01) > 1e-6 {
			t.Fatalf("5m burn before the incident at %s: %g, want 0.0999", pt.T, pt.V)
		}
	}
	if math.Abs(peak-20.0/120/0.01) > 1e-6 {
		t.Errorf("5m burn during the incident peaks at %g, want 16.67", peak)
	}
	// Every point agrees with the SLO engine reading the same Prometheus
	// at that time; the budget spent by the incident shows.
	q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	slos := testSpecs(t, filepath.Join(dir, "slos.yaml"))
	ev := &slo.Evaluator{SLOs: slos, Querier: analysis.SLOQuerier(q)}
	ctx := context.Background()
	if len(h.Budget) < 100 {
		t.Fatalf("budget: %d points", len(h.Budget))
	}
	for _, pt := range []slo.Point{h.Budget[0], h.Budget[len(h.Budget)/2], h.Budget[len(h.Budget)-1]} {
		want, err := ev.Budget(ctx, "checkout-availability", pt.T)
		if err != nil || math.Abs(pt.V-want) > 1e-9 {
			t.Errorf("budget at %s: history %g, Budget %g (%v)", pt.T, pt.V, want, err)
		}
	}
	if last := h.Budget[len(h.Budget)-1].V; !(last < 0) {
		t.Errorf("budget at the end: %g; the incident overspent it (1 call in 6 for 10 of 120 minutes against 1%%)", last)
	}
	st, err := ev.Status(ctx, five[len(five)-1].T)
	if err != nil || st[0].BurnRates[0].Window != "5m" || st[0].BurnRates[0].BurnRate == nil || math.Abs(*st[0].BurnRates[0].BurnRate-five[len(five)-1].V) > 1e-9 {
		t.Errorf("the last 5m point %v against Status %+v (%v)", five[len(five)-1], st, err)
	}

	// Bad parameters: 400 with the reason; an unknown SLO: 404.
	for query, want := range map[string]string{
		"?range=30d":          "longer than the 7d allowed",
		"?range=6h&step=1s":   "more than the 1000 allowed",
		"?step=fast":          `step: "fast"`,
		"?end=after-midnight": "end",
	} {
		resp, err := http.Get(a.base + path + query)
		if err != nil {
			t.Fatal(err)
		}
		var e api.Error
		derr := json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || derr != nil || e.Code != "bad_request" || !strings.Contains(e.Error, want) {
			t.Errorf("%s: HTTP %d %+v (%v), want 400 containing %q", query, resp.StatusCode, e, derr, want)
		}
	}
	if code := a.call("GET", "/api/v1/slos/checkout/latency/history", "", nil, nil); code != 404 {
		t.Errorf("unknown SLO: HTTP %d", code)
	}

	// The page draws the burn rate and the budget from before it opened.
	bctx := openBrowser(t, chromium, 800, 60*time.Second)
	opened := time.Now()
	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+httpAddr+"/#/"),
		chromedp.WaitVisible(chromedp.CSS(`#burn-checkout-availability polyline.series`)),
		chromedp.WaitVisible(chromedp.CSS(`#budget-checkout-availability polyline.series`))); err != nil {
		t.Fatalf("overview: %v\n%s", err, tail(p.out.String(), 30))
	}
	assertChartHistory(t, bctx, "burn-checkout-availability", opened.Add(-time.Hour), "last 6h")
	assertChartHistory(t, bctx, "budget-checkout-availability", opened.Add(-time.Hour), "last 6h")
	saveScreenshot(t, bctx, "ui-slo-history.png")
}

// assertChartHistory checks that every series of the chart id starts
// before the time before and that its accessible label says span.
func assertChartHistory(t *testing.T, ctx context.Context, id string, before time.Time, span string) {
	t.Helper()
	t0s, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll("#`+id+` polyline.series")].map(p => Number(p.dataset.t0))`))
	if err != nil || len(t0s) == 0 {
		t.Fatalf("%s: series %v (%v)", id, t0s, err)
	}
	for _, ms := range t0s {
		if !(ms > 0) || !time.UnixMilli(int64(ms)).Before(before) {
			t.Errorf("%s: a series starts at %v, not before %s", id, time.UnixMilli(int64(ms)), before.Format(time.TimeOnly))
		}
	}
	label, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#`+id), "aria-label"))
	if err != nil || !strings.Contains(label.Value, span) || !strings.Contains(label.Value, "latest:") {
		t.Errorf("%s: aria-label %q (%v)", id, label.Value, err)
	}
}
