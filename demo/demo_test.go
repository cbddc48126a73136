package demo

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/rollout"
)

// TestRunRollsBackTheBadCanaryAndPromotesTheGoodOne runs the whole demo
// with --fast timings against the real components and checks what it
// measured.
//
// It runs with Keep, so that the HTTP endpoints can be checked once the
// scenario is over: Vane's API reports the promoted rollout, its metrics
// and the embedded Prometheus's query API answer.
//
// This is the suite's only end-to-end run of the demo: `vane demo` is a
// thin flag layer over Run (its flag checks are tested in cmd/vane), so
// running it there too would repeat these 25-40 seconds for nothing.
func TestRunRollsBackTheBadCanaryAndPromotesTheGoodOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	keepCtx, stopKeeping := context.WithCancel(ctx)
	var out promtest.SyncBuffer
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := Run(keepCtx, Options{Fast: true, Keep: true, Out: &out,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
		done <- result{sum, err}
	}()
	keepRE := regexp.MustCompile(`Keeping everything up \(--keep\): web UI (http://127\.0\.0\.1:[0-9]+)/`)
	var base string
	waitFor(t, 2*time.Minute, func() bool {
		select {
		case r := <-done:
			t.Fatalf("Run returned before keeping the endpoints up: %v\n%s", r.err, out.String())
		default:
		}
		m := keepRE.FindStringSubmatch(out.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	checkEndpoints(t, base)
	checkGeneratorURLs(t, base, out.String())
	stopKeeping()
	r := <-done
	sum, err := r.sum, r.err
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if sum.HTTP != base {
		t.Errorf("summary's HTTP %q, narrated %q", sum.HTTP, base)
	}
	if len(sum.Parts) != 3 {
		t.Fatalf("%d parts, want 3", len(sum.Parts))
	}
	bad, good, scale := sum.Parts[0], sum.Parts[1], sum.Parts[2]

	if bad.Canary != "v2" || bad.Outcome != RolledBack || bad.Phase != rollout.Aborted {
		t.Errorf("part 1: canary %s ended %s (%s), want v2 rolled back", bad.Canary, bad.Outcome, bad.Phase)
	}
	if bad.CanaryCalls == 0 || bad.CanaryBad == 0 || bad.FirstBad.IsZero() {
		t.Errorf("part 1: users got %d bad calls of %d from v2, first at %v", bad.CanaryBad, bad.CanaryCalls, bad.FirstBad)
	}
	if bad.WeightZero.IsZero() || bad.RollbackDecided.IsZero() || bad.WeightZero.Before(bad.RollbackDecided.Add(-time.Second)) {
		t.Errorf("part 1: rollback decided at %v, weight 0 at %v", bad.RollbackDecided, bad.WeightZero)
	}
	if bad.TimeToRollback <= 0 || bad.TimeToRollback != bad.WeightZero.Sub(bad.FirstBad) {
		t.Errorf("part 1: time to rollback %v, want weight 0 (%v) − first bad call (%v)", bad.TimeToRollback, bad.WeightZero, bad.FirstBad)
	}
	if bad.Bad < bad.CanaryBad || bad.MaxWeight != 10 {
		t.Errorf("part 1: %d bad calls in all, %d from v2; max weight %d%%, want the first step's 10%%", bad.Bad, bad.CanaryBad, bad.MaxWeight)
	}
	for _, j := range bad.Judges {
		if j.Judge == "errors" || j.Judge == "latency" {
			continue
		}
		t.Errorf("part 1: unexpected judge %q", j.Judge)
	}

	if good.Canary != "v3" || good.Stable != "v1" || good.Outcome != Promoted || good.Phase != rollout.Succeeded {
		t.Errorf("part 2: canary %s over %s ended %s (%s), want v3 promoted over v1", good.Canary, good.Stable, good.Outcome, good.Phase)
	}
	if good.MaxWeight != 60 || good.CanaryCalls == 0 || good.TimeToRollback != 0 {
		t.Errorf("part 2: max weight %d%%, v3 answered %d calls, time to rollback %v", good.MaxWeight, good.CanaryCalls, good.TimeToRollback)
	}
	if scale.Outcome != ScaledUpAndDown || scale.Autoscale == nil {
		t.Fatalf("part 3: %s (%s), want %s", scale.Outcome, scale.Reason, ScaledUpAndDown)
	}
	if a := scale.Autoscale; a.Peak < 3 || a.Final >= a.Peak || a.ScaleUps == 0 || a.ScaleDowns == 0 || a.PeakRate < rampHigh-1 {
		t.Errorf("part 3: replicas %d → %d → %d (%d up, %d down) for a peak of %.0f calls/s; want at least 3 at the peak of %.0f and fewer after",
			a.Initial, a.Peak, a.Final, a.ScaleUps, a.ScaleDowns, a.PeakRate, rampHigh)
	}
	if a := scale.Autoscale; !(a.ReplicaMinutes > 0 && a.ReplicaMinutes < a.StaticReplicaMinutes) || a.ViolationMinutes < 0 {
		t.Errorf("part 3: replica-minutes %.3f (static %.3f), violation minutes %.3f", a.ReplicaMinutes, a.StaticReplicaMinutes, a.ViolationMinutes)
	}
	if sum.Wall <= 0 {
		t.Errorf("wall %v", sum.Wall)
	}
	for _, want := range []string{"ROLLBACK", "ROLLED BACK", "time from the first bad call", "SLO burn availability", "PROMOTED", "SCALE UP 1 → ", "SCALE DOWN", "SCALED UP AND BACK DOWN", "replica-minutes", "Summary", "Wall time"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("narration lacks %q", want)
		}
	}
	checkNarration(t, out.String())
}

// checkNarration checks what `vane demo` prints: each part's outcome, the
// time to rollback, the summary table's rows and no terminal escapes when
// the output is not a terminal.
func checkNarration(t *testing.T, s string) {
	t.Helper()
	checks := map[string]*regexp.Regexp{
		"v2 rolled back":            regexp.MustCompile(`→ v2 ROLLED BACK after`),
		"time to rollback":          regexp.MustCompile(`from v2 to weight 0 ACKed by every xDS client: [0-9.]+m?s\n`),
		"v3 promoted":               regexp.MustCompile(`→ v3 PROMOTED after`),
		"summary row for v2":        regexp.MustCompile(`1 a bad canary is rolled back\s+v1 → v2\s+rolled back\s+rolled back\s`),
		"summary row for v3":        regexp.MustCompile(`2 a good canary is promoted\s+v1 → v3\s+promoted\s+promoted\s`),
		"the autoscaler's scale-up": regexp.MustCompile(`SCALE UP 1 → [2-8] \(users at`),
		"the autoscaler's result":   regexp.MustCompile(`→ SCALED UP AND BACK DOWN in .*: 1 → [3-8] → [1-7] replicas`),
		"summary row for scaling":   regexp.MustCompile(`3 the autoscaler follows a load ramp\s+-\s+scaled up and down\s+scaled up and down\s`),
		"violation minutes":         regexp.MustCompile(`SLO violation minutes [0-9.]+, replica-minutes [0-9.]+`),
		"wall time":                 regexp.MustCompile(`Wall time [0-9.]+s\.`),
	}
	for what, re := range checks {
		if !re.MatchString(s) {
			t.Errorf("output does not show %s (%s)", what, re)
		}
	}
	if strings.Contains(s, "\033[") {
		t.Error("output to a non-terminal holds terminal escapes")
	}
}

// checkGeneratorURLs checks that the graph links the demo narrates (the
// generatorURL of the embedded Prometheus's alerts, which the alerts it
// narrates and the kept-up endpoints show) point at the demo's own HTTP
// address and open.
func checkGeneratorURLs(t *testing.T, base, narration string) {
	t.Helper()
	urls := regexp.MustCompile(`http://\S+/graph\?g0\.expr=\S+`).FindAllString(narration, -1)
	if len(urls) == 0 {
		t.Fatalf("the narration shows no graph link:\n%s", narration)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, base+"/prometheus/graph?") {
			t.Errorf("generatorURL %s is not under the demo's %s/prometheus/", u, base)
			continue
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "demo_requests_total") && !strings.Contains(string(b), "vane_") {
			t.Errorf("GET %s: %s\n%.300s", u, resp.Status, b)
		}
	}
	t.Logf("%d graph links open", len(urls))
}

// checkEndpoints checks the HTTP endpoints the demo keeps up.
func checkEndpoints(t *testing.T, base string) {
	t.Helper()
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
		}
		return string(b)
	}
	var detail struct {
		Rollout struct {
			Phase   string `json:"phase"`
			Service struct {
				Stable struct {
					Version string `json:"version"`
				} `json:"stable"`
			} `json:"service"`
		} `json:"rollout"`
	}
	if err := json.Unmarshal([]byte(get("/api/v1/rollouts/demo")), &detail); err != nil {
		t.Fatal(err)
	}
	if detail.Rollout.Phase != string(rollout.Succeeded) || detail.Rollout.Service.Stable.Version != "v3" {
		t.Errorf("API: rollout %+v, want Succeeded with stable v3", detail.Rollout)
	}
	if m := get("/metrics"); !strings.Contains(m, "vane_rollout_") || !strings.Contains(m, "vane_xds_") {
		t.Errorf("/metrics lacks vane_rollout_* or vane_xds_* series")
	}
	var q struct {
		Status string `json:"status"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(get("/prometheus/api/v1/query?query=sum+by+(version)(demo_requests_total)")), &q); err != nil {
		t.Fatal(err)
	}
	if q.Status != "success" || len(q.Data.Result) != 3 {
		t.Errorf("Prometheus API: status %s, %d series, want success and one per version", q.Status, len(q.Data.Result))
	}
	var slos struct {
		SLOs []struct {
			ID        string `json:"id"`
			BurnRates []struct {
				Window string `json:"window"`
			} `json:"burn_rates"`
		} `json:"slos"`
	}
	if err := json.Unmarshal([]byte(get("/api/v1/slos")), &slos); err != nil {
		t.Fatal(err)
	}
	if len(slos.SLOs) != 2 || slos.SLOs[0].ID != "demo-availability" || slos.SLOs[1].ID != "demo-latency" || len(slos.SLOs[0].BurnRates) == 0 {
		t.Errorf("API: SLOs %+v, want demo-availability and demo-latency with burn rates", slos.SLOs)
	}
	var as struct {
		Autoscalers []struct {
			Name   string `json:"name"`
			Recent []struct {
				Type string `json:"type"`
			} `json:"recent"`
		} `json:"autoscalers"`
	}
	if err := json.Unmarshal([]byte(get("/api/v1/autoscalers")), &as); err != nil {
		t.Fatal(err)
	}
	if len(as.Autoscalers) != 1 || as.Autoscalers[0].Name != "demo" || len(as.Autoscalers[0].Recent) == 0 {
		t.Errorf("API: autoscalers %+v, want demo's with its recent events", as.Autoscalers)
	}
	get("/healthz")
	get("/")
	// The web UI, rendered by a real browser: its script fills the tables
	// from the API.
	dom := promtest.RenderDOM(t, base+"/", 5*time.Second)
	row := regexp.MustCompile(`<tr><td><a href="#/rollout/demo">demo</a></td><td>v1 → v3</td><td class="Succeeded">Succeeded</td><td>\d+/\d+</td>`)
	if !row.MatchString(dom) {
		t.Errorf("the web UI shows no Succeeded rollout of demo v3; its DOM:\n%s", dom)
	}
	for _, slo := range []string{"<td>demo-availability</td>", "<td>demo-latency</td>"} {
		if !strings.Contains(dom, slo) {
			t.Errorf("the web UI lacks the SLO row %s", slo)
		}
	}
	// The autoscaler's replicas are drawn against the load it read.
	if !regexp.MustCompile(`<svg class="chart" id="replicas-demo" [^>]*role="img" aria-label="demo: replicas against load \(calls_per_second\)[^"]*"`).MatchString(dom) ||
		!strings.Contains(dom, `data-name="calls_per_second"`) || !strings.Contains(dom, `data-name="current replicas"`) {
		t.Errorf("the web UI draws no replicas against load for the demo's autoscaler; its DOM:\n%s", dom)
	}
	// The rollout's page draws canary against stable latency: p90 from
	// /prometheus, and the latency judge's share of slow calls.
	dom = promtest.RenderDOM(t, base+"/#/rollout/demo", 5*time.Second)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<svg class="chart" id="latency-chart" [^>]*role="img" aria-label="Latency p90, canary against stable[^"]*"(.|\n)*?data-name="canary v3"`),
		regexp.MustCompile(`<svg class="chart" id="slow-chart" [^>]*role="img" aria-label="Calls slower than 100 ms, canary against stable[^"]*"(.|\n)*?data-name="canary"`),
	} {
		if !want.MatchString(dom) {
			t.Errorf("the rollout page lacks %s; its DOM:\n%s", want, dom)
		}
	}
}
