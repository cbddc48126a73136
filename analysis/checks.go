package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/slo"
)

// ErrNoData is returned (wrapped) when a query's result is empty. It is
// slo.ErrNoData, so that errors.Is matches it in both packages.
var ErrNoData = slo.ErrNoData

// ErrNaN is returned (wrapped) when a query's value is NaN or infinite.
var ErrNaN = errors.New("analysis: value is NaN")

// newBase checks vars and binds them to the defaulted common settings and
// query window of a spec.
func newBase(c CommonSpec, window model.Duration, vars Vars) (base, error) {
	if vars.Service == "" || vars.Version == "" {
		return base{}, errors.New("analysis: build: service and version are required")
	}
	if vars.Window == 0 {
		vars.Window = time.Duration(window)
	}
	if vars.Interval == 0 {
		vars.Interval = time.Duration(c.Interval)
	}
	return base{spec: c, vars: vars}, nil
}

// Build implements Judge: every query error, timeout, empty result or NaN
// makes a look Inconclusive.
func (s *SequentialSpec) Build(vars Vars) (Check, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d := *s
	d.Defaults()
	b, err := newBase(d.CommonSpec, d.Window, vars)
	if err != nil {
		return nil, err
	}
	if vars.Stable == "" {
		return nil, errors.New("analysis: build: the sequential judge needs the stable version")
	}
	c := &sequentialCheck{base: b, spec: d}
	if d.SLI == SLILatencyBuckets {
		c.buckets, err = d.bucketQuery()
	} else {
		c.total, c.bad, err = d.queries(false)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Build implements Judge.
func (s *ThresholdSpec) Build(vars Vars) (Check, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d := *s
	d.Defaults()
	b, err := newBase(d.CommonSpec, d.Window, vars)
	if err != nil {
		return nil, err
	}
	qt, err := ParseQueryTemplate(d.Query)
	if err != nil {
		return nil, &FieldError{Field: "query", Err: err}
	}
	return &thresholdCheck{base: b, spec: d, query: qt}, nil
}

// Build implements Judge.
func (s *BurnRateSpec) Build(vars Vars) (Check, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d := *s
	d.Defaults()
	b, err := newBase(d.CommonSpec, d.ShortWindow, vars)
	if err != nil {
		return nil, err
	}
	total, bad, err := d.queries(true)
	if err != nil {
		return nil, err
	}
	return &burnRateCheck{base: b, spec: d, total: total, bad: bad}, nil
}

// Build implements Judge.
func (s *MannWhitneySpec) Build(vars Vars) (Check, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	d := *s
	d.Defaults()
	b, err := newBase(d.CommonSpec, d.Window, vars)
	if err != nil {
		return nil, err
	}
	if vars.Stable == "" {
		return nil, errors.New("analysis: build: the mann-whitney judge needs the stable version")
	}
	qt, err := ParseQueryTemplate(d.Query)
	if err != nil {
		return nil, &FieldError{Field: "query", Err: err}
	}
	return &mannWhitneyCheck{base: b, spec: d, query: qt}, nil
}

// base holds what every check shares: its spec, variables and the last
// result, which is returned again until the interval has passed.
type base struct {
	spec   CommonSpec
	vars   Vars
	last   Result
	lastAt time.Time
	// freshQ caches the freshness queries of each rendered query.
	freshQ map[string][]string
}

func (b *base) Name() string { return b.spec.Name }

// cached returns the last result when the check looked less than an
// interval ago. A look due within a tenth of the interval is taken now: the
// controller's ticks at the same interval jitter by a little, and a look
// skipped for a millisecond would double the time between looks.
func (b *base) cached(now time.Time) (Result, bool) {
	if b.lastAt.IsZero() || now.Sub(b.lastAt) >= time.Duration(b.spec.Interval)*9/10 || now.Before(b.lastAt) {
		return Result{}, false
	}
	return b.last, true
}

func (b *base) done(now time.Time, v Verdict, reason string, ev map[string]float64) Result {
	r := Result{Judge: b.spec.Name, Verdict: v, Reason: reason, Evidence: ev, At: now}
	b.last, b.lastAt = r, now
	return r
}

func (b *base) inconclusive(now time.Time, err error) Result {
	return b.done(now, Inconclusive, err.Error(), nil)
}

func (b *base) render(qt *QueryTemplate, version string, window time.Duration) (string, error) {
	v := b.vars
	v.Version = version
	if window > 0 {
		v.Window = window
	}
	return qt.Render(v)
}

// scalar runs an instant query that must return exactly one finite sample.
func (b *base) scalar(ctx context.Context, q Querier, query string, now time.Time) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(b.spec.Timeout))
	defer cancel()
	return Scalar(ctx, q, query, now)
}

