package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/xds"
)

// TestUIInABrowser drives vane run's web page in a real headless Chromium
// during a real rollout (embedded Prometheus scraping sample apps and vane
// itself, traffic through gRPC's xDS client): the weight graph shows the
// canary's weight change, the abort button is refused without the token
// and the page says so, with the token it rolls the canary back, and the
// aborted rollout stays in the history after the next one starts. The
// overview draws the SLO's burn rates and budget from before it opened,
// and an autoscaler (local actuator); the stable version then fails every
// call, the page tier's alert fires and the page lists it. Then every
// query of the generated dashboards and runbooks finds data. The
// screenshots are saved in $VANE_TEST_ARTIFACTS (default
// bin/test-artifacts/ui.png and ui-overview.png).
func TestUIInABrowser(t *testing.T) {
	chromium := promtest.Tool(t, "chromium")
	bin := buildVane(t)
	dir := t.TempDir()
	apps := map[string]*sampleapp.Instance{}
	for _, v := range []string{"v1", "v2", "v3"} {
		in, err := sampleapp.Start(sampleapp.Config{Version: v, ErrorRatio: 0.002, ErrorCode: codes.Unavailable})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Close() })
		apps[v] = in
	}
	xdsAddr, httpAddr := freeAddr(t), freeAddr(t)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("ui-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "slos.yaml"), []byte(`version: "vane/v1"
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
      # A page tier short enough for the embedded Prometheus's coverage
      # guard (data over half the long window) to let it fire in the test.
      tiers:
        - {severity: page, long: 2m, short: 1m, burn_rate: 14.4}
        - {severity: ticket, long: 1h, short: 5m, burn_rate: 3}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "vane.yaml")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(`slos: [slos.yaml]
scrape:
  interval: 1s
  jobs:
    - name: checkout
      targets: [%q, %q, %q]
      labels: {service: checkout}
    - name: vane
      targets: [%q]
xds:
  listen: %s
http:
  listen: %s
  token_file: token
store:
  path: vane.db
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
        - weight: 30
        - analysis: {duration: 10m}
        - promote
      analysis:
        interval: 1s
        judges:
          - name: errors
            kind: sequential
            interval: 1s
            requests_metric: demo_requests_total
            bad_codes: "Unavailable|Internal|Unknown"
  - name: search
    stable: {version: v1, endpoints: [%q]}
    rollout: {analysis: {requests_metric: demo_requests_total}}
    autoscale:
      min: 1
      max: 3
      interval: 1s
      actuator:
        kind: local
        local: {version: v1, rate_per_replica: 100}
      metrics:
        - name: rps
          query: sum(rate(demo_requests_total{service="search"}[1m])) or vector(0)
          target: {type: AverageValue, averageValue: 80}
`, apps["v1"].MetricsAddr(), apps["v2"].MetricsAddr(), apps["v3"].MetricsAddr(), httpAddr, xdsAddr, httpAddr, apps["v1"].Addr(), apps["v1"].Addr())), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startVane(t, bin, cfgFile)
	a := apiCaller{t: t, base: "http://" + httpAddr}
	waitUntil(t, "readyz", 30*time.Second, p, func() bool { return a.call("GET", "/readyz", "", nil, nil) == 200 })
	ready := time.Now()
	boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: xdsAddr, NodeID: "ui-client"})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := loadgen.New(loadgen.Config{Target: "xds:///checkout", Bootstrap: boot, Rate: 50})
	if err != nil {
		t.Fatal(err)
	}
	genCtx, stopGen := context.WithCancel(context.Background())
	genDone := make(chan struct{})
	go func() { defer close(genDone); _ = gen.Run(genCtx) }()
	t.Cleanup(func() { stopGen(); <-genDone; _ = gen.Close() })
	waitUntil(t, "traffic through the xDS client", 30*time.Second, p, func() bool { return gen.Stats().ByVersion["v1"].OK > 20 })

	start := func(version string) {
		t.Helper()
		req := rollout.StartRequest{Service: "checkout", Version: version, Endpoints: []string{apps[version].Addr()}, Force: true}
		if code := a.call("POST", "/api/v1/rollouts", "ui-secret", req, nil); code/100 != 2 {
			t.Fatalf("start %s: HTTP %d\n%s", version, code, tail(p.out.String(), 40))
		}
	}
	start("v2")
	waitUntil(t, "the canary at 30%", 60*time.Second, p, func() bool {
		s, _, ok := a.state("checkout")
		return ok && s.Routing.Weights.Canary == 30 && s.Applied
	})

	ctx := openBrowser(t, chromium, 1400, 4*time.Minute)

	type css = chromedp.CSS
	page := "http://" + httpAddr + "/#/rollout/checkout"
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(css(`#weight-chart polyline.series`))); err != nil {
		t.Fatalf("loading %s: %v", page, err)
	}
	points, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`#weight-chart polyline.series`), "points"))
	if err != nil {
		t.Fatal(err)
	}
	// The weight line goes from 0 to 30%: at least two heights.
	ys := map[string]bool{}
	for _, pt := range strings.Fields(points.Value) {
		if _, y, ok := strings.Cut(pt, ","); ok {
			ys[y] = true
		}
	}
	if len(ys) < 2 {
		t.Fatalf("the weight graph shows no change: points %q", points.Value)
	}

	// Canary against stable latency, from the sample apps' histogram in
	// the embedded Prometheus.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const c = document.querySelector("#latency-chart");
		return !!c && c.getAttribute("role") === "img" && c.getAttribute("aria-label").startsWith("Latency p90, canary against stable") &&
			[...c.querySelectorAll("polyline.series")].some(p => p.dataset.name === "canary v2");
	})()`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("latency graph: %v", err)
	}

	// Abort without the token: refused, and the page says so.
	if err := chromedp.Do(ctx, chromedp.Click(css(`#btn-abort`)), chromedp.WaitVisible(css(`#msg.err`))); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(css(`#msg`)))
	if err != nil || !strings.Contains(msg, "refused") || !strings.Contains(msg, "401") {
		t.Fatalf("refusal message %q (%v)", msg, err)
	}
	if s, _, _ := a.state("checkout"); s.Phase != rollout.Progressing {
		t.Fatalf("a refused abort changed the rollout: %s", s.Phase)
	}

	// With the token: the canary is rolled back.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(css(`#token`), "ui-secret"),
		chromedp.Click(css(`#btn-abort`)),
		chromedp.WaitVisible(css(`#phase.Aborted`)),
	); err != nil {
		t.Fatalf("abort with the token: %v\n%s", err, tail(p.out.String(), 30))
	}
	if s, _, _ := a.state("checkout"); s.Phase != rollout.Aborted || s.Routing.Weights.Canary != 0 {
		t.Fatalf("after abort: phase %s, canary weight %d", s.Phase, s.Routing.Weights.Canary)
	}

	// The next rollout starts; the aborted one stays in the history.
	start("v3")
	waitUntil(t, "the judges of the v3 canary", 30*time.Second, p, func() bool {
		s, _, ok := a.state("checkout")
		return ok && s.Original.Canary.Version == "v3" && len(s.Results) > 0
	})
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#history section.run").length === 2 && document.querySelector("h2").textContent.includes("v3")`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("history: %v", err)
	}
	runs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#history section.run h4")].map(h => h.textContent)`))
	if err != nil || len(runs) != 2 || !strings.Contains(runs[0], "v3") || !strings.Contains(runs[1], "v2") || !strings.Contains(runs[1], "Aborted") {
		t.Fatalf("history, newest first (%v): %q", err, runs)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(css(`#weight-chart polyline.series`))); err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, ctx, "ui.png")

	// The overview draws the SLO's burn rate per window and its budget
	// over the last hours (from before the page opened), from the SLI's
	// queries run on the embedded Prometheus, and links its runbook,
	// which is served.
	// The history's points are 30 s apart: give the embedded Prometheus
	// more than that before the page opens.
	if d := 45*time.Second - time.Since(ready); d > 0 {
		time.Sleep(d)
	}
	opened := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+httpAddr+"/#/"),
		chromedp.WaitVisible(css(`#burn-checkout-availability polyline.series`)),
		chromedp.WaitVisible(css(`#services a[href="#/rollout/checkout"]`))); err != nil {
		t.Fatalf("overview: %v", err)
	}
	windows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#burn-checkout-availability polyline.series")].map(p => p.dataset.name)`))
	if err != nil || !slices.Contains(windows, "5m") {
		t.Fatalf("burn-rate windows drawn: %q (%v)", windows, err)
	}
	assertChartHistory(t, ctx, "burn-checkout-availability", opened, "last 6h")
	assertChartHistory(t, ctx, "budget-checkout-availability", opened, "last 6h")
	if code := a.call("GET", "/runbooks/checkout-availability.md", "", nil, nil); code != 200 {
		t.Fatalf("runbook: HTTP %d", code)
	}
	// The autoscaler (local actuator, an idle service at its minimum).
	if err := chromedp.Do(ctx, chromedp.WaitVisible(css(`#replicas-search polyline.series`))); err != nil {
		t.Fatalf("autoscaler graph: %v", err)
	}
	saveScreenshot(t, ctx, "ui-overview.png")

	// A fast burn: every version fails every call (whichever the judges
	// promote, the service burns). The page tier's alert fires and the page
	// lists it.
	for _, app := range apps {
		if err := app.SetErrorRatio(1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`[...document.querySelectorAll("#alerts td.fail")].some(td => td.textContent === "CheckoutBudgetBurn")`,
		chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		t.Fatalf("the fast burn's alert on the page: %v\n%s", err, tail(p.out.String(), 30))
	}

	// Every dashboard and runbook query finds data in the embedded
	// Prometheus (scraping the apps and vane itself) after this run.
	slos := testSpecs(t, filepath.Join(dir, "slos.yaml"))
	checkDashboardQueries(t, "http://"+httpAddr+"/prometheus", slos)

	// The API goes away: the page says so.
	stopVane(t, p)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(css(`#banner.show`))); err != nil {
		t.Fatal(err)
	}
	if banner, err := chromedp.Run(ctx, chromedp.Text(css(`#banner`))); err != nil || !strings.Contains(banner, "cannot be reached") {
		t.Fatalf("banner %q (%v)", banner, err)
	}
}

// stopVane ends vane run and waits for it.
func stopVane(t *testing.T, p *vaneProc) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait()
}

// saveScreenshot saves a full-page screenshot of the page in ctx as name
// in the test artifacts directory ($VANE_TEST_ARTIFACTS, default
// bin/test-artifacts).
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("VANE_TEST_ARTIFACTS")
	if out == "" {
		out = filepath.Join("..", "..", "bin", "test-artifacts")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", filepath.Join(out, name))
}

// openBrowser starts headless Chromium (no sandbox, no GPU, no background
// networking, a fresh profile, a 1280-pixel-wide window of the given
// height) for at most timeout; the test's cleanup stops it.
func openBrowser(t *testing.T, chromium string, height int, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, height))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelT()
		cancel()
		cancelA()
	})
	return ctx
}
