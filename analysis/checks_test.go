package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// fakeQuerier answers queries with fn; it is the in-memory Querier of the
// unit tests.
type fakeQuerier struct {
	fn      func(query string, at time.Time) (Vector, error)
	rangeFn func(query string, start, end time.Time, step time.Duration) (Matrix, error)
	// age, when set, is the age of the newest sample of every series at a
	// look; else samples are fresh. Freshness queries are not recorded in
	// queries.
	age     func(at time.Time) time.Duration
	queries []string
}

func (f *fakeQuerier) Query(ctx context.Context, query string, at time.Time) (Vector, error) {
	if err := ctx.Err(); err != nil {
		return Vector{}, err
	}
	if strings.HasPrefix(query, "max(timestamp(") {
		newest := at
		if f.age != nil {
			newest = at.Add(-f.age(at))
		}
		return one(float64(newest.UnixNano()) / 1e9), nil
	}
	f.queries = append(f.queries, query)
	return f.fn(query, at)
}

func (f *fakeQuerier) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (Matrix, error) {
	f.queries = append(f.queries, query)
	return f.rangeFn(query, start, end, step)
}

func one(x float64) Vector { return Vector{Samples: []Sample{{Value: x}}} }

var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

// counters serves cumulative request counters of two versions that grow
// linearly: per minute, canary reqC requests with badC bad, stable reqS/badS.
func counters(reqC, badC, reqS, badS float64) *fakeQuerier {
	return &fakeQuerier{fn: func(q string, at time.Time) (Vector, error) {
		m := at.Sub(t0).Minutes()
		canary := strings.Contains(q, `version="v2"`)
		bad := strings.Contains(q, `code=~"5.."`)
		switch {
		case canary && bad:
			return one(badC * m), nil
		case canary:
			return one(reqC * m), nil
		case bad:
			return one(badS * m), nil
		default:
			return one(reqS * m), nil
		}
	}}
}

func build(t *testing.T, s Spec) Check {
	t.Helper()
	c, err := s.Build(Vars{Service: "checkout", Version: "v2", Stable: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	c.Reset(t0)
	return c
}

func TestSequentialCheck(t *testing.T) {
	spec := Spec{Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "http_requests_total"}}}
	tests := map[string]struct {
		q    *fakeQuerier
		want Verdict
	}{
		"A canary with ten times stable's error ratio fails.":           {q: counters(100, 10, 1000, 10), want: Fail},
		"A canary as good as stable passes.":                            {q: counters(3000, 30, 9000, 90), want: Pass},
		"A stable version with zero errors and a failing canary fails.": {q: counters(100, 5, 1000, 0), want: Fail},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := build(t, spec)
			var r Result
			for i := 1; i <= 120; i++ {
				r = c.Evaluate(context.Background(), tc.q, t0.Add(time.Duration(i)*15*time.Second))
				if r.Verdict != Continue {
					break
				}
			}
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s: %s", r.Verdict, tc.want, r.Reason)
			}
			for _, k := range []string{"canary_requests", "canary_bad", "stable_bad", "ratio_estimate", "interval_low", "interval_high", "p_value", "alpha"} {
				if _, ok := r.Evidence[k]; !ok {
					t.Errorf("evidence lacks %s: %v", k, r.Evidence)
				}
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		})
	}
	if q := counters(1, 1, 1, 1); true {
		c := build(t, spec)
		c.Evaluate(context.Background(), q, t0.Add(15*time.Second))
		want := `sum(http_requests_total{service="checkout",version="v2",code=~"5.."}) or vector(0)`
		found := false
		for _, s := range q.queries {
			found = found || s == want
		}
		if !found {
			t.Errorf("generated queries %q lack %q", q.queries, want)
		}
	}
}

func TestChecksAreInconclusiveOnBadInput(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	specs := map[string]Spec{
		"sequential": {Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "r"}}},
		"threshold":  {Judge: &ThresholdSpec{Query: `sum(rate(r{service="{{.service}}"}[{{.window}}]))`, Min: f(0.99)}},
		"burn-rate":  {Judge: &BurnRateSpec{Counters: Counters{RequestsMetric: "r"}, Objective: 0.999}},
	}
	answers := map[string]func(string, time.Time) (Vector, error){
		"a query error":   func(string, time.Time) (Vector, error) { return Vector{}, errors.New("connection refused") },
		"an empty result": func(string, time.Time) (Vector, error) { return Vector{}, nil },
		"a NaN value":     func(string, time.Time) (Vector, error) { return one(math.NaN()), nil },
		"two series":      func(string, time.Time) (Vector, error) { return Vector{Samples: []Sample{{Value: 1}, {Value: 2}}}, nil },
		"a timeout": func(string, time.Time) (Vector, error) {
			return Vector{}, context.DeadlineExceeded
		},
	}
	for sname, spec := range specs {
		for aname, fn := range answers {
			t.Run(sname+" is inconclusive on "+aname, func(t *testing.T) {
				c := build(t, spec)
				r := c.Evaluate(context.Background(), &fakeQuerier{fn: fn}, t0.Add(time.Minute))
				if r.Verdict != Inconclusive {
					t.Fatalf("verdict %s: %s", r.Verdict, r.Reason)
				}
				if r.Reason == "" {
					t.Fatal("no reason")
				}
			})
		}
	}
	t.Run("a cancelled context is inconclusive", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := build(t, specs["threshold"])
		if r := c.Evaluate(ctx, counters(1, 0, 1, 0), t0.Add(time.Minute)); r.Verdict != Inconclusive {
			t.Fatalf("verdict %s", r.Verdict)
		}
	})
}

