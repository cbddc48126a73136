package autoscale

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Point is one knot of a load trace: from T on, the offered load moves
// linearly towards the next knot's RPS.
type Point struct {
	T   time.Duration
	RPS float64
}

// Trace is an offered load over time: requests per second, linear between
// knots, held after the last knot until End.
type Trace struct {
	Name   string
	Points []Point
	// End is the trace's length; zero means the last knot's time.
	End time.Duration
}

// Duration is the simulated length of the trace.
func (t Trace) Duration() time.Duration {
	if t.End > 0 {
		return t.End
	}
	if len(t.Points) == 0 {
		return 0
	}
	return t.Points[len(t.Points)-1].T
}

// Rate is the offered load at time at (linear interpolation between knots;
// the first knot's load before it, the last one's after it).
func (t Trace) Rate(at time.Duration) float64 {
	p := t.Points
	if len(p) == 0 {
		return 0
	}
	if at <= p[0].T {
		return p[0].RPS
	}
	// Binary search for the segment holding at.
	lo, hi := 0, len(p)-1
	if at >= p[hi].T {
		return p[hi].RPS
	}
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if p[m].T <= at {
			lo = m
		} else {
			hi = m
		}
	}
	a, b := p[lo], p[hi]
	if b.T == a.T {
		return b.RPS
	}
	f := float64(at-a.T) / float64(b.T-a.T)
	return a.RPS + f*(b.RPS-a.RPS)
}

// Peak is the highest load of the trace over [from, to].
func (t Trace) Peak(from, to time.Duration) float64 {
	peak := math.Max(t.Rate(from), t.Rate(to))
	for _, p := range t.Points {
		if p.T >= from && p.T <= to {
			peak = math.Max(peak, p.RPS)
		}
	}
	return peak
}

// Mean is the average load over the trace.
func (t Trace) Mean() float64 {
	d := t.Duration()
	if d <= 0 {
		return t.Rate(0)
	}
	sum, n := 0.0, 0
	for at := time.Duration(0); at < d; at += time.Second {
		sum += t.Rate(at)
		n++
	}
	return sum / float64(n)
}

// Validate rejects an empty trace, knots out of time order, and negative
// or non-finite loads.
func (t Trace) Validate() error {
	if len(t.Points) == 0 {
		return fmt.Errorf("trace %q: no points", t.Name)
	}
	for i, p := range t.Points {
		if p.T < 0 || (i > 0 && p.T < t.Points[i-1].T) {
			return fmt.Errorf("trace %q: point %d: time %v is before the previous point", t.Name, i+1, p.T)
		}
		if !(p.RPS >= 0) || math.IsInf(p.RPS, 0) {
			return fmt.Errorf("trace %q: point %d: rps %v must be a finite number ≥ 0", t.Name, i+1, p.RPS)
		}
	}
	if t.Duration() < time.Minute {
		return fmt.Errorf("trace %q: lasts %v, want at least 1m", t.Name, t.Duration())
	}
	return nil
}

