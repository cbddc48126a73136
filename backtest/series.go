package backtest

import (
	"fmt"
	"math"
	"time"

	"github.com/vaneproj/vane/slo"
)

// Series is one SLO's SLI history at an even step: Errors[i] and Totals[i]
// are the per-second error and total rates averaged over a short range
// (the fetch's rate window) ending at Start + i×Step, as the SLI's own
// queries return them. NaN marks a step with no data. Raw-ratio SLIs have
// no totals: Totals is nil and Errors holds the error ratio.
type Series struct {
	Start  time.Time     `json:"start"`
	Step   time.Duration `json:"step"`
	Errors []float64     `json:"errors"`
	Totals []float64     `json:"totals,omitempty"`
	// Partial says the fetch missed part of the range (see Notes).
	Partial bool `json:"partial,omitempty"`
	// Notes explain gaps, counter resets and missing chunks.
	Notes []string `json:"notes,omitempty"`
}

// Len is the number of steps.
func (s *Series) Len() int { return len(s.Errors) }

// At is the time of step i.
func (s *Series) At(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// Index is the step at or before t (clamped to the series).
func (s *Series) Index(t time.Time) int {
	i := int(t.Sub(s.Start) / s.Step)
	return max(0, min(i, s.Len()-1))
}

// Validate checks the shape of s: a positive step, totals as long as
// errors (or nil for raw SLIs) and no negative rates.
func (s *Series) Validate() error {
	if s.Step <= 0 {
		return fmt.Errorf("backtest: series step %s is not positive", s.Step)
	}
	if s.Totals != nil && len(s.Totals) != len(s.Errors) {
		return fmt.Errorf("backtest: series has %d error and %d total samples", len(s.Errors), len(s.Totals))
	}
	for i, v := range s.Errors {
		if v < 0 {
			return fmt.Errorf("backtest: error rate %g at %s is negative", v, s.At(i).UTC().Format(time.RFC3339))
		}
	}
	for i, v := range s.Totals {
		if v < 0 {
			return fmt.Errorf("backtest: total rate %g at %s is negative", v, s.At(i).UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// windows holds prefix sums over a series so that the error ratio, event
// count and coverage of any trailing window are O(1).
type windows struct {
	step    time.Duration
	raw     bool
	errSum  []float64 // errSum[i] = Σ errors[0..i)
	totSum  []float64
	present []int // steps with data in [0, i)
	cache   map[time.Duration]*windowStats
}

// windowStats are a window's error ratio, events and coverage at each step.
type windowStats struct {
	ratio    []float64 // NaN: no traffic in the window
	events   []float64
	coverage []float64
}

func newWindows(s *Series) *windows {
	n := s.Len()
	w := &windows{step: s.Step, raw: s.Totals == nil, errSum: make([]float64, n+1), totSum: make([]float64, n+1),
		present: make([]int, n+1), cache: map[time.Duration]*windowStats{}}
	for i := 0; i < n; i++ {
		e := s.Errors[i]
		t := 1.0
		if !w.raw {
			t = s.Totals[i]
		}
		ok := !math.IsNaN(e) && !math.IsNaN(t)
		if !w.raw && math.IsNaN(e) && !math.IsNaN(t) {
			// No error series yet counts zero errors where there is traffic,
			// as the generated rules' `or 0 * total` does.
			e, ok = 0, true
		}
		w.errSum[i+1], w.totSum[i+1], w.present[i+1] = w.errSum[i], w.totSum[i], w.present[i]
		if ok {
			w.errSum[i+1] += e
			w.totSum[i+1] += t
			w.present[i+1]++
		}
	}
	return w
}

// steps is how many steps a window spans (at least one).
func (w *windows) steps(d time.Duration) int {
	return max(1, int((d+w.step/2)/w.step))
}

// stats returns (and caches) the per-step statistics of a trailing window
// as the generated rules compute them. A window up to
// slo.DefaultMaxRawWindow is a rate over the raw counters, which with the
// scrape interval equal to the step sees the window's steps less one; a
// longer window sums the recorded 5m base rates (each the mean of the 5m
// range's steps less one), one per step, as sum_over_time does.
func (w *windows) stats(d time.Duration) *windowStats {
	if st, ok := w.cache[d]; ok {
		return st
	}
	n := len(w.errSum) - 1
	k := w.steps(d)
	st := &windowStats{ratio: make([]float64, n), events: make([]float64, n), coverage: make([]float64, n)}
	sec := w.step.Seconds()
	errS, totS, pres := w.errSum, w.totSum, w.present
	span := max(1, k-1)
	if d > slo.DefaultMaxRawWindow && !w.raw {
		errS, totS, pres = w.base()
		span = k
	}
	for i := 0; i < n; i++ {
		lo := max(0, i+1-span)
		e := errS[i+1] - errS[lo]
		t := totS[i+1] - totS[lo]
		p := pres[i+1] - pres[lo]
		cl := max(0, i+1-k)
		st.coverage[i] = float64(w.present[i+1]-w.present[cl]) / float64(k)
		if w.raw {
			st.events[i] = math.NaN()
			if p > 0 {
				st.ratio[i] = e / float64(p)
			} else {
				st.ratio[i] = math.NaN()
			}
			continue
		}
		st.events[i] = t * sec * float64(k) / float64(span)
		if t > 0 {
			st.ratio[i] = e / t
		} else {
			st.ratio[i] = math.NaN()
		}
	}
	w.cache[d] = st
	return st
}

// base returns prefix sums of the 5m base rates, the mean of the 5m
// range's steps less one at each step.
func (w *windows) base() (errS, totS []float64, pres []int) {
	n := len(w.errSum) - 1
	b := max(1, w.steps(5*time.Minute)-1)
	errS, totS, pres = make([]float64, n+1), make([]float64, n+1), make([]int, n+1)
	for i := 0; i < n; i++ {
		lo := max(0, i+1-b)
		p := w.present[i+1] - w.present[lo]
		errS[i+1], totS[i+1], pres[i+1] = errS[i], totS[i], pres[i]
		if p > 0 {
			errS[i+1] += (w.errSum[i+1] - w.errSum[lo]) / float64(p)
			totS[i+1] += (w.totSum[i+1] - w.totSum[lo]) / float64(p)
			pres[i+1]++
		}
	}
	return errS, totS, pres
}
