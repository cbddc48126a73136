package promstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/sim"
)

// Metric names of the simulated service.
const (
	RequestsMetric = "http_requests_total"
	LatencyMetric  = "http_request_duration_seconds"
)

// Store is a TSDB of one service's canary and stable series:
//
//	http_requests_total{service, version, code="200"|"500"}            counter
//	http_request_duration_seconds_bucket{service, version, le}, _count, _sum
//
// with the World's time zero at Start. The series start at zero at time
// zero (the application pre-initializes its counters, as Prometheus's
// instrumentation guidelines advise); a failed scrape (sim.Counters.Stale)
// leaves no sample. It implements analysis.Querier.
type Store struct {
	db                      *tsdb.DB
	engine                  *promql.Engine
	start                   time.Time
	service, canary, stable string
	bounds                  []float64
}

// Options name the service and its versions.
type Options struct {
	// Start is the World's time zero.
	Start time.Time
	// Service, Canary and Stable are the label values of service and
	// version.
	Service, Canary, Stable string
	// Buckets are the histogram's bounds; default sim.DefaultBuckets.
	Buckets []float64
}

// Open creates a store in dir (which the caller removes after Close).
func Open(dir string, o Options) (*Store, error) {
	if o.Buckets == nil {
		o.Buckets = sim.DefaultBuckets
	}
	opts := tsdb.DefaultOptions()
	opts.OutOfOrderTimeWindow = 0
	// A simulated run needs no durability: without a write-ahead log the
	// store does no disk writes while it is open.
	opts.WALSegmentSize = -1
	db, err := tsdb.Open(dir, nil, nil, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("promstore: open tsdb: %w", err)
	}
	s := &Store{db: db, start: o.Start, service: o.Service, canary: o.Canary, stable: o.Stable, bounds: o.Buckets,
		engine: promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute,
			Parser: parser.NewParser(parser.Options{})})}
	if err := s.append(0, sim.Counters{Buckets: make([]float64, len(o.Buckets))}, sim.Counters{Buckets: make([]float64, len(o.Buckets))}); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// WithService returns a Store over the same TSDB and engine whose series
// carry the service label name, starting at zero at time zero: one TSDB
// can hold many simulated runs, each under its own service. The TSDB's
// head accepts them while the runs span less than an hour.
func (s *Store) WithService(name string) (*Store, error) {
	c := *s
	c.service = name
	if err := c.append(0, sim.Counters{Buckets: make([]float64, len(s.bounds))}, sim.Counters{Buckets: make([]float64, len(s.bounds))}); err != nil {
		return nil, err
	}
	return &c, nil
}

// Close closes the TSDB.
func (s *Store) Close() error { return s.db.Close() }

// Append records a scrape; scrapes must come in time order.
func (s *Store) Append(sc sim.Scrape) error { return s.append(sc.T, sc.Canary, sc.Stable) }

func (s *Store) append(t time.Duration, canary, stable sim.Counters) error {
	app := s.db.Appender(context.Background())
	ts := s.start.Add(t).UnixMilli()
	for _, v := range []struct {
		name string
		c    sim.Counters
	}{{s.canary, canary}, {s.stable, stable}} {
		if v.c.Stale {
			continue
		}
		add := func(metric string, value float64, kv ...string) error {
			lb := labels.NewScratchBuilder(6)
			lb.Add("__name__", metric)
			lb.Add("service", s.service)
			lb.Add("version", v.name)
			for i := 0; i+1 < len(kv); i += 2 {
				lb.Add(kv[i], kv[i+1])
			}
			lb.Sort()
			_, err := app.Append(0, lb.Labels(), ts, value)
			return err
		}
		errs := []error{
			add(RequestsMetric, v.c.Requests-v.c.Errors, "code", "200"),
			add(RequestsMetric, v.c.Errors, "code", "500"),
			add(LatencyMetric+"_count", v.c.Observed),
			add(LatencyMetric+"_sum", v.c.LatencySum),
			add(LatencyMetric+"_bucket", v.c.Observed, "le", "+Inf"),
		}
		for j, b := range s.bounds {
			errs = append(errs, add(LatencyMetric+"_bucket", v.c.Buckets[j], "le", strconv.FormatFloat(b, 'g', -1, 64)))
		}
		if err := errors.Join(errs...); err != nil {
			_ = app.Rollback()
			return fmt.Errorf("promstore: append at %s: %w", t, err)
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("promstore: commit at %s: %w", t, err)
	}
	return nil
}

// Query implements analysis.Querier with Prometheus's engine.
func (s *Store) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	q, err := s.engine.NewInstantQuery(ctx, s.db, nil, query, at)
	if err != nil {
		return analysis.Vector{}, fmt.Errorf("promstore: %q: %w", query, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return analysis.Vector{}, fmt.Errorf("promstore: %q: %w", query, res.Err)
	}
	var out analysis.Vector
	switch v := res.Value.(type) {
	case promql.Vector:
		for _, smp := range v {
			out.Samples = append(out.Samples, analysis.Sample{Labels: smp.Metric.Map(), Value: smp.F})
		}
	case promql.Scalar:
		out.Samples = append(out.Samples, analysis.Sample{Labels: map[string]string{}, Value: v.V})
	default:
		return analysis.Vector{}, fmt.Errorf("promstore: %q: result of type %s, want a vector", query, res.Value.Type())
	}
	return out, nil
}

// QueryRange implements analysis.Querier with Prometheus's engine.
func (s *Store) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	q, err := s.engine.NewRangeQuery(ctx, s.db, nil, query, start, end, step)
	if err != nil {
		return analysis.Matrix{}, fmt.Errorf("promstore: %q: %w", query, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return analysis.Matrix{}, fmt.Errorf("promstore: %q: %w", query, res.Err)
	}
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return analysis.Matrix{}, fmt.Errorf("promstore: %q: result of type %s, want a matrix", query, res.Value.Type())
	}
	var out analysis.Matrix
	for _, sr := range m {
		x := analysis.Series{Labels: sr.Metric.Map()}
		for _, p := range sr.Floats {
			x.Points = append(x.Points, analysis.Point{T: time.UnixMilli(p.T).UTC(), V: p.F})
		}
		out.Series = append(out.Series, x)
	}
	return out, nil
}

// Scalar evaluates query at at and returns its single value: NaN when the
// result is empty (no series), an error when it has several.
func (s *Store) Scalar(ctx context.Context, query string, at time.Time) (float64, bool, error) {
	v, err := s.Query(ctx, query, at)
	switch {
	case err != nil:
		return math.NaN(), false, err
	case len(v.Samples) == 0:
		return math.NaN(), false, nil
	case len(v.Samples) > 1:
		return math.NaN(), false, fmt.Errorf("promstore: %q: %d series, want one", query, len(v.Samples))
	}
	return v.Samples[0].Value, true, nil
}
