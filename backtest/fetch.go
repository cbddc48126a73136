package backtest

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/slo"
)

// Querier runs range queries against a Prometheus-compatible API
// (prom.HTTPQuerier and the embedded Prometheus satisfy it).
type Querier interface {
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error)
}

// FetchOptions says what history to read.
type FetchOptions struct {
	From, To time.Time
	// Step is the resolution (default 1m).
	Step time.Duration
	// RateWindow is the range the SLI's queries get (default 2 × Step: at
	// least two scrapes when the scrape interval equals the step).
	RateWindow time.Duration
	// ChunkPoints bounds the points per query (default 10,000; Prometheus
	// refuses more than 11,000 per series).
	ChunkPoints int
	// Progress is called after each chunk with the chunks done and total.
	Progress func(done, total int)
	// Transient says whether a failed query may succeed later (a timeout,
	// a 5xx, a network error); such a failure leaves a gap, others end the
	// fetch. Nil treats every failure as ending it.
	Transient func(error) bool
}

func (o FetchOptions) withDefaults() (FetchOptions, error) {
	if o.Step <= 0 {
		o.Step = time.Minute
	}
	if o.RateWindow <= 0 {
		o.RateWindow = 2 * o.Step
	}
	if o.ChunkPoints <= 0 {
		o.ChunkPoints = 10_000
	}
	if !o.To.After(o.From) {
		return o, fmt.Errorf("backtest: --to %s is not after --from %s", o.To.UTC().Format(time.RFC3339), o.From.UTC().Format(time.RFC3339))
	}
	return o, nil
}

// Chunks is how many queries Fetch sends for one SLO.
func (o FetchOptions) Chunks(s *slo.SLO) int {
	o, err := o.withDefaults()
	if err != nil {
		return 0
	}
	steps := int(o.To.Sub(o.From)/o.Step) + 1
	per := (steps + o.ChunkPoints - 1) / o.ChunkPoints
	if s.SLI.Kind == slo.SLIRaw {
		return per
	}
	return 2 * per
}

// Fetch reads the SLI of s over [From, To] at Step with the SLI's own
// queries, chunk by chunk. A chunk that fails after the querier's retries
// leaves its steps empty and marks the series partial with a note naming
// the range and the error; Fetch fails when no chunk returns data, or on a
// query Prometheus refuses (naming the SLO's source and the query).
func Fetch(ctx context.Context, q Querier, s *slo.SLO, o FetchOptions) (*Series, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	steps := int(o.To.Sub(o.From)/o.Step) + 1
	ser := &Series{Start: o.From, Step: o.Step, Errors: nanSlice(steps)}
	errQ, totQ := s.SLI.Queries(o.RateWindow)
	if s.SLI.Kind != slo.SLIRaw {
		ser.Totals = nanSlice(steps)
	}
	total := o.Chunks(s)
	done := 0
	got := 0
	var firstErr error
	for _, part := range []struct {
		query string
		dst   []float64
	}{{errQ, ser.Errors}, {totQ, ser.Totals}} {
		if part.dst == nil {
			continue
		}
		for c := 0; c < steps; c += o.ChunkPoints {
			from := o.From.Add(time.Duration(c) * o.Step)
			to := o.From.Add(time.Duration(min(steps, c+o.ChunkPoints)-1) * o.Step)
			m, err := q.QueryRange(ctx, part.query, from, to, o.Step)
			done++
			if o.Progress != nil {
				o.Progress(done, total)
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if o.Transient == nil || !o.Transient(err) {
					return nil, fmt.Errorf("backtest: SLO %s (%s): query %q: %w", s.ID(), s.Source, part.query, err)
				}
				if firstErr == nil {
					firstErr = err
				}
				ser.Partial = true
				ser.Notes = append(ser.Notes, fmt.Sprintf("%s–%s: no data: %v", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err))
				continue
			}
			for _, sr := range m.Series {
				for _, p := range sr.Points {
					i := int(p.T.Sub(o.From) / o.Step)
					if i < 0 || i >= steps || math.IsNaN(p.V) || math.IsInf(p.V, 0) {
						continue
					}
					got++
					if math.IsNaN(part.dst[i]) {
						part.dst[i] = p.V
					} else {
						part.dst[i] += p.V // several series: sum them
					}
				}
			}
		}
	}
	if got == 0 && firstErr != nil {
		return nil, fmt.Errorf("backtest: SLO %s (%s): every query failed: %w", s.ID(), s.Source, firstErr)
	}
	if got == 0 {
		return nil, fmt.Errorf("backtest: SLO %s (%s): no data between %s and %s (queries %q, %q)", s.ID(), s.Source,
			o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339), errQ, totQ)
	}
	ser.noteGaps()
	return ser, nil
}

// noteGaps marks the series partial where steps have no data, naming the
// longest gap.
func (s *Series) noteGaps() {
	vals := s.Totals
	if vals == nil {
		vals = s.Errors
	}
	missing, run, longest, longestAt := 0, 0, 0, 0
	for i, v := range vals {
		if math.IsNaN(v) {
			missing++
			run++
			if run > longest {
				longest, longestAt = run, i-run+1
			}
		} else {
			run = 0
		}
	}
	if missing > 0 {
		s.Partial = true
		s.Notes = append(s.Notes, fmt.Sprintf("%d of %d steps have no data (%.1f%%); longest gap %s from %s", missing, len(vals),
			100*float64(missing)/float64(len(vals)), slo.FormatDuration(time.Duration(longest)*s.Step), s.At(longestAt).UTC().Format(time.RFC3339)))
	}
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}
