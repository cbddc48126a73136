package backtest

import (
	"math"
	"math/rand/v2"
	"time"
)

// Counters is an SLI's request and error counters scraped at an even
// interval, as a Prometheus would store them.
type Counters struct {
	Start    time.Time
	Interval time.Duration
	Requests []float64
	Errors   []float64
}

// SynthIncident is an incident Synth injected: Ratio of requests failed
// from Start to End.
type SynthIncident struct {
	Incident
	Ratio float64
}

// SynthOptions shapes a synthetic history.
type SynthOptions struct {
	Start    time.Time
	Days     int
	Interval time.Duration // scrape interval, default 1m
	Seed     uint64
	// PerMinute is the mean request rate (default 1000/min); traffic
	// follows a daily cycle of ±50% with ±10% noise.
	PerMinute float64
	// BaseRatio is the healthy error ratio (default 0.0003).
	BaseRatio float64
}

// synthShapes are the incidents of a synthetic month, as (day, length,
// error ratio); Synth moves each by a seeded offset within its day. They
// cover the tiers of a 99.9% SLO: a full outage, fast, medium and slow
// burns, and a short blip.
var synthShapes = []struct {
	day    float64
	length time.Duration
	ratio  float64
}{
	{2, 20 * time.Minute, 1},
	{6, 2 * time.Hour, 0.05},
	{10, 6 * time.Hour, 0.015},
	{14, 12 * time.Hour, 0.005},
	{19, 48 * time.Hour, 0.002},
	{24, 3 * time.Minute, 1},
	{27, 90 * time.Minute, 0.03},
}

// Synth generates a seeded synthetic history with known incidents: the
// same options give the same counters.
func Synth(o SynthOptions) (*Counters, []SynthIncident) {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Days <= 0 {
		o.Days = 30
	}
	if o.PerMinute <= 0 {
		o.PerMinute = 1000
	}
	if o.BaseRatio <= 0 {
		o.BaseRatio = 0.0003
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	n := int(time.Duration(o.Days) * 24 * time.Hour / o.Interval)
	var incs []SynthIncident
	for _, sh := range synthShapes {
		if sh.day >= float64(o.Days) {
			continue
		}
		off := time.Duration(rng.Float64() * float64(12*time.Hour)).Truncate(o.Interval)
		st := o.Start.Add(time.Duration(sh.day*float64(24*time.Hour)) + off)
		incs = append(incs, SynthIncident{Incident: Incident{Start: st, End: st.Add(sh.length)}, Ratio: sh.ratio})
	}
	c := &Counters{Start: o.Start, Interval: o.Interval, Requests: make([]float64, n+1), Errors: make([]float64, n+1)}
	perStep := o.PerMinute * o.Interval.Minutes()
	for i := 1; i <= n; i++ {
		t := o.Start.Add(time.Duration(i) * o.Interval)
		day := 2 * math.Pi * float64(t.Sub(o.Start)) / float64(24*time.Hour)
		req := math.Round(perStep * (1 + 0.5*math.Sin(day)) * (0.9 + 0.2*rng.Float64()))
		ratio := o.BaseRatio * (0.5 + rng.Float64())
		for _, in := range incs {
			// The step (t−interval, t] lies in the incident.
			if t.After(in.Start) && !t.After(in.End) {
				ratio = in.Ratio
			}
		}
		errs := math.Min(req, math.Round(req*ratio))
		c.Requests[i] = c.Requests[i-1] + req
		c.Errors[i] = c.Errors[i-1] + errs
	}
	return c, incs
}

// SeriesFromCounters turns counters into a Series at the counters'
// interval, each step holding the per-second rates over the interval
// ending there: what the SLI's rate queries return over a range of two
// scrape intervals.
func SeriesFromCounters(c *Counters) *Series {
	n := len(c.Requests)
	s := &Series{Start: c.Start, Step: c.Interval, Errors: make([]float64, n), Totals: make([]float64, n)}
	sec := c.Interval.Seconds()
	s.Errors[0], s.Totals[0] = math.NaN(), math.NaN()
	for i := 1; i < n; i++ {
		s.Errors[i] = (c.Errors[i] - c.Errors[i-1]) / sec
		s.Totals[i] = (c.Requests[i] - c.Requests[i-1]) / sec
	}
	return s
}