func TestThresholdCheckFailureLimit(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	values := []float64{99.5, 98, 99.9, 97, 96}
	i := 0
	q := &fakeQuerier{fn: func(string, time.Time) (Vector, error) { v := values[i]; i++; return one(v), nil }}
	c := build(t, Spec{Judge: &ThresholdSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Minute)}, Query: "success_rate", Min: f(99), FailureLimit: 1}})
	var got []Verdict
	for k := range values {
		got = append(got, c.Evaluate(context.Background(), q, t0.Add(time.Duration(k+1)*time.Minute)).Verdict)
		// Within the interval the last result is returned without a query.
		c.Evaluate(context.Background(), q, t0.Add(time.Duration(k+1)*time.Minute+10*time.Second))
	}
	want := []Verdict{Continue, Continue, Continue, Fail, Fail}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("verdicts %v, want %v", got, want)
		}
	}
	if i != 4 {
		t.Fatalf("%d queries, want 4 (none after failing, none within the interval)", i)
	}
	// A new step keeps the failures counted so far (Flagger's FailedChecks
	// persist over the canary): one more failure after a reset exceeds the
	// limit of 1 again.
	i = 0
	c = build(t, Spec{Judge: &ThresholdSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Minute)}, Query: "success_rate", Min: f(99), FailureLimit: 1}})
	values = []float64{98, 98}
	if v := c.Evaluate(context.Background(), q, t0.Add(time.Minute)).Verdict; v != Continue {
		t.Fatalf("first failure: %s", v)
	}
	c.Reset(t0.Add(2 * time.Minute))
	if v := c.Evaluate(context.Background(), q, t0.Add(3*time.Minute)).Verdict; v != Fail {
		t.Fatalf("second failure after a new step: %s, want Fail", v)
	}
}

func TestBurnRateCheck(t *testing.T) {
	// Canary at 2% errors on a 99.9% SLO burns 20x in both windows.
	q := &fakeQuerier{fn: func(s string, _ time.Time) (Vector, error) {
		if strings.Contains(s, "code=~") {
			return one(0.2), nil
		}
		return one(10), nil
	}}
	c := build(t, Spec{Judge: &BurnRateSpec{Counters: Counters{RequestsMetric: "r"}, Objective: 0.999}})
	r := c.Evaluate(context.Background(), q, t0)
	if r.Verdict != Fail || math.Abs(r.Evidence["burn_rate_short"]-20) > 1e-9 {
		t.Fatalf("%s %v: %s", r.Verdict, r.Evidence, r.Reason)
	}
	found := false
	for _, s := range q.queries {
		found = found || strings.Contains(s, "[1h]")
	}
	if !found {
		t.Errorf("no 1h window in %q", q.queries)
	}
}

func TestLatencyBucketsCheck(t *testing.T) {
	// Canary's latency shifts up: fewer of its requests fall in low buckets.
	q := &fakeQuerier{fn: func(s string, at time.Time) (Vector, error) {
		m := at.Sub(t0).Minutes()
		shares := map[string]float64{"0.1": 0.5, "0.3": 0.9, "1": 0.99, "+Inf": 1}
		n := 6000.0
		if strings.Contains(s, `version="v2"`) {
			shares = map[string]float64{"0.1": 0.3, "0.3": 0.7, "1": 0.95, "+Inf": 1}
			n = 600
		}
		var v Vector
		for le, sh := range shares {
			v.Samples = append(v.Samples, Sample{Labels: map[string]string{"le": le}, Value: math.Round(n * sh * m)})
		}
		return v, nil
	}}
	c := build(t, Spec{Judge: &SequentialSpec{Counters: Counters{SLI: SLILatencyBuckets, LatencyMetric: "http_request_duration_seconds"}}})
	var r Result
	for i := 1; i <= 40 && r.Verdict == Continue; i++ {
		r = c.Evaluate(context.Background(), q, t0.Add(time.Duration(i)*15*time.Second))
	}
	if r.Verdict != Fail || !strings.Contains(r.Reason, "slower than") {
		t.Fatalf("%s: %s", r.Verdict, r.Reason)
	}
}

