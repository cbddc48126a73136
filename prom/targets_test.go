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
