package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vaneproj/vane/analysis"
)

// Store holds a World's scrapes as the series a Prometheus server would
// have stored and answers instant queries on them, so that analysis Checks
// can run on simulated data exactly as they run live. The series are
//
//	<requests>{service, version, code="200"|"500"}           counter
//	<latency>_bucket{service, version, le}, _count, _sum     histogram
//
// It evaluates the subset of PromQL that Vane's generated queries use:
// vector selectors, sum and sum by (…), rate and increase over a range
// (the difference between the scrapes at the range's ends, without
// Prometheus' extrapolation; every counter is zero at the World's time
// zero), number literals and + − × ÷ between scalars.
// Anything else is an error. A query before the first scrape, or that
// selects no series, returns an empty vector, as Prometheus does. Store is
// safe for concurrent reads only while nothing is appended.
type Store struct {
	start            time.Time
	service          string
	canary, stable   string
	requests, latHis string
	bounds           []float64
	scrapes          []Scrape
	parser           parser.Parser
}

// NewStore returns an empty store for a service whose canary and stable
// versions are named canary and stable, with the World's time zero at
// start. The metric names are http_requests_total and
// http_request_duration_seconds.
func NewStore(start time.Time, service, canary, stable string, buckets []float64) *Store {
	if buckets == nil {
		buckets = DefaultBuckets
	}
	return &Store{start: start, service: service, canary: canary, stable: stable,
		requests: "http_requests_total", latHis: "http_request_duration_seconds", bounds: buckets,
		parser: parser.NewParser(parser.Options{})}
}

// Append records a scrape; scrapes must come in time order.
func (s *Store) Append(sc Scrape) { s.scrapes = append(s.scrapes, sc) }

// series is one labelled value at an instant.
type series struct {
	labels map[string]string
	value  float64
}

// at returns every series' value as of the last scrape at or before t.
func (s *Store) at(t time.Time) ([]series, bool) {
	i := sort.Search(len(s.scrapes), func(i int) bool { return s.start.Add(s.scrapes[i].T).After(t) }) - 1
	if i < 0 {
		return nil, false
	}
	sc := s.scrapes[i]
	var out []series
	for _, v := range []struct {
		name string
		c    Counters
	}{{s.canary, sc.Canary}, {s.stable, sc.Stable}} {
		base := map[string]string{"service": s.service, "version": v.name}
		with := func(name string, kv ...string) map[string]string {
			m := map[string]string{"__name__": name}
			for k, x := range base {
				m[k] = x
			}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		out = append(out,
			series{with(s.requests, "code", "200"), v.c.Requests - v.c.Errors},
			series{with(s.requests, "code", "500"), v.c.Errors},
			series{with(s.latHis + "_count"), v.c.Requests},
			series{with(s.latHis + "_sum"), v.c.LatencySum},
			series{with(s.latHis+"_bucket", "le", "+Inf"), v.c.Requests})
		for j, b := range s.bounds {
			out = append(out, series{with(s.latHis+"_bucket", "le", strconv.FormatFloat(b, 'g', -1, 64)), v.c.Buckets[j]})
		}
	}
	return out, true
}

// Query implements analysis.Querier.
func (s *Store) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	if err := ctx.Err(); err != nil {
		return analysis.Vector{}, err
	}
	expr, err := s.parser.ParseExpr(query)
	if err != nil {
		return analysis.Vector{}, fmt.Errorf("sim: parse %q: %w", query, err)
	}
	v, err := s.eval(expr, at)
	if err != nil {
		return analysis.Vector{}, fmt.Errorf("sim: %q: %w", query, err)
	}
	var out analysis.Vector
	for _, x := range v {
		out.Samples = append(out.Samples, analysis.Sample{Labels: x.labels, Value: x.value})
	}
	return out, nil
}

// QueryRange implements analysis.Querier by evaluating the query at every
// step; each distinct label set becomes a series.
func (s *Store) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	if step <= 0 {
		return analysis.Matrix{}, errors.New("sim: step must be positive")
	}
	var m analysis.Matrix
	idx := map[string]int{}
	for t := start; !t.After(end); t = t.Add(step) {
		v, err := s.Query(ctx, query, t)
		if err != nil {
			return analysis.Matrix{}, err
		}
		for _, x := range v.Samples {
			k := fmt.Sprint(x.Labels)
			i, ok := idx[k]
			if !ok {
				i = len(m.Series)
				idx[k] = i
				m.Series = append(m.Series, analysis.Series{Labels: x.Labels})
			}
			m.Series[i].Points = append(m.Series[i].Points, analysis.Point{T: t, V: x.Value})
		}
	}
	return m, nil
}

