package autoscale

import (
	"fmt"
	"math"
	"time"
)

// The queue recommender models the service as an M/M/c queue: c = replicas
// × slots per replica servers, each serving at rate μ = 1/S, fed at rate
// λ. With offered load a = λS and ρ = a/c < 1, Erlang C gives the
// probability that a request waits,
//
//	C(c, a) = B(c, a) / (1 − ρ(1 − B(c, a))),  B the Erlang B formula,
//
// the waiting time is then exponential with rate cμ − λ, and a request's
// time in the system T = S + W_q has the tail
//
//	P(T > t) = e^{−μt} + C · μ (e^{−μt} − e^{−(cμ−λ)t}) / (cμ − λ − μ)
//
// (the limit C·μt·e^{−μt} when cμ − λ = μ). The mean time in the system is
// E[T] = S + C·S/(c − a); the recommender inverts it to estimate S from the
// measured λ and mean latency (bisection: E[T] increases with S), smooths
// the estimate, forecasts λ one start-up delay ahead from its trend, and
// returns the fewest replicas with P(T > threshold) ≤ (1 − percentile) ×
// headroom and ρ ≤ MaxUtilization. Headroom is 1 with at least half the
// budget left and falls linearly to 0.5 as the budget runs out. While the
// load rises by more than its noise (the smoothed slope above one standard
// deviation of it), or has risen by more than RiseMargin from its lowest
// rate of the last RiseWindow, the recommendation holds scale-down: a
// count released on a rising load is asked for again within the start-up
// delay, a reversal, and the replicas start too late for the load that
// came back.
//
// The forecast's trend is the smoothed rate's, bounded by ShortTrendWeight
// times the short window's (the smoothed rate keeps climbing for a window
// after a step; the load does not), and the service time is only
// re-estimated while the queue is steady (throughput within
// SteadyTolerance of the arrivals, or after SteadyWait without such a
// look): a backlog draining after an overload inflates the mean latency
// the inversion reads.

// QueueSpec configures the queue recommender.
type QueueSpec struct {
	// Percentile is the SLO's latency percentile as a ratio (e.g. 0.99).
	Percentile float64 `json:"percentile"`
	// Threshold is the latency the percentile must stay under.
	Threshold time.Duration `json:"threshold"`
	// Slots is the requests one replica serves at once (default 1).
	Slots int32 `json:"slots"`
	// StartupDelay is how long a new replica takes to serve (default 30s):
	// the load is forecast that far ahead.
	StartupDelay time.Duration `json:"startup_delay"`
	// MaxUtilization caps the servers' utilization (default 0.85: M/M/c
	// underestimates the tail of heavy-tailed service times near
	// saturation, and the smoothed rate lags a rising load).
	MaxUtilization float64 `json:"max_utilization"`
	// Smoothing is the weight of a new service-time estimate (default 0.3).
	Smoothing float64 `json:"smoothing"`
	// PanicThreshold: when the count the short window's arrival rate
	// (QueueInput.ArrivalsNow) needs is at least this many times the ready
	// replicas, the recommendation is a panic (default 2, Knative's 200%):
	// sized from that rate at once, urgent, and past the behavior's
	// scale-up rate limits, as Knative's panic mode is.
	PanicThreshold float64 `json:"panic_threshold"`
}

// WithDefaults fills the zero fields.
func (s QueueSpec) WithDefaults() QueueSpec {
	if s.Slots == 0 {
		s.Slots = 1
	}
	if s.StartupDelay == 0 {
		s.StartupDelay = 30 * time.Second
	}
	if s.MaxUtilization == 0 {
		s.MaxUtilization = 0.85
	}
	if s.Smoothing == 0 {
		s.Smoothing = 0.3
	}
	if s.PanicThreshold == 0 {
		s.PanicThreshold = 2
	}
	return s
}

