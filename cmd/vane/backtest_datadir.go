package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/vaneproj/vane/analysis"
)

// dataDirQuerier answers range queries from a TSDB directory opened read
// only, such as the embedded Prometheus's data directory of vane run, so
// that a user of the embedded default can backtest its own history.
type dataDirQuerier struct {
	dir    string
	db     *tsdb.DBReadOnly
	engine *promql.Engine
}

func openDataDir(dir string, timeout time.Duration) (*dataDirQuerier, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--data-dir %s: not a directory", dir)
	}
	db, err := tsdb.OpenDBReadOnly(dir, "", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	eng := promql.NewEngine(promql.EngineOpts{
		Logger: slog.New(slog.DiscardHandler), MaxSamples: 50_000_000, Timeout: timeout,
		EnableAtModifier: true, EnableNegativeOffset: true, Parser: parser.NewParser(parser.Options{}),
	})
	return &dataDirQuerier{dir: dir, db: db, engine: eng}, nil
}

func (q *dataDirQuerier) Close() error { return q.db.Close() }

// QueryRange implements backtest.Querier.
func (q *dataDirQuerier) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	qa := storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) { return q.db.Querier(mint, maxt) })
	rq, err := q.engine.NewRangeQuery(ctx, qa, nil, query, start, end, step)
	if err != nil {
		return analysis.Matrix{}, fmt.Errorf("query %q on %s: bad_query: %w", query, q.dir, err)
	}
	defer rq.Close()
	res := rq.Exec(ctx)
	if res.Err != nil {
		return analysis.Matrix{}, fmt.Errorf("query %q on %s: %w", query, q.dir, res.Err)
	}
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return analysis.Matrix{}, fmt.Errorf("query %q on %s: returned a %s, want a matrix", query, q.dir, res.Value.Type())
	}
	out := analysis.Matrix{Series: make([]analysis.Series, 0, len(m))}
	for _, s := range m {
		pts := make([]analysis.Point, len(s.Floats))
		for i, p := range s.Floats {
			pts[i] = analysis.Point{T: time.UnixMilli(p.T).UTC(), V: p.F}
		}
		out.Series = append(out.Series, analysis.Series{Labels: s.Metric.Map(), Points: pts})
	}
	return out, nil
}
