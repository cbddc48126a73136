package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/rollout"
)

// TestRunBudgetGateAndLookInterval runs `vane run` against a real
// Prometheus server with two gated services. checkout has never had an
// error and its SLO's error query is Sloth-style (no `or vector(0)`): its
// budget is full, not unknown; its plan's timed pause ends and the rollout
// is promoted; its judge, without an interval of its own, looks at
// analysis.interval; `rollout status` shows that interval. cart's budget is
// spent: `vane rollout start` says it is frozen and why, and the block is
// recorded once although the live percentage changes on every look.
func TestRunBudgetGateAndLookInterval(t *testing.T) {
	bin, dir := e2eVane(t)
	apps := map[string]*sampleapp.Instance{}
	for _, v := range []string{"v1", "v2"} {
		apps[v] = startApp(t, sampleapp.Config{Version: v, ErrorCode: codes.Unavailable})
	}
	// cart's judge is verified on live series before its budget gate
	// freezes it: the same apps are scraped as cart too.
	promSrv := startServicesProm(t, []string{"checkout", "cart"}, apps["v1"], apps["v2"])

	slos := `version: "vane/v1"
service: "checkout"
slos:
  - name: "availability"
    objective: 99.9
    window: 30d
    sli:
      events:
        error_query: sum(rate(demo_requests_total{service="checkout",code=~"Internal|Unknown"}[{{.window}}]))
        total_query: sum(rate(demo_requests_total{service="checkout"}[{{.window}}]))
    alerting: {name: CheckoutAvailability}
  - name: "spent"
    objective: 99.9
    window: 30d
    sli:
      events:
        error_query: sum(rate(demo_requests_total{service="checkout"}[{{.window}}]))
        total_query: sum(rate(demo_requests_total{service="checkout"}[{{.window}}])) * 1.5
    alerting: {name: CheckoutSpent}
`
	writeFile(t, filepath.Join(dir, "slos.yaml"), slos, 0o644)
	xdsAddr, httpAddr := freeAddr(t), freeAddr(t)
	cfgFile := filepath.Join(dir, "vane.yaml")
	plan := func(slo string) string {
		return fmt.Sprintf(`    rollout:
      steps:
        - weight: 20
        - pause: {duration: 3s}
        - weight: 50
        - analysis: {duration: 5s}
      budget_gate: {slo: %s, floor: 0.5}
      analysis:
        interval: 1s
        judges:
          - name: errors
            kind: sequential
            requests_metric: demo_requests_total
            bad_codes: "Unavailable|Internal|Unknown"
`, slo)
	}
	cfg := fmt.Sprintf(`prometheus:
  url: %s
xds:
  listen: %s
http:
  listen: %s
store:
  path: state/vane.db
slos: [slos.yaml]
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
%s  - name: cart
    stable: {version: v1, endpoints: [%q]}
%s`, promSrv.URL, xdsAddr, httpAddr, apps["v1"].Addr(), plan("checkout-availability"), apps["v1"].Addr(), plan("checkout-spent"))
	writeFile(t, cfgFile, cfg, 0o644)
	p, a := startVaneReady(t, bin, cfgFile, httpAddr)

	type sloList struct {
		SLOs []struct {
			ID              string   `json:"id"`
			BudgetRemaining *float64 `json:"budget_remaining"`
			Error           string   `json:"error"`
		} `json:"slos"`
	}
	budgetOf := func(id string) (*float64, string) {
		var l sloList
		if code := a.call("GET", "/api/v1/slos", "", nil, &l); code != 200 {
			t.Fatalf("GET /api/v1/slos: HTTP %d", code)
		}
		for _, s := range l.SLOs {
			if s.ID == id {
				b, _ := json.Marshal(s)
				return s.BudgetRemaining, string(b)
			}
		}
		t.Fatalf("no SLO %s", id)
		return nil, ""
	}
	// The error series (code Internal or Unknown) does not exist; the
	// total is readable once Prometheus holds two samples of it.
	var budget string
	waitUntil(t, "checkout's SLO budget is full", 15*time.Second, p, func() bool {
		var b *float64
		b, budget = budgetOf("checkout-availability")
		return b != nil && *b == 1
	})
	t.Logf("a service that never had an error: %s", budget)

	startLoad(t, xdsAddr, "gate-client", "v1", p)

	// Prometheus must hold the traffic before the gate can see it spent.
	waitUntil(t, "checkout-spent's budget is below the floor", 15*time.Second, p, func() bool {
		b, _ := budgetOf("checkout-spent")
		return b != nil && *b < 0.5
	})
	startCLI := func(svc string) string {
		out, err := exec.Command(bin, "rollout", "start", svc, "--version", "v2", "--endpoints", apps["v2"].Addr(),
			"--server", a.base).CombinedOutput()
		if err != nil {
			t.Fatalf("vane rollout start %s: %v\n%s", svc, err, out)
		}
		return string(out)
	}
	out := startCLI("cart")
	if !strings.Contains(out, "frozen in Pending") || !strings.Contains(out, "deploy freeze") {
		st, evs, _ := a.state("cart")
		var sl any
		a.call("GET", "/api/v1/slos", "", nil, &sl)
		t.Fatalf("vane rollout start of a frozen rollout said:\n%s\nstate %s blocked %q: %s\nevents %+v\nslos %+v", out, st.Phase, st.Blocked, st.Reason, evs, sl)
	}
	t.Logf("$ vane rollout start cart …\n%s", out)
	if out := startCLI("checkout"); !strings.Contains(out, "rollout checkout started") {
		t.Fatalf("vane rollout start checkout said:\n%s", out)
	}
	a.waitRollout("checkout promoted", "checkout", 60*time.Second, p, phaseIs(rollout.Succeeded))
	st, events, _ := a.state("checkout")
	var pauseAt, afterPause time.Time
	for _, e := range events {
		t.Logf("  checkout %s %-10s %s", e.At.Format("15:04:05.000"), e.Type, e.Reason)
		switch {
		case e.Type == rollout.EvPaused && pauseAt.IsZero():
			pauseAt = e.At
		case e.Type == rollout.EvStep && !pauseAt.IsZero() && afterPause.IsZero():
			afterPause = e.At
		}
	}
	if pauseAt.IsZero() || afterPause.IsZero() {
		t.Fatalf("no pause and next step among the events: %s", st.Reason)
	}
	t.Logf("the 3s pause lasted %s", afterPause.Sub(pauseAt).Round(time.Millisecond))
	if d := afterPause.Sub(pauseAt); d < 3*time.Second || d > 3500*time.Millisecond {
		t.Fatalf("a 3s pause lasted %s", d)
	}
	if len(st.Plan.Analysis.Judges) != 1 || time.Duration(st.Plan.Analysis.Judges[0].Common().Interval) != time.Second {
		t.Fatalf("the API shows the judges %+v, want errors every 1s", st.Plan.Analysis.Judges)
	}
	looks := strings.Count(p.out.String(), `msg="Judge looked" component=rollout rollout=checkout judge=errors cached=false`)
	t.Logf("checkout's judge looked %d times (not reusing its last result) in %s", looks, st.Finished.Sub(st.Created).Round(time.Second))
	if looks < 6 {
		t.Fatalf("the judge looked %d times at interval 1s", looks)
	}
	out2, err := exec.Command(bin, "rollout", "status", "checkout", "--server", a.base).CombinedOutput()
	out = string(out2)
	if err != nil || !strings.Contains(out, "Looks:    every 1s (errors every 1s)") {
		t.Fatalf("vane rollout status: %v\n%s", err, out)
	}

	cart, cartEvents, _ := a.state("cart")
	blocked := 0
	for _, e := range cartEvents {
		if e.Type == rollout.EvBlocked {
			blocked++
		}
	}
	if cart.Phase != rollout.Pending || blocked != 1 {
		t.Fatalf("frozen cart: %s with %d blocked events: %s", cart.Phase, blocked, cart.Reason)
	}
	t.Logf("cart, frozen for %s: 1 blocked event; reason now: %s", time.Since(cartEvents[0].At).Round(time.Second), cart.Reason)
}