// Scalar runs an instant query that must return exactly one finite sample
// and returns its value. An empty result wraps ErrNoData, a NaN or
// infinite value ErrNaN; several series are an error (a query meant to be
// one number that is not, such as a sum without its sum()). Judges and the
// SLO evaluator (through SLOQuerier) read numbers this one way.
func Scalar(ctx context.Context, q Querier, query string, now time.Time) (float64, error) {
	vec, err := q.Query(ctx, query, now)
	if err != nil {
		return 0, fmt.Errorf("query %s failed: %w", query, err)
	}
	switch len(vec.Samples) {
	case 0:
		return 0, fmt.Errorf("query %s: %w (empty result%s)", query, ErrNoData, because(vec.Warnings))
	case 1:
	default:
		return 0, fmt.Errorf("query %s returned %d series, want 1", query, len(vec.Samples))
	}
	x := vec.Samples[0].Value
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("query %s: %w", query, ErrNaN)
	}
	return x, nil
}

// SLOQuerier reads the numbers of slo.Evaluator through q, with Scalar;
// it also implements slo.RangeQuerier, for slo.Evaluator.History.
func SLOQuerier(q Querier) slo.Querier { return sloQuerier{q} }

type sloQuerier struct{ q Querier }

func (s sloQuerier) Scalar(ctx context.Context, query string, at time.Time) (float64, error) {
	return Scalar(ctx, s.q, query, at)
}

// Range implements slo.RangeQuerier: the one series of a range query, no
// points for an empty result, an error for several series.
func (s sloQuerier) Range(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]slo.Point, error) {
	m, err := s.q.QueryRange(ctx, query, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("query %s failed: %w", query, err)
	}
	switch len(m.Series) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("query %s returned %d series, want 1", query, len(m.Series))
	}
	out := make([]slo.Point, len(m.Series[0].Points))
	for i, p := range m.Series[0].Points {
		out[i] = slo.Point{T: p.T, V: p.V}
	}
	return out, nil
}

// sequentialCheck runs the sequential judge on cumulative counters read at
// every look; the differences between looks are its intervals.
type sequentialCheck struct {
	base
	spec       SequentialSpec
	total, bad *QueryTemplate
	buckets    *QueryTemplate
	tests      []*RatioTest
	les        []string // bucket boundaries (latency-buckets)
	prev       []float64
	resets     int
	skipped    int
	// start is when the analysis started (the weight was ACKed); the first
	// look reads the counts at start as its baseline, so that it can judge
	// at once instead of spending a look on recording them.
	start time.Time
}

func (c *sequentialCheck) Reset(start time.Time) {
	c.tests, c.les, c.prev, c.resets, c.skipped = nil, nil, nil, 0, 0
	c.last, c.lastAt = Result{}, time.Time{}
	c.start = start
}

// read returns the cumulative counts: for errors and latency
// [canaryTotal, canaryBad, stableTotal, stableBad]; for latency-buckets,
// per boundary the same four, with bad = slower than the boundary.
func (c *sequentialCheck) read(ctx context.Context, q Querier, now time.Time) ([]float64, error) {
	return c.readCounts(ctx, q, now, false)
}