// Validate checks the fields (after WithDefaults).
func (s QueueSpec) Validate() error {
	switch {
	case !(s.Percentile > 0 && s.Percentile < 1):
		return fmt.Errorf("percentile: %v is not within (0, 1)", s.Percentile)
	case s.Threshold <= 0:
		return fmt.Errorf("threshold: %s must be positive", s.Threshold)
	case s.Slots < 1:
		return fmt.Errorf("slots: %d must be at least 1", s.Slots)
	case s.StartupDelay < 0:
		return fmt.Errorf("startup_delay: %s is negative", s.StartupDelay)
	case !(s.MaxUtilization > 0 && s.MaxUtilization <= 1):
		return fmt.Errorf("max_utilization: %v is not within (0, 1]", s.MaxUtilization)
	case !(s.Smoothing > 0 && s.Smoothing <= 1):
		return fmt.Errorf("smoothing: %v is not within (0, 1]", s.Smoothing)
	case !(s.PanicThreshold > 1 && s.PanicThreshold <= 1000):
		return fmt.Errorf("panic_threshold: %v is not within (1, 1000]", s.PanicThreshold)
	}
	return nil
}

// QueueInput is one look at the service's load.
type QueueInput struct {
	// Throughput is the completed requests per second (all replicas).
	Throughput float64 `json:"throughput"`
	// Arrivals is the offered requests per second; 0 means Throughput.
	Arrivals float64 `json:"arrivals,omitempty"`
	// ArrivalsNow is the offered requests per second over a short window
	// (for example rate(…[30s]) at a 15 s scrape); 0: not read. It sees a
	// sudden jump one look after it happens, where the smoothed rate takes
	// a minute: the count it needs is a floor, and a panic when far above
	// the ready replicas.
	ArrivalsNow float64 `json:"arrivals_now,omitempty"`
	// Latency is the mean latency in seconds; 0 with Concurrency set means
	// Concurrency/Throughput (Little's law).
	Latency float64 `json:"latency"`
	// Concurrency is the mean number of requests in the system (optional).
	Concurrency float64 `json:"concurrency,omitempty"`
	// Ready is the replicas serving.
	Ready int32 `json:"ready"`
	// Budget is the error budget remaining (NaN: unknown, headroom 1).
	Budget float64 `json:"budget"`
	// Err, when set, says why the inputs could not be read.
	Err string `json:"err,omitempty"`
}

// QueueState is what the queue recommender keeps between looks.
type QueueState struct {
	// ServiceTime is the smoothed estimate of S, in seconds (0: none yet).
	ServiceTime float64 `json:"service_time"`
	// ServiceTimeAt is when the estimate was last updated.
	ServiceTimeAt time.Time `json:"service_time_at,omitempty"`
	// Rate and At are the last arrival rate seen and when.
	Rate float64   `json:"rate"`
	At   time.Time `json:"at"`
	// Slope is the smoothed trend of the arrival rate, per second, and
	// SlopeVar the smoothed squared deviation of each look's trend from
	// it: the trend's noise.
	Slope    float64 `json:"slope"`
	SlopeVar float64 `json:"slope_var,omitempty"`
	// Lows holds the arrival rates of the last RiseWindow that no later
	// look undercut, oldest (and lowest) first: Lows[0] is the window's
	// lowest rate.
	Lows []RatePoint `json:"lows,omitempty"`
	// NowRate and NowSlope are the short window's last arrival rate and
	// its smoothed trend.
	NowRate  float64 `json:"now_rate,omitempty"`
	NowSlope float64 `json:"now_slope,omitempty"`
}

// RatePoint is an arrival rate seen at a time.
type RatePoint struct {
	At   time.Time `json:"at"`
	Rate float64   `json:"rate"`
}

