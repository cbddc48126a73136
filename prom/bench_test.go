package prom

import (
	"context"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/internal/promtest"
)

// BenchmarkQuery measures one instant query of an error ratio over 45
// minutes of history, through the embedded engine, the embedded engine's
// HTTP handler, and a real Prometheus server, on the same samples.
func BenchmarkQuery(b *testing.B) {
	end := time.Now().Add(-2 * time.Minute).Truncate(time.Minute)
	data := history(end)
	dir := b.TempDir()
	promtest.Backfill(b, dir, data)
	srv := promtest.Start(b, promtest.ServerConfig{DataDir: dir})
	hq, err := NewHTTPQuerier(HTTPConfig{URL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	emb, err := NewEmbedded(EmbeddedConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Close()
	appendSeries(b, emb, data)
	hs := newHandlerServer(b, emb)
	query := `sum by (version) (rate(http_requests_total{code="500"}[5m])) / sum by (version) (rate(http_requests_total[5m]))`
	for name, q := range map[string]analysis.Querier{"embedded": emb, "embedded-handler": hs, "prometheus": hq} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				v, err := q.Query(ctx, query, end)
				if err != nil || len(v.Samples) != 2 {
					b.Fatalf("%+v %v", v, err)
				}
			}
		})
	}
}