// readCounts is read; with atStart, a canary series that does not exist yet
// counts 0: a version that had served nothing when its analysis started
// (a canary's first weight) has its first series created after the start.
// The stable version's series must exist, and the looks themselves still
// need the canary's series (no data is never a pass).
func (c *sequentialCheck) readCounts(ctx context.Context, q Querier, now time.Time, atStart bool) ([]float64, error) {
	if c.buckets == nil {
		out := make([]float64, 0, 4)
		for _, ver := range []string{c.vars.Version, c.vars.Stable} {
			for _, qt := range []*QueryTemplate{c.total, c.bad} {
				query, err := c.render(qt, ver, 0)
				if err != nil {
					return nil, err
				}
				x, err := c.scalar(ctx, q, query, now)
				if err != nil && atStart && ver == c.vars.Version && errors.Is(err, ErrNoData) {
					x, err = 0, nil
				}
				if err != nil {
					return nil, err
				}
				out = append(out, x)
			}
		}
		return out, nil
	}
	per := make([]map[string]float64, 2)
	for i, ver := range []string{c.vars.Version, c.vars.Stable} {
		query, err := c.render(c.buckets, ver, 0)
		if err != nil {
			return nil, err
		}
		qctx, cancel := context.WithTimeout(ctx, time.Duration(c.spec.Timeout))
		vec, err := q.Query(qctx, query, now)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("query %s failed: %w", query, err)
		}
		if len(vec.Samples) == 0 {
			return nil, fmt.Errorf("query %s: %w (empty result%s)", query, ErrNoData, because(vec.Warnings))
		}
		per[i] = map[string]float64{}
		for _, s := range vec.Samples {
			le, ok := s.Labels["le"]
			if !ok {
				return nil, fmt.Errorf("query %s: sample without an le label", query)
			}
			if math.IsNaN(s.Value) {
				return nil, fmt.Errorf("query %s: %w (le=%s)", query, ErrNaN, le)
			}
			per[i][le] = s.Value
		}
	}
	if c.les == nil {
		var les []string
		for le := range per[0] {
			if f, err := strconv.ParseFloat(le, 64); err == nil && !math.IsInf(f, 1) {
				les = append(les, le)
			}
		}
		slices.SortFunc(les, func(a, b string) int {
			fa, _ := strconv.ParseFloat(a, 64)
			fb, _ := strconv.ParseFloat(b, 64)
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		})
		if len(les) == 0 {
			return nil, fmt.Errorf("histogram of %s has no finite buckets: %w", c.vars.Service, ErrNoData)
		}
		c.les = les
	}
	out := make([]float64, 0, 4*len(c.les))
	for _, le := range c.les {
		for i := range per {
			all, ok1 := per[i]["+Inf"]
			in, ok2 := per[i][le]
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("histogram of version is missing bucket le=%q or +Inf: %w", le, ErrNoData)
			}
			out = append(out, all, all-in)
		}
	}
	return out, nil
}

// DefaultFinalShare is the share of a sequential judge's alpha kept for
// the look that completes an analysis step's window (SequentialConfig.
// FinalShare): the anytime test runs at alpha/2, and the fixed-sample test
// at the window's end at alpha/2; the total stays alpha.
const DefaultFinalShare = 0.5

func (c *sequentialCheck) Evaluate(ctx context.Context, q Querier, now time.Time) Result {
	return c.evaluate(ctx, q, now, false)
}

// EvaluateLast is Evaluate at the look that would complete the analysis
// window: each test also runs its final fixed-sample test, once.
func (c *sequentialCheck) EvaluateLast(ctx context.Context, q Querier, now time.Time) Result {
	return c.evaluate(ctx, q, now, true)
}

func (c *sequentialCheck) evaluate(ctx context.Context, q Querier, now time.Time, last bool) Result {
	if r, ok := c.cached(now); ok {
		return r
	}
	queries, err := c.renderAll([]*QueryTemplate{c.total, c.bad, c.buckets}, []string{c.vars.Version, c.vars.Stable}, 0)
	if err == nil {
		err = c.fresh(ctx, q, now, queries...)
	}
	if err != nil {
		return c.inconclusive(now, err)
	}
	cur, err := c.read(ctx, q, now)
	if err != nil {
		return c.inconclusive(now, err)
	}
	if c.prev == nil && !c.start.IsZero() && c.start.Before(now) {
		// The counts at the start of the analysis are the baseline. If they
		// cannot be read (a canary whose series did not exist yet), the
		// counts of this look are, and the judging starts at the next one.
		if base, err := c.readCounts(ctx, q, c.start, true); err == nil && len(base) == len(cur) {
			c.prev = base
		}
		c.start = time.Time{}
	}
	if c.tests == nil {
		k := len(cur) / 4
		alpha := c.spec.Alpha / float64(k) // Bonferroni across bucket boundaries
		for range k {
			rt, err := NewRatioTest(SequentialConfig{Alpha: alpha, Tolerance: c.spec.Tolerance, MinRequests: c.spec.MinRequests, MinBad: c.spec.MinBad, FinalShare: DefaultFinalShare})
			if err != nil {
				return c.inconclusive(now, err)
			}
			c.tests = append(c.tests, rt)
		}
	}
	if c.prev == nil || len(c.prev) != len(cur) {
		c.prev = cur
		return c.done(now, Continue, "baseline counts recorded; judging from the next look", map[string]float64{
			"canary_requests_cumulative": cur[0], "stable_requests_cumulative": cur[2]})
	}
	inc := make([]float64, len(cur))
	for i := range cur {
		inc[i] = cur[i] - c.prev[i]
		if inc[i] < 0 {
			// A counter went down: a process restarted. Skip the interval
			// rather than guess how much was lost.
			c.prev = cur
			c.resets++
			return c.done(now, Continue, "a counter reset was detected; this interval is skipped", map[string]float64{"counter_resets": float64(c.resets)})
		}
	}
	c.prev = cur
	// The check fails if any test fails, passes when all pass, and
	// otherwise continues; it reports the test closest to failing.
	decisions := make([]Decision, len(c.tests))
	nFail, nPass := 0, 0
	for i, rt := range c.tests {
		o := inc[4*i : 4*i+4]
		if !rt.Observe(Counts{CanaryRequests: o[0], CanaryBad: o[1], StableRequests: o[2], StableBad: o[3]}) {
			// More bad events than requests in one interval: the two
			// counters were read at different instants. Skip it.
			c.skipped++
		}
		if last {
			decisions[i] = rt.DecideLast()
		} else {
			decisions[i] = rt.Decide()
		}
		switch decisions[i].Verdict {
		case Fail:
			nFail++
		case Pass:
			nPass++
		}
	}
	verdict := Continue
	switch {
	case nFail > 0:
		verdict = Fail
	case nPass == len(c.tests):
		verdict = Pass
	}
	wi := 0
	for i, d := range decisions {
		if d.Verdict == verdict && (decisions[wi].Verdict != verdict || d.LogEFail > decisions[wi].LogEFail) {
			wi = i
		}
	}
	worst, worstTest := decisions[wi], c.tests[wi]
	worstLE := ""
	if c.les != nil {
		worstLE = c.les[wi]
	}
	cfg := SequentialConfig{Alpha: c.spec.Alpha / float64(len(c.tests)), Tolerance: c.spec.Tolerance}
	ev := worst.Evidence(cfg)
	lo, hi := worstTest.Interval(cfg.Alpha)
	ev["interval_low"], ev["interval_high"] = lo, hi
	ev["counter_resets"] = float64(c.resets)
	ev["skipped_intervals"] = float64(c.skipped)
	reason := worst.Reason
	if it := IntervalText(lo, hi, cfg.Alpha); it != "" && worst.Total.CanaryBad+worst.Total.StableBad > 0 {
		reason += "; " + it
	}
	if worstLE != "" {
		f, _ := strconv.ParseFloat(worstLE, 64)
		ev["bucket_le"] = f
		reason = fmt.Sprintf("requests slower than %ss: %s", worstLE, reason)
		if verdict == Pass {
			reason = fmt.Sprintf("all %d latency buckets: %s", len(c.tests), reason)
		}
	}
	return c.done(now, verdict, reason, ev)
}

