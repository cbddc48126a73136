// Package promtest runs the real Prometheus server and Alertmanager for
// tests: Start writes a prometheus.yml with static scrape jobs, starts the
// pinned `prometheus` binary on a free loopback port with a temporary data directory, waits
// until it is ready and stops it when the test ends. Exporter is a small
// scrape target whose per-version request counters and latency histogram
// the test sets; Backfill writes history into a data directory with
// promtool. StartAlertmanager runs a real Alertmanager the same way (free
// loopback port, clustering off, temporary storage, a generated
// configuration with one receiver) and lists its alerts.
//
// The binaries come from scripts/install-test-tools.sh (`make test-tools`)
// and are found through $VANE_TOOLS_DIR, PATH or <repo>/.tools/bin; a test
// that cannot find one fails with a message saying so.
//
// Only tests import this package. It must not import prom, rollout or
// anything above them, so that their tests can use it.
//
// Usage:
//
//	exp := promtest.NewExporter(t, "checkout")
//	srv := promtest.Start(t, promtest.ServerConfig{
//		Jobs: []promtest.Job{{Name: "checkout", Targets: []string{exp.Addr()}}},
//	})
//	exp.Record("v2", 95, 5) // 95 good, 5 failed requests of v2
//	q, _ := prom.NewHTTPQuerier(prom.HTTPConfig{URL: srv.URL})
package promtest