// RiseWindow and RiseMargin: while the smoothed arrival rate is more than
// RiseMargin above its lowest of the last RiseWindow, the load is rising
// from a trough and the recommendation holds scale-down. The slope test
// misses this after a sharp fall (a sawtooth's drop): the fall itself
// inflates the slope's noise for minutes, and the replicas released on
// the way back up are asked for again a minute later. A flat load's rate
// (1 m windows, 15 s apart) stays within the margin.
const (
	RiseWindow = 2 * time.Minute
	RiseMargin = 0.2
)

// ShortTrendWeight bounds the forecast's trend by this many times the
// short window's trend (QueueInput.ArrivalsNow): the short window's trend
// is noisier, and the minimum of two noisy trends is biased low.
const ShortTrendWeight = 1.5

// SteadyTolerance is how close throughput must be to the arrival rate for
// a look to update the service-time estimate; SteadyWait is how long the
// estimate waits for such a look before it takes one that is not.
const (
	SteadyTolerance = 0.1
	SteadyWait      = 2 * time.Minute
)

// JumpRatio is how far the short window's arrival rate must be above the
// smoothed one for the queue recommender to size from it: a jump, not the
// short window's noise.
const JumpRatio = 1.25

// RecommendQueue is the queue recommender.
func RecommendQueue(spec QueueSpec, in QueueInput, st QueueState, now time.Time) (Recommendation, QueueState) {
	rec := Recommendation{Recommender: RecommenderQueue}
	if in.Err != "" {
		rec.Reason = in.Err
		return rec, st
	}
	lam := in.Arrivals
	if lam == 0 {
		lam = in.Throughput
	}
	w := in.Latency
	if w == 0 && in.Concurrency > 0 && in.Throughput > 0 {
		w = in.Concurrency / in.Throughput
	}
	for _, x := range []float64{lam, in.Throughput, w} {
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			rec.Reason = fmt.Sprintf("inputs are not usable (arrivals %v, throughput %v, latency %v)", lam, in.Throughput, w)
			return rec, st
		}
	}
	// Service time: estimate from this look when there is traffic and the
	// queue is steady (throughput within SteadyTolerance of the arrivals):
	// while a backlog builds or drains, the mean latency is not the steady
	// state's that the M/M/c inversion assumes, and S would come out too
	// high (a drained backlog after a step read as slower requests). A
	// mismatch that lasts SteadyWait is not a backlog (arrivals counted
	// where some requests never reach the replicas, a share rejected):
	// the estimate follows it then.
	steady := math.Abs(in.Throughput-lam) <= SteadyTolerance*lam
	if in.Ready > 0 && in.Throughput > 0 && w > 0 && (st.ServiceTime == 0 || steady || now.Sub(st.ServiceTimeAt) >= SteadyWait) {
		st.ServiceTimeAt = now
		c := int(in.Ready) * int(spec.Slots)
		s := estimateServiceTime(c, in.Throughput, w)
		if st.ServiceTime == 0 {
			st.ServiceTime = s
		} else {
			st.ServiceTime = spec.Smoothing*s + (1-spec.Smoothing)*st.ServiceTime
		}
	}
	// Trend of the arrival rate.
	if !st.At.IsZero() && now.After(st.At) {
		d := (lam - st.Rate) / now.Sub(st.At).Seconds()
		dev := d - st.Slope
		st.Slope = 0.5*d + 0.5*st.Slope
		st.SlopeVar = 0.5*dev*dev + 0.5*st.SlopeVar
	}
	if in.ArrivalsNow > 0 && !st.At.IsZero() && now.After(st.At) && st.NowRate > 0 {
		d := (in.ArrivalsNow - st.NowRate) / now.Sub(st.At).Seconds()
		st.NowSlope = 0.5*d + 0.5*st.NowSlope
	}
	st.NowRate = in.ArrivalsNow
	st.Rate, st.At = lam, now
	st.Lows = trailingLows(st.Lows, RatePoint{At: now, Rate: lam}, RiseWindow)
	if st.ServiceTime == 0 {
		if lam == 0 && in.ArrivalsNow == 0 {
			// No load, and none was ever seen: the model needs no
			// replica beyond one (min applies).
			rec.Valid, rec.Replicas = true, 1
			rec.Reason = "no load (0 req/s): 1 replica (no service time estimated yet)"
			return rec, st
		}
		rec.Reason = "no traffic yet to estimate the service time from"
		return rec, st
	}
	// The forecast's trend: the smoothed rate's, capped by ShortTrendWeight
	// times the short window's. After a step the smoothed (1 m) rate climbs
	// for a whole window while the load is already flat; the short window's
	// trend is back to zero half a window sooner. On a steady ramp both
	// see the same trend.
	slope := st.Slope
	if in.ArrivalsNow > 0 {
		slope = math.Min(slope, ShortTrendWeight*math.Max(st.NowSlope, 0))
	}
	ahead := lam + math.Max(0, slope)*spec.StartupDelay.Seconds()
	headroom := 1.0
	if b := in.Budget; !math.IsNaN(b) && b < 0.5 {
		headroom = 0.5 + math.Max(0, b)
	}
	alpha := (1 - spec.Percentile) * headroom
	mu := 1 / st.ServiceTime
	t := spec.Threshold.Seconds()
	c, why := serversFor(ahead, mu, t, alpha, spec.MaxUtilization)
	rec.Valid = true
	rec.Replicas = max(1, int32((c+int(spec.Slots)-1)/int(spec.Slots)))
	rec.Reason = fmt.Sprintf("service time %.1fms, %.1f req/s expected in %s (now %.1f): %d replicas keep %s (p%s ≤ %s)",
		1000*st.ServiceTime, ahead, fmtDur(spec.StartupDelay), lam, rec.Replicas, why, fmtNum(100*spec.Percentile), spec.Threshold)
	if ahead <= 0 {
		rec.Reason = fmt.Sprintf("no load (0 req/s, none expected in %s): %d replica", fmtDur(spec.StartupDelay), rec.Replicas)
	}
	if now := in.ArrivalsNow; now > ahead && now >= JumpRatio*lam && !math.IsNaN(now) && !math.IsInf(now, 0) {
		// A jump: the short window is well above the smoothed rate (its
		// noise stays far below JumpRatio), so it sizes the count now
		// instead of a minute later.
		cn, whyNow := serversFor(now, mu, t, alpha, spec.MaxUtilization)
		if r := max(1, int32((cn+int(spec.Slots)-1)/int(spec.Slots))); r > rec.Replicas {
			rec.Replicas = r
			rec.Reason = fmt.Sprintf("service time %.1fms, a jump to %.1f req/s over the short window (%.1f smoothed): %d replicas keep %s (p%s ≤ %s)",
				1000*st.ServiceTime, now, lam, r, whyNow, fmtNum(100*spec.Percentile), spec.Threshold)
			// Far above the ready replicas: a panic.
			if float64(r) >= spec.PanicThreshold*float64(max(in.Ready, 1)) {
				rec.Urgent, rec.Panic = true, true
				rec.Reason += fmt.Sprintf("; panic: %d is at least %s× the %d ready", r, fmtNum(spec.PanicThreshold), in.Ready)
			}
		}
	}
	if r := risingBeyondNoise(st); r > 0 {
		rec.HoldDown = true
		rec.Reason += fmt.Sprintf("; scale-down held: the load rises (%.2f req/s per second beyond its noise)", r)
	} else if low := st.Lows[0]; lam > (1+RiseMargin)*low.Rate {
		rec.HoldDown = true
		rec.Reason += fmt.Sprintf("; scale-down held: the load rose from %.1f req/s %s ago to %.1f", low.Rate, fmtDur(now.Sub(low.At).Round(time.Second)), lam)
	}
	return rec, st
}

