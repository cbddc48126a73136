package prom

import (
	"context"
	"time"

	"github.com/vaneproj/vane/analysis"
)

// Instrument wraps q so that every query is timed and its failures counted
// in m under the querier label name ("http", "embedded"). A nil m returns q
// unchanged. The error and warning counters of name start at 0 for every
// ErrorKind, so that a dashboard sees "no errors" rather than no series.
func Instrument(q analysis.Querier, m *Metrics, name string) analysis.Querier {
	if m == nil {
		return q
	}
	for _, k := range errorKinds() {
		m.QueryErrors.WithLabelValues(name, string(k))
	}
	m.QueryWarnings.WithLabelValues(name)
	return &instrumented{next: q, m: m, name: name}
}

type instrumented struct {
	next analysis.Querier
	m    *Metrics
	name string
}

func (i *instrumented) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	start := time.Now()
	v, err := i.next.Query(ctx, query, at)
	i.observe("instant", start, len(v.Warnings), err)
	return v, err
}

func (i *instrumented) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	began := time.Now()
	m, err := i.next.QueryRange(ctx, query, start, end, step)
	i.observe("range", began, len(m.Warnings), err)
	return m, err
}

func (i *instrumented) observe(typ string, start time.Time, warnings int, err error) {
	outcome := "success"
	if err != nil {
		outcome = "error"
		kind := KindOf(err)
		if kind == "" {
			kind = "unknown"
		}
		i.m.QueryErrors.WithLabelValues(i.name, string(kind)).Inc()
	}
	if warnings > 0 {
		i.m.QueryWarnings.WithLabelValues(i.name).Inc()
	}
	i.m.QueryDuration.WithLabelValues(i.name, typ, outcome).Observe(time.Since(start).Seconds())
}