// thresholdCheck compares one query's value with min/max, counting failed
// measurements against the failure limit.
type thresholdCheck struct {
	base
	spec  ThresholdSpec
	query *QueryTemplate
	state ThresholdState
}

// Reset starts a new step's analysis; failed measurements stay counted for
// the whole rollout, as Flagger's FailedChecks and an Argo background run.
func (c *thresholdCheck) Reset(time.Time) {
	c.state = ThresholdState{Failures: c.state.Failures}
	c.last, c.lastAt = Result{}, time.Time{}
}

func (c *thresholdCheck) Evaluate(ctx context.Context, q Querier, now time.Time) Result {
	if r, ok := c.cached(now); ok {
		return r
	}
	if c.last.Verdict == Fail && !c.lastAt.IsZero() {
		return c.last
	}
	query, err := c.render(c.query, c.vars.Version, 0)
	if err == nil {
		err = c.fresh(ctx, q, now, query)
	}
	if err != nil {
		return c.inconclusive(now, err)
	}
	x, err := c.scalar(ctx, q, query, now)
	if err != nil {
		return c.inconclusive(now, err)
	}
	var v Verdict
	var reason string
	c.state, v, reason = Threshold(c.state, ThresholdConfig{Min: c.spec.Min, Max: c.spec.Max, FailureLimit: c.spec.FailureLimit}, x)
	ev := map[string]float64{"value": x, "failures": float64(c.state.Failures), "measurements": float64(c.state.Measurements), "failure_limit": float64(c.spec.FailureLimit)}
	if c.spec.Min != nil {
		ev["min"] = *c.spec.Min
	}
	if c.spec.Max != nil {
		ev["max"] = *c.spec.Max
	}
	return c.done(now, v, reason, ev)
}

// burnRateCheck is the canary's own burn-rate gate.
type burnRateCheck struct {
	base
	spec       BurnRateSpec
	total, bad *QueryTemplate
}

func (c *burnRateCheck) Reset(time.Time) { c.last, c.lastAt = Result{}, time.Time{} }