// trailingLows adds p to lows, a deque of the rates no later rate
// undercut, and drops what is older than window: lows[0] is then the
// lowest rate of the window.
func trailingLows(lows []RatePoint, p RatePoint, window time.Duration) []RatePoint {
	lows = append(make([]RatePoint, 0, len(lows)+1), lows...) // the caller's state stays as it was
	for len(lows) > 0 && lows[len(lows)-1].Rate >= p.Rate {
		lows = lows[:len(lows)-1]
	}
	lows = append(lows, p)
	for len(lows) > 1 && p.At.Sub(lows[0].At) > window {
		lows = lows[1:]
	}
	return lows
}

// risingBeyondNoise is how far the smoothed slope of the arrival rate is
// above one standard deviation of it (0 when it is not): a load that rises
// by more than the scrape-to-scrape noise of its rate. The smoothed slope
// (weight ½ per look) has a third of the variance of one look's slope,
// which SlopeVar tracks.
func risingBeyondNoise(st QueueState) float64 {
	return math.Max(0, st.Slope-math.Sqrt(st.SlopeVar/3))
}

// estimateServiceTime inverts E[T](S) = S + C(c, λS)·S/(c − λS) for S.
func estimateServiceTime(c int, lam, w float64) float64 {
	hi := math.Min(w, float64(c)/lam)
	lo := 0.0
	for range 60 {
		mid := (lo + hi) / 2
		if meanSojourn(c, lam, mid) > w {
			hi = mid
		} else {
			lo = mid
		}
	}
	return (lo + hi) / 2
}