// BuiltinTraces are the benchmark's load shapes around a base load of base
// requests per second:
//
//   - step-x2, step-x5: base for 10 min, then ×2 (×5) for 30 min, then base
//     again for 20 min;
//   - ramp: base for 10 min, a linear ramp to ×5 over 30 min, held 10 min,
//     back to base over 10 min;
//   - diurnal: a day compressed into 2 h, a sine between base and ×4;
//   - spike: base, ×10 for 5 min at 10 min, base again until 40 min;
//   - sawtooth: 300 s teeth rising linearly from base to ×3 and dropping
//     back at once, for 60 min.
func BuiltinTraces(base float64) []Trace {
	m := func(d float64) time.Duration { return time.Duration(d * float64(time.Minute)) }
	step := func(name string, k float64) Trace {
		return Trace{Name: name, Points: []Point{
			{0, base}, {m(10), base}, {m(10) + time.Second, k * base},
			{m(40), k * base}, {m(40) + time.Second, base}, {m(60), base}}}
	}
	var diurnal []Point
	for s := 0; s <= 120*60; s += 60 {
		x := float64(s) / (120 * 60)
		// Night (base) at both ends, the peak (×4) mid-day.
		diurnal = append(diurnal, Point{time.Duration(s) * time.Second,
			base * (1 + 1.5*(1-math.Cos(2*math.Pi*x)))})
	}
	var saw []Point
	for tooth := 0; tooth < 12; tooth++ {
		t0 := time.Duration(tooth) * 300 * time.Second
		saw = append(saw, Point{t0, base}, Point{t0 + 299*time.Second, 3 * base})
	}
	saw = append(saw, Point{60 * time.Minute, base})
	return []Trace{
		step("step-x2", 2),
		step("step-x5", 5),
		{Name: "ramp", Points: []Point{{0, base}, {m(10), base}, {m(40), 5 * base}, {m(50), 5 * base}, {m(60), base}, {m(70), base}}},
		{Name: "diurnal", Points: diurnal},
		{Name: "spike", Points: []Point{{0, base}, {m(10), base}, {m(10) + time.Second, 10 * base},
			{m(15), 10 * base}, {m(15) + time.Second, base}, {m(40), base}}},
		{Name: "sawtooth", Points: saw},
	}
}

// ErrTraceSyntax is wrapped by every error ParseTraceCSV returns about the
// content of a file.
var ErrTraceSyntax = errors.New("autoscale: bad trace")

// ParseTraceCSV reads a trace from CSV rows `t_seconds,rps`: times in
// seconds (non-decreasing, ≥ 0), loads in requests per second (≥ 0). A
// first row that does not parse as numbers is taken as a header; empty
// lines and lines starting with # are skipped. Errors name the file and
// line. The trace is named after the file.
func ParseTraceCSV(file string, r io.Reader) (Trace, error) {
	tr := Trace{Name: traceName(file)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line, first := 0, true
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ",")
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %w: %s", file, line, ErrTraceSyntax, fmt.Sprintf(format, a...))
		}
		if first {
			first = false
			if !isNumber(fields[0]) {
				continue // a header row
			}
		}
		if len(fields) != 2 {
			return tr, bad("want 2 fields t_seconds,rps, got %d", len(fields))
		}
		ts, rs := strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1])
		secs, err := strconv.ParseFloat(ts, 64)
		if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return tr, bad("t_seconds %q is not a number", ts)
		}
		if secs < 0 || secs > 366*24*3600 {
			return tr, bad("t_seconds %v out of range [0, 1 year]", secs)
		}
		rps, err := strconv.ParseFloat(rs, 64)
		if err != nil || math.IsNaN(rps) || math.IsInf(rps, 0) {
			return tr, bad("rps %q is not a number", rs)
		}
		if rps < 0 || rps > 1e6 {
			return tr, bad("rps %v out of range [0, 1e6]", rps)
		}
		at := time.Duration(secs * float64(time.Second))
		if n := len(tr.Points); n > 0 && at < tr.Points[n-1].T {
			return tr, bad("t_seconds %v is before the previous row's %v", secs, tr.Points[n-1].T.Seconds())
		}
		tr.Points = append(tr.Points, Point{T: at, RPS: rps})
	}
	if err := sc.Err(); err != nil {
		return tr, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	if len(tr.Points) == 0 {
		return tr, fmt.Errorf("%s: %w: no data rows (want t_seconds,rps)", file, ErrTraceSyntax)
	}
	if d := tr.Duration(); d < time.Minute {
		return tr, fmt.Errorf("%s:%d: %w: the trace lasts %v, want at least 60 s", file, line, ErrTraceSyntax, d)
	}
	return tr, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

func traceName(file string) string {
	name := file
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSuffix(name, ".csv")
}