func (c *burnRateCheck) Evaluate(ctx context.Context, q Querier, now time.Time) Result {
	if r, ok := c.cached(now); ok {
		return r
	}
	queries, err := c.renderAll([]*QueryTemplate{c.total, c.bad}, []string{c.vars.Version}, time.Duration(c.spec.ShortWindow))
	if err == nil {
		err = c.fresh(ctx, q, now, queries...)
	}
	if err != nil {
		return c.inconclusive(now, err)
	}
	var w [2]BurnWindow
	for i, win := range []time.Duration{time.Duration(c.spec.ShortWindow), time.Duration(c.spec.LongWindow)} {
		w[i].Window = win
		for j, qt := range []*QueryTemplate{c.total, c.bad} {
			query, err := c.render(qt, c.vars.Version, win)
			if err != nil {
				return c.inconclusive(now, err)
			}
			x, err := c.scalar(ctx, q, query, now)
			if err != nil {
				return c.inconclusive(now, err)
			}
			if j == 0 {
				w[i].Total = x
			} else {
				w[i].Bad = x
			}
		}
	}
	v, reason, ev := BurnRateGate(c.spec.Objective, c.spec.BurnRate, w[0], w[1])
	return c.done(now, v, reason, ev)
}

// mannWhitneyCheck collects samples for its lifetime and judges once.
type mannWhitneyCheck struct {
	base
	spec  MannWhitneySpec
	query *QueryTemplate
	start time.Time
}

func (c *mannWhitneyCheck) Reset(start time.Time) {
	c.start = start
	c.last, c.lastAt = Result{}, time.Time{}
}

func (c *mannWhitneyCheck) Evaluate(ctx context.Context, q Querier, now time.Time) Result {
	if c.start.IsZero() {
		c.start = now
	}
	if c.last.Verdict == Pass || c.last.Verdict == Fail {
		return c.last
	}
	end := c.start.Add(time.Duration(c.spec.Lifetime))
	if now.Before(end) {
		return c.done(now, Continue, fmt.Sprintf("collecting samples until %s (fixed horizon %s)", end.Format(time.RFC3339), c.spec.Lifetime), nil)
	}
	queries, err := c.renderAll([]*QueryTemplate{c.query}, []string{c.vars.Version, c.vars.Stable}, 0)
	if err == nil {
		err = c.fresh(ctx, q, now, queries...)
	}
	if err != nil {
		return c.inconclusive(now, err)
	}
	var series [2][]float64
	for i, ver := range []string{c.vars.Version, c.vars.Stable} {
		query, err := c.render(c.query, ver, 0)
		if err != nil {
			return c.inconclusive(now, err)
		}
		qctx, cancel := context.WithTimeout(ctx, time.Duration(c.spec.Timeout))
		m, err := q.QueryRange(qctx, query, c.start.Add(time.Duration(c.spec.Interval)), end, time.Duration(c.spec.Interval))
		cancel()
		if err != nil {
			return c.inconclusive(now, fmt.Errorf("query %s failed: %w", query, err))
		}
		if len(m.Series) != 1 {
			return c.inconclusive(now, fmt.Errorf("query %s returned %d series, want 1: %w", query, len(m.Series), ErrNoData))
		}
		for _, p := range m.Series[0].Points {
			series[i] = append(series[i], p.V)
		}
	}
	cfg := MannWhitneyConfig{Confidence: 1 - c.spec.Alpha, Tolerance: KayentaDefaults.Tolerance, Direction: c.spec.Direction,
		AllowedIncrease: c.spec.AllowedIncrease, AllowedDecrease: c.spec.AllowedDecrease}
	r := MannWhitney(series[0], series[1], cfg)
	ev := map[string]float64{"estimate": r.Estimate, "interval_low": r.Lower, "interval_high": r.Upper,
		"mean_ratio": r.MeanRatio, "u": r.U, "p_value": r.PValue, "canary_samples": float64(r.N), "stable_samples": float64(r.M)}
	if r.Class == ClassNodata {
		return c.done(now, Inconclusive, "no samples with data for canary or stable (NaN removed)", ev)
	}
	score, err := KayentaScore([]ScoredMetric{{Group: c.spec.Name, Class: r.Class}}, map[string]float64{c.spec.Name: c.spec.Weight})
	if err != nil {
		return c.inconclusive(now, err)
	}
	ev["score"] = score
	v := KayentaVerdict(score)
	return c.done(now, v, fmt.Sprintf("Mann-Whitney classified the canary %s (shift %.3g, %g%% interval [%.3g, %.3g]); score %.0f", r.Class, r.Estimate, 100*(1-c.spec.Alpha), r.Lower, r.Upper, score), ev)
}

// because is the querier's warnings for an empty result (such as a scrape
// target being down), as a suffix of the no-data message.
func because(warnings []string) string {
	if len(warnings) == 0 {
		return ""
	}
	return "; " + strings.Join(warnings, "; ")
}