func TestLatencyThresholdQueries(t *testing.T) {
	s := SequentialSpec{Counters: Counters{SLI: SLILatency, LatencyMetric: "h", LatencyThreshold: 0.3}}
	s.Defaults()
	_, bad, err := s.queries(false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := bad.Render(Vars{Service: "a", Version: "b"})
	want := `sum(h_count{service="a",version="b"}) - sum(h_bucket{service="a",version="b",le="0.3"})`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestMannWhitneyCheck(t *testing.T) {
	mk := func(canaryShift float64) *fakeQuerier {
		return &fakeQuerier{rangeFn: func(s string, start, end time.Time, step time.Duration) (Matrix, error) {
			var pts []Point
			k := 0
			for ts := start; !ts.After(end); ts = ts.Add(step) {
				v := 0.01 + 0.001*float64(k%7)
				if strings.Contains(s, `"v2"`) {
					v += canaryShift
				}
				pts = append(pts, Point{T: ts, V: v})
				k++
			}
			return Matrix{Series: []Series{{Points: pts}}}, nil
		}}
	}
	spec := Spec{Judge: &MannWhitneySpec{Query: `err_ratio{version="{{.version}}"}`, Lifetime: model.Duration(10 * time.Minute)}}
	c := build(t, spec)
	if r := c.Evaluate(context.Background(), mk(0.02), t0.Add(5*time.Minute)); r.Verdict != Continue {
		t.Fatalf("before the horizon: %s", r.Verdict)
	}
	if r := c.Evaluate(context.Background(), mk(0.02), t0.Add(10*time.Minute)); r.Verdict != Fail {
		t.Fatalf("shifted canary: %s %s", r.Verdict, r.Reason)
	}
	c = build(t, spec)
	if r := c.Evaluate(context.Background(), mk(0), t0.Add(10*time.Minute)); r.Verdict != Pass {
		t.Fatalf("equal canary: %s %s", r.Verdict, r.Reason)
	}
}

func TestSequentialCheckJudgesOnItsFirstLook(t *testing.T) {
	spec := Spec{Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "http_requests_total"}}}
	t.Run("The counts at the start of the analysis are the baseline.", func(t *testing.T) {
		c := build(t, spec) // Reset(t0)
		r := c.Evaluate(context.Background(), counters(1000, 100, 10000, 10), t0.Add(time.Minute))
		if r.Verdict != Fail {
			t.Fatalf("first look: %s (%s), want fail", r.Verdict, r.Reason)
		}
	})
	t.Run("A canary whose series did not exist at the start had served nothing.", func(t *testing.T) {
		c := build(t, spec)
		full := counters(1000, 100, 10000, 10)
		q := &fakeQuerier{fn: func(query string, at time.Time) (Vector, error) {
			if !at.After(t0) && strings.Contains(query, `version="v2"`) {
				return Vector{}, nil
			}
			return full.fn(query, at)
		}}
		if r := c.Evaluate(context.Background(), q, t0.Add(time.Minute)); r.Verdict != Fail {
			t.Fatalf("first look: %s (%s), want fail", r.Verdict, r.Reason)
		}
	})
	t.Run("Without stable's counts at the start, the first look records them.", func(t *testing.T) {
		c := build(t, spec)
		full := counters(1000, 100, 10000, 10)
		q := &fakeQuerier{fn: func(query string, at time.Time) (Vector, error) {
			if !at.After(t0) && strings.Contains(query, `version="v1"`) {
				return Vector{}, nil
			}
			return full.fn(query, at)
		}}
		r := c.Evaluate(context.Background(), q, t0.Add(time.Minute))
		if r.Verdict != Continue {
			t.Fatalf("first look: %s (%s), want continue", r.Verdict, r.Reason)
		}
		if r = c.Evaluate(context.Background(), q, t0.Add(2*time.Minute)); r.Verdict != Fail {
			t.Fatalf("second look: %s (%s), want fail", r.Verdict, r.Reason)
		}
	})
	t.Run("A canary with no series at a look is inconclusive, whatever the start.", func(t *testing.T) {
		c := build(t, spec)
		q := &fakeQuerier{fn: func(query string, at time.Time) (Vector, error) {
			if strings.Contains(query, `version="v2"`) {
				return Vector{}, nil
			}
			return one(1000), nil
		}}
		if r := c.Evaluate(context.Background(), q, t0.Add(time.Minute)); r.Verdict != Inconclusive {
			t.Fatalf("first look: %s (%s), want inconclusive", r.Verdict, r.Reason)
		}
	})
}