func (s *Store) eval(e parser.Expr, t time.Time) ([]series, error) {
	switch e := e.(type) {
	case *parser.ParenExpr:
		return s.eval(e.Expr, t)
	case *parser.NumberLiteral:
		return []series{{labels: map[string]string{}, value: e.Val}}, nil
	case *parser.VectorSelector:
		return s.selectAt(e, t)
	case *parser.Call:
		if e.Func.Name == "vector" && len(e.Args) == 1 {
			in, err := s.eval(e.Args[0], t)
			if err != nil || len(in) != 1 {
				return nil, fmt.Errorf("vector() needs a scalar: %v", err)
			}
			return []series{{labels: map[string]string{}, value: in[0].value}}, nil
		}
		if (e.Func.Name != "rate" && e.Func.Name != "increase") || len(e.Args) != 1 {
			return nil, fmt.Errorf("unsupported function %s", e.Func.Name)
		}
		ms, ok := e.Args[0].(*parser.MatrixSelector)
		if !ok {
			return nil, errors.New("rate/increase needs a range selector")
		}
		vs := ms.VectorSelector.(*parser.VectorSelector)
		now, err := s.selectAt(vs, t)
		if err != nil {
			return nil, err
		}
		then, err := s.selectAt(vs, t.Add(-ms.Range))
		if err != nil {
			return nil, err
		}
		prev := map[string]float64{}
		for _, x := range then {
			prev[fmt.Sprint(x.labels)] = x.value
		}
		var out []series
		for _, x := range now {
			d := x.value - prev[fmt.Sprint(x.labels)]
			if e.Func.Name == "rate" {
				d /= ms.Range.Seconds()
			}
			l := copyLabels(x.labels)
			delete(l, "__name__")
			out = append(out, series{labels: l, value: d})
		}
		return out, nil
	case *parser.AggregateExpr:
		if e.Op != parser.SUM || e.Without {
			return nil, fmt.Errorf("unsupported aggregation %s", e.Op)
		}
		in, err := s.eval(e.Expr, t)
		if err != nil {
			return nil, err
		}
		groups := map[string]*series{}
		var order []string
		for _, x := range in {
			l := map[string]string{}
			for _, g := range e.Grouping {
				if v, ok := x.labels[g]; ok {
					l[g] = v
				}
			}
			k := fmt.Sprint(l)
			if groups[k] == nil {
				groups[k] = &series{labels: l}
				order = append(order, k)
			}
			groups[k].value += x.value
		}
		out := make([]series, 0, len(order))
		for _, k := range order {
			out = append(out, *groups[k])
		}
		return out, nil
	case *parser.BinaryExpr:
		l, err := s.eval(e.LHS, t)
		if err != nil {
			return nil, err
		}
		r, err := s.eval(e.RHS, t)
		if err != nil {
			return nil, err
		}
		if e.Op == parser.LOR {
			// "a or b": a where it has samples, b otherwise (single-sample
			// operands without labels, as Vane's generated queries use).
			if len(l) > 0 {
				return l, nil
			}
			return r, nil
		}
		if len(l) == 0 || len(r) == 0 {
			return nil, nil
		}
		if len(l) != 1 || len(r) != 1 {
			return nil, errors.New("binary operations are supported on single-sample operands only")
		}
		a, b := l[0].value, r[0].value
		var v float64
		switch e.Op {
		case parser.ADD:
			v = a + b
		case parser.SUB:
			v = a - b
		case parser.MUL:
			v = a * b
		case parser.DIV:
			v = a / b // 0/0 is NaN, as in PromQL
			if b == 0 && a == 0 {
				v = math.NaN()
			}
		default:
			return nil, fmt.Errorf("unsupported operator %s", e.Op)
		}
		return []series{{labels: map[string]string{}, value: v}}, nil
	}
	return nil, fmt.Errorf("unsupported expression %T", e)
}

func (s *Store) selectAt(vs *parser.VectorSelector, t time.Time) ([]series, error) {
	all, ok := s.at(t)
	if !ok {
		return nil, nil
	}
	var out []series
next:
	for _, x := range all {
		for _, m := range vs.LabelMatchers {
			if !matches(m, x.labels[m.Name]) {
				continue next
			}
		}
		out = append(out, series{labels: copyLabels(x.labels), value: x.value})
	}
	return out, nil
}

func matches(m *labels.Matcher, v string) bool { return m.Matches(v) }

func copyLabels(l map[string]string) map[string]string {
	c := make(map[string]string, len(l))
	for k, v := range l {
		c[k] = v
	}
	return c
}
