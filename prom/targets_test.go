package prom

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/internal/promtest"
)

// TestDownTargetIsLoggedAndExplainsNoData scrapes a port nothing listens
// on: the target is logged as down at warn level with the scrape error, and
// an empty query result carries that as a warning.
func TestDownTargetIsLoggedAndExplainsNoData(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	logs := &promtest.SyncBuffer{}
	e, err := NewEmbedded(EmbeddedConfig{ScrapeInterval: 200 * time.Millisecond,
		Jobs: []ScrapeJob{{Name: "checkout", Targets: []string{addr}}}},
		WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	runEmbedded(t, e)
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "level=WARN msg=\"Scrape target down") || !strings.Contains(logs.String(), "connection refused") {
			return fmt.Errorf("no warning about the down target in the log:\n%s", logs.String())
		}
		return nil
	})
	v, err := e.Query(context.Background(), `demo_requests_total{job="checkout"}`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := "scrape target http://" + addr + "/metrics (job checkout) is down: "
	if len(v.Samples) != 0 || len(v.Warnings) != 1 || !strings.HasPrefix(v.Warnings[0], want) || !strings.Contains(v.Warnings[0], "connection refused") {
		t.Fatalf("query of a down target: %d samples, warnings %q; want one starting %q", len(v.Samples), v.Warnings, want)
	}
}

// TestIntegrationDownTargetOnPrometheus checks, on a real Prometheus
// server, that an empty result names the scrape target that is down.
func TestIntegrationDownTargetOnPrometheus(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := promtest.Start(t, promtest.ServerConfig{ScrapeInterval: 250 * time.Millisecond,
		Jobs: []promtest.Job{{Name: "checkout", Targets: []string{addr}}}})
	q, err := NewInstrumentedHTTP(HTTPConfig{URL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := "scrape target http://" + addr + "/metrics (job checkout) is down: "
	eventually(t, 20*time.Second, func() error {
		v, err := q.Query(context.Background(), `demo_requests_total{job="checkout"}`, time.Now())
		if err != nil {
			return err
		}
		if len(v.Samples) != 0 || len(v.Warnings) != 1 || !strings.HasPrefix(v.Warnings[0], want) || !strings.Contains(v.Warnings[0], "connection refused") {
			return fmt.Errorf("%d samples, warnings %q; want one starting %q", len(v.Samples), v.Warnings, want)
		}
		return nil
	})
}
