package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/promtest"
)

// TestRunRestartShortOutageDoesNotPage restarts `vane run` with the
// embedded Prometheus (a fresh TSDB on every start), serves healthy
// traffic, then fails every request for 5 s: with the coverage guard in
// the generated rules nothing reaches Alertmanager (with the guard at 0,
// the same run sends a ticket within seconds: windows holding a few
// seconds of data read as full; TestCoverageGuardRules in slo shows both
// rule sets in promtool).
func TestRunRestartShortOutageDoesNotPage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of vane run; run without -short")
	}
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{})
	exp := promtest.NewExporter(t, "checkout")
	var failing atomic.Bool
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if failing.Load() {
					exp.Record("v1", 0, 100)
				} else {
					exp.Record("v1", 100, 0)
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()

	dir := t.TempDir()
	slos := `version: "vane/v1"
service: "checkout"
slos:
  - name: "availability"
    objective: 99.9
    window: 30d
    sli:
      events:
        error_query: sum(rate(http_requests_total{service="checkout",code="500"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
    alerting: {name: CheckoutAvailability}
`
	if err := os.WriteFile(filepath.Join(dir, "slos.yaml"), []byte(slos), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() (stopVane func(), logs *promtest.SyncBuffer) {
		cfgFile := filepath.Join(dir, "vane.yaml")
		cfg, err := config.Parse(cfgFile, []byte(fmt.Sprintf(`scrape:
  interval: 1s
  jobs:
    - name: checkout
      targets: [%q]
slos: [slos.yaml]
xds:
  listen: %s
http:
  listen: %s
store:
  path: vane.db
alertmanager:
  url: %s
`, exp.Addr(), freeAddr(t), freeAddr(t), am.URL)), nil)
		if err != nil {
			t.Fatal(err)
		}
		logs = &promtest.SyncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- runController(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil))) }()
		return func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("runController: %v", err)
			}
		}, logs
	}
	stopFirst, _ := start()
	time.Sleep(5 * time.Second)
	stopFirst()
	stopVane, logs := start()
	defer stopVane()
	time.Sleep(8 * time.Second)
	failing.Store(true)
	time.Sleep(5 * time.Second)
	failing.Store(false)
	// Without the guard (embeddedMinCoverage 0) the ticket and page alerts
	// reach Alertmanager within seconds of the outage (1d/2h at 24.6x).
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		alerts, err := am.Alerts(context.Background())
		if err == nil && len(alerts) > 0 {
			t.Fatalf("a 5 s outage after a restart paged: %v\nvane log:\n%s", alerts, logs.String())
		}
		time.Sleep(time.Second)
	}
	if strings.Contains(logs.String(), "Alert firing") {
		t.Errorf("an alert fired:\n%s", logs.String())
	}
}