func meanSojourn(c int, lam, s float64) float64 {
	a := lam * s
	if a >= float64(c) {
		return math.Inf(1)
	}
	return s + erlangC(c, a)*s/(float64(c)-a)
}

// erlangB is the Erlang B blocking probability, by the stable recursion
// B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
func erlangB(c int, a float64) float64 {
	b := 1.0
	for k := 1; k <= c; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// erlangC is the probability that a request waits in M/M/c.
func erlangC(c int, a float64) float64 {
	rho := a / float64(c)
	if rho >= 1 {
		return 1
	}
	b := erlangB(c, a)
	return b / (1 - rho*(1-b))
}

// tailSojourn is P(T > t) in M/M/c.
func tailSojourn(c int, lam, mu, t float64) float64 {
	a := lam / mu
	if a >= float64(c) {
		return 1
	}
	pc := erlangC(c, a)
	r := float64(c)*mu - lam
	es := math.Exp(-mu * t)
	if math.Abs(r-mu) < 1e-12*mu {
		return es + pc*mu*t*es
	}
	return es + pc*mu*(es-math.Exp(-r*t))/(r-mu)
}

// serversFor returns the fewest servers meeting the tail target and the
// utilization cap, and which of the two bound it. When the service time
// alone misses the tail target, no count meets it: the count then keeps
// the waiting probability under ten times the tail target (at most 50%).
func serversFor(lam, mu, t, alpha, maxUtil float64) (int, string) {
	if lam <= 0 {
		return 1, "no load"
	}
	const limit = 100000
	minC := int(math.Floor(lam/(mu*maxUtil))) + 1
	if float64(minC-1)*mu*maxUtil >= lam && minC > 1 {
		minC--
	}
	feasible := math.Exp(-mu*t) < alpha
	waitCap := math.Min(0.5, 10*alpha)
	for c := max(1, minC); c < limit; c++ {
		if feasible {
			if tailSojourn(c, lam, mu, t) <= alpha {
				if c == max(1, minC) {
					return c, fmt.Sprintf("utilization ≤ %s", fmtNum(maxUtil))
				}
				return c, fmt.Sprintf("P(latency > threshold) ≤ %.2g", alpha)
			}
		} else if erlangC(c, lam/mu) <= waitCap {
			return c, fmt.Sprintf("the wait probability ≤ %.2g (the service time alone misses the threshold)", waitCap)
		}
	}
	return limit, "the largest count considered"
}
