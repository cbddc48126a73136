package autoscale

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// The recommenders' names, as in metrics and the API.
const (
	RecommenderHPA   = "hpa"
	RecommenderSLO   = "slo"
	RecommenderQueue = "queue"
)

// Recommendation is one recommender's proposal with its reason.
type Recommendation struct {
	Recommender string `json:"recommender"`
	// Valid is false when the recommender has no proposal (no data, NaN,
	// stale data…); Reason then says why.
	Valid    bool   `json:"valid"`
	Replicas int32  `json:"replicas"`
	Reason   string `json:"reason"`
	// Urgent asks for a scale-up past the up-stabilization window (the
	// rate limits still apply).
	Urgent bool `json:"urgent,omitempty"`
	// Panic asks for the count at once, past the behavior's scale-up rate
	// limits too (the queue recommender on a sudden load jump).
	Panic bool `json:"panic,omitempty"`
	// HoldDown forbids scaling down on this look.
	HoldDown bool `json:"hold_down,omitempty"`
	// Superseded marks the hpa recommendation when the slo recommender,
	// which is the hpa's calculation on its adjusted targets, has a valid
	// proposal: it is shown but not combined.
	Superseded bool `json:"superseded,omitempty"`
	// Abstain marks a recommender that has no count to offer on this look
	// but sees its inputs (the slo recommender without metrics, when
	// nothing burns): it is not counted as blind; its HoldDown still holds.
	Abstain bool `json:"abstain,omitempty"`
}

// MetricSpec is one configured metric: a PromQL query and its target.
type MetricSpec struct {
	Name   string       `json:"name"`
	Query  string       `json:"query"`
	Target MetricTarget `json:"target"`
}

// QueueQueries are the PromQL queries the controller reads the queue
// recommender's inputs with.
type QueueQueries struct {
	// Throughput: completed requests per second over all replicas.
	Throughput string `json:"throughput"`
	// Latency: mean latency in seconds.
	Latency string `json:"latency"`
	// Concurrency (optional): requests in flight.
	Concurrency string `json:"concurrency,omitempty"`
	// Arrivals (optional): offered requests per second.
	Arrivals string `json:"arrivals,omitempty"`
	// ArrivalsNow (optional): offered requests per second over a short
	// window (for example rate(…[30s])), the queue recommender's panic
	// signal.
	ArrivalsNow string `json:"arrivals_now,omitempty"`
	// BudgetSLO (optional): the SLO whose remaining budget sets the headroom.
	BudgetSLO string `json:"budget_slo,omitempty"`
}

// Spec is one autoscaler's configuration.
type Spec struct {
	// Name is the autoscaler's (the service's) name.
	Name string `json:"name"`
	Min  int32  `json:"min"`
	Max  int32  `json:"max"`
	// Metrics feed the hpa recommender.
	Metrics []MetricSpec `json:"metrics,omitempty"`
	// Tolerance of the hpa recommender (default DefaultTolerance).
	Tolerance float64 `json:"tolerance,omitempty"`
	// Behavior in the HPA's schema; nil runs the HPA's legacy path
	// (5-minute downscale stabilization, scale-up at most max(2×, 4)).
	// Use &Behavior{} for the behavior defaults.
	Behavior *Behavior `json:"behavior,omitempty"`
	// SLO enables the slo recommender.
	SLO *SLOSpec `json:"slo,omitempty"`
	// Queue enables the queue recommender.
	Queue        *QueueSpec    `json:"queue,omitempty"`
	QueueQueries *QueueQueries `json:"queue_queries,omitempty"`
	// StaleAfter: samples older than this are no data (default 2m).
	StaleAfter time.Duration `json:"stale_after,omitempty"`
	// FreshnessQuery, when set, is a PromQL query giving the age in
	// seconds of the newest sample behind the metrics, for example
	// time() - max(timestamp(http_requests_total{service="checkout"})):
	// an age over StaleAfter makes the look's data stale. Without it, a
	// series that stops being scraped reads as no data once Prometheus's
	// lookback (5m by default) has passed.
	FreshnessQuery string `json:"freshness_query,omitempty"`
}

// WithDefaults returns the spec with its defaults filled.
func (s Spec) WithDefaults() Spec {
	if s.Tolerance == 0 {
		s.Tolerance = DefaultTolerance
	}
	if s.Behavior != nil {
		b := s.Behavior.WithDefaults()
		s.Behavior = &b
	}
	if s.SLO != nil {
		x := s.SLO.WithDefaults()
		s.SLO = &x
	}
	if s.Queue != nil {
		x := s.Queue.WithDefaults()
		s.Queue = &x
	}
	if s.StaleAfter == 0 {
		s.StaleAfter = 2 * time.Minute
	}
	return s
}

// Validate checks the spec: min ≤ max, positive targets, a recommender at
// least, valid behavior. Each error starts with the field's path.
func (s Spec) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Name == "" {
		add("name is empty")
	}
	if s.Min < 0 {
		add("min: %d is negative", s.Min)
	}
	if s.Max < 1 {
		add("max: %d must be at least 1", s.Max)
	}
	if s.Min > s.Max {
		add("min: %d is greater than max %d", s.Min, s.Max)
	}
	if len(s.Metrics) == 0 && s.SLO == nil && s.Queue == nil {
		add("no metrics, slo or queue recommender configured")
	}
	names := map[string]bool{}
	for i, m := range s.Metrics {
		if err := m.Target.Validate(); err != nil {
			add("metrics[%d].target: %v", i, err)
		}
		if m.Name == "" {
			add("metrics[%d].name is empty", i)
		} else if names[m.Name] {
			add("metrics[%d].name: %q is used twice", i, m.Name)
		}
		names[m.Name] = true
	}
	if s.Tolerance < 0 || s.Tolerance >= 1 || math.IsNaN(s.Tolerance) {
		add("tolerance: %v is not within [0, 1)", s.Tolerance)
	}
	if s.Behavior != nil {
		if err := s.Behavior.Validate(); err != nil {
			add("behavior: %w", err)
		}
	}
	if s.SLO != nil {
		if err := s.SLO.WithDefaults().Validate(); err != nil {
			add("slo: %w", err)
		}
	}
	if s.Queue != nil {
		if err := s.Queue.WithDefaults().Validate(); err != nil {
			add("queue: %w", err)
		}
	}
	if s.StaleAfter < 0 {
		add("stale_after: %s is negative", s.StaleAfter)
	}
	return errors.Join(errs...)
}

// RolloutInput is what the autoscaler knows of a rollout in progress.
type RolloutInput struct {
	// CanaryWeight is the canary's share of requests, in [0, 1].
	CanaryWeight float64 `json:"canary_weight"`
	// NextWeight and NextStepAt are the next weight step, when known.
	NextWeight float64   `json:"next_weight,omitempty"`
	NextStepAt time.Time `json:"next_step_at,omitempty"`
	// Analyzing is true while the judges compare canary and stable.
	Analyzing bool `json:"analyzing"`
	// CanaryCleared is true when the rollout's judges found the canary no
	// worse than stable. Until then, a burn during a canary is taken as the
	// canary's: the rollout judges it, and the slo recommender does not
	// scale up to hide it.
	CanaryCleared bool `json:"canary_cleared,omitempty"`
}

// Inputs is everything one look observed.
type Inputs struct {
	// Scale is the actuator's current scale; ScaleErr, when set, says why
	// it could not be read (the step then holds).
	Scale    Scale  `json:"scale"`
	ScaleErr string `json:"scale_err,omitempty"`
	// Metrics are the hpa recommender's observations, in Spec.Metrics order.
	Metrics []MetricInput `json:"metrics,omitempty"`
	// SLO are the slo recommender's signals.
	SLO []SLOSignal `json:"slo,omitempty"`
	// Queue is the queue recommender's observation.
	Queue QueueInput `json:"queue"`
	// Rollout is set while a canary of the service is in progress.
	Rollout *RolloutInput `json:"rollout,omitempty"`
	// ObservedAt is when the metrics were read; older than the spec's
	// StaleAfter at the step's now, they count as no data.
	ObservedAt time.Time `json:"observed_at,omitempty"`
}

// State is what an autoscaler keeps between looks, persisted so that a
// restart keeps the stabilization windows and rate limits.
type State struct {
	Name string `json:"name"`
	// Recommendations are the recent proposals, for stabilization.
	Recommendations []TimedRecommendation `json:"recommendations,omitempty"`
	// UpEvents and DownEvents are the recent changes, for the rate limits.
	UpEvents   []ScaleEvent `json:"up_events,omitempty"`
	DownEvents []ScaleEvent `json:"down_events,omitempty"`
	// TargetFactor is the slo recommender's target factor, set at FactorAt.
	TargetFactor float64   `json:"target_factor,omitempty"`
	FactorAt     time.Time `json:"factor_at,omitempty"`
	// Queue is the queue recommender's estimates.
	Queue QueueState `json:"queue"`
	// LastSet is the count the autoscaler last set and read back (0: none);
	// a different count read later means someone else scales the target.
	LastSet   int32     `json:"last_set,omitempty"`
	LastSetAt time.Time `json:"last_set_at,omitempty"`
	// SpareDownAt is when the last scale-down through the slo
	// recommender's shorter window was decided. A scale-up within the
	// behavior's scale-down window after it is a reversal: the shorter
	// window is then off until SpareDownOffUntil (six behavior windows
	// later), since the load comes back too soon to release replicas
	// early.
	SpareDownAt       time.Time `json:"spare_down_at,omitempty"`
	SpareDownOffUntil time.Time `json:"spare_down_off_until,omitempty"`
	// LastDownAt is when the last scale-down was confirmed: with the
	// queue recommender, a small scale-up within the scale-down window
	// after it is held (see Step).
	LastDownAt time.Time `json:"last_down_at,omitempty"`
	// Since is the autoscaler's first look: the shorter scale-down window
	// waits until it has seen a full behavior window of its own.
	Since time.Time `json:"since,omitempty"`
	// Paused freezes scaling; Fight is set when someone else changed the
	// count: both hold until Resume.
	Paused      bool      `json:"paused,omitempty"`
	PauseReason string    `json:"pause_reason,omitempty"`
	Fight       string    `json:"fight,omitempty"`
	Updated     time.Time `json:"updated"`
	// Last is the last decision.
	Last *Decision `json:"last,omitempty"`
}

// Action is what a decision asks for.
type Action string

// The actions.
const (
	ActionNone      Action = "none"
	ActionScaleUp   Action = "scale_up"
	ActionScaleDown Action = "scale_down"
	// ActionHold: the step cannot decide (no data, unknown scale, paused,
	// a fight): nothing is changed.
	ActionHold Action = "hold"
)

// Split is the replicas per version during a canary.
type Split struct {
	Stable int32 `json:"stable"`
	Canary int32 `json:"canary"`
}

// Decision is the outcome of one Step.
type Decision struct {
	At      time.Time `json:"at"`
	Current int32     `json:"current"`
	Ready   int32     `json:"ready"`
	// Desired is the count to set (Current when nothing is to change).
	Desired int32  `json:"desired"`
	Action  Action `json:"action"`
	Reason  string `json:"reason"`
	// Recommendations are each recommender's proposal.
	Recommendations []Recommendation `json:"recommendations"`
	// Split is the per-version sizing during a canary.
	Split *Split `json:"split,omitempty"`
	// Event, when set, is a notable change (fight detected) to report.
	Event string `json:"event,omitempty"`
}

// NewState returns an autoscaler's initial state.
func NewState(name string) State { return State{Name: name} }

// Step is the autoscaler's pure decision: it runs the configured
// recommenders on in, takes the highest valid recommendation, applies
// rollout awareness, then the behavior (stabilization and rate limits) and
// min/max, and holds when it cannot decide safely. spec must be
// validated and defaulted (WithDefaults). The returned state keeps the
// recommendation for the stabilization windows; Confirm records an
// applied change.
func Step(spec Spec, st State, in Inputs, now time.Time) (State, Decision) {
	st.Updated = now
	if st.Since.IsZero() {
		st.Since = now
	}
	d := Decision{At: now, Current: in.Scale.Desired, Ready: in.Scale.Ready}
	hold := func(reason string) (State, Decision) {
		d.Desired, d.Action, d.Reason = d.Current, ActionHold, reason
		st.Last = &d
		return st, d
	}
	cur := in.Scale.Desired
	// The first look with a known count records that count as a
	// recommendation, as the HPA's recordInitialRecommendation does: a
	// fresh autoscaler (or one whose state was lost) does not scale down
	// within the scale-down window of its start on its first readings.
	if st.Recommendations == nil && in.ScaleErr == "" && cur > 0 {
		st.Recommendations = []TimedRecommendation{{At: now, Replicas: cur}}
	}
	if !in.ObservedAt.IsZero() && spec.StaleAfter > 0 && now.Sub(in.ObservedAt) > spec.StaleAfter {
		stale := fmt.Sprintf("stale data: read %s ago (limit %s)", fmtDur(now.Sub(in.ObservedAt).Round(time.Second)), fmtDur(spec.StaleAfter))
		ms := make([]MetricInput, len(in.Metrics))
		for i, m := range in.Metrics {
			m.Err = stale
			ms[i] = m
		}
		in.Metrics = ms
		in.Queue.Err = stale
		sigs := make([]SLOSignal, len(in.SLO))
		for i, s := range in.SLO {
			s.Err = stale
			sigs[i] = s
		}
		in.SLO = sigs
	}
	if ro := in.Rollout; ro != nil && ro.CanaryWeight > 0 && !ro.CanaryCleared {
		sigs := make([]SLOSignal, len(in.SLO))
		for i, s := range in.SLO {
			s.FromCanary = true
			sigs[i] = s
		}
		in.SLO = sigs
	}
	// Recommendations are computed even when holding, for status.
	var recs []Recommendation
	spare := false
	hpaIn := HPAInput{Current: cur, Ready: in.Scale.Ready, Tolerance: spec.Tolerance, Metrics: in.Metrics}
	if len(spec.Metrics) > 0 {
		r, _ := RecommendHPA(hpaIn)
		recs = append(recs, r)
	}
	if spec.SLO != nil {
		r := RecommendSLO(*spec.SLO, in.SLO, hpaIn, st.TargetFactor, st.FactorAt, now)
		st.TargetFactor, st.FactorAt = r.TargetFactor, now
		spare = r.Spare
		recs = append(recs, r.Recommendation)
	}
	if spec.SLO != nil && len(recs) == 2 && recs[1].Valid {
		recs[0].Superseded = true
	}
	if spec.Queue != nil {
		qi := in.Queue
		if qi.Ready == 0 {
			qi.Ready = in.Scale.Ready
		}
		var r Recommendation
		r, st.Queue = RecommendQueue(*spec.Queue, qi, st.Queue, now)
		r = queueTolerance(r, cur, spec.Tolerance)
		recs = append(recs, r)
		// The slo recommender's urgent scale-up is sized by the queue
		// model when it has a count: what the load needs, at least one
		// more than the ready replicas (the ones starting are counted on),
		// never more than the slo's own factor asks.
		for i := range recs {
			if q := r; recs[i].Recommender == RecommenderSLO && recs[i].Urgent && q.Valid {
				if n := max(cur, in.Scale.Ready+1, q.Replicas); n < recs[i].Replicas {
					recs[i].Replicas = n
					recs[i].Reason += fmt.Sprintf(" (sized by the queue model: %d)", n)
				}
			}
		}
	}
	d.Recommendations = recs

	switch {
	case st.Paused:
		return hold("paused: " + st.PauseReason)
	case in.ScaleErr != "":
		return hold("current scale unknown: " + in.ScaleErr)
	case st.Fight != "":
		return hold("stopped: " + st.Fight + " (resume to adopt the current count)")
	case st.LastSet > 0 && cur != st.LastSet:
		st.Fight = fmt.Sprintf("the count changed from %d to %d by someone else", st.LastSet, cur)
		d.Event = "fight"
		return hold("stopped: " + st.Fight + " (resume to adopt the current count)")
	case cur == 0 && spec.Min != 0:
		return hold("scaled to 0 by its owner: autoscaling is off until it has replicas")
	case cur > spec.Max:
		return finish(spec, st, d, spec.Max, fmt.Sprintf("current %d is above max %d", cur, spec.Max))
	case cur < spec.Min:
		return finish(spec, st, d, spec.Min, fmt.Sprintf("current %d is below min %d", cur, spec.Min))
	}

	desired, best := int32(-1), -1
	urgent, panicUp, holdDown := false, false, false
	var invalid, downHolds []string
	for i, r := range recs {
		if r.Superseded {
			continue
		}
		if r.Abstain {
			if r.HoldDown {
				holdDown = true
				downHolds = append(downHolds, r.Recommender)
			}
			continue
		}
		if !r.Valid {
			invalid = append(invalid, r.Recommender+": "+r.Reason)
			continue
		}
		if r.Replicas > desired {
			desired, best = r.Replicas, i
		}
		if r.HoldDown {
			holdDown = true
			downHolds = append(downHolds, r.Recommender)
		}
	}
	if best < 0 {
		return hold("no valid recommendation (" + strings.Join(invalid, "; ") + "): never scaling blind")
	}
	for _, r := range recs {
		if r.Valid && r.Urgent && r.Replicas == desired && desired > cur {
			urgent = true
			panicUp = panicUp || r.Panic
		}
	}
	reason := recs[best].Recommender + ": " + recs[best].Reason
	if len(invalid) > 0 {
		holdDown = true
		downHolds = append(downHolds, "invalid "+strings.Join(invalid, "; "))
	}
	// Rollout awareness.
	if ro := in.Rollout; ro != nil {
		w := clamp01(ro.CanaryWeight)
		next := w
		lead := 30 * time.Second
		if spec.Queue != nil {
			lead = spec.Queue.StartupDelay
		}
		if !ro.NextStepAt.IsZero() && !now.Before(ro.NextStepAt.Add(-lead)) && ro.NextWeight > w {
			next = clamp01(ro.NextWeight)
		}
		split := Split{Stable: ceil32(float64(desired) * (1 - w)), Canary: ceil32(float64(desired) * next)}
		if w > 0 && split.Canary == 0 {
			split.Canary = 1
		}
		if total := split.Stable + split.Canary; total != desired {
			reason += fmt.Sprintf("; canary at %s%%", fmtNum(100*w))
			if next > w {
				reason += fmt.Sprintf(", sized for its next step at %s%%", fmtNum(100*next))
			}
			reason += fmt.Sprintf(": stable %d + canary %d", split.Stable, split.Canary)
			desired = total
		}
		d.Split = &split
		if ro.Analyzing {
			holdDown = true
			downHolds = append(downHolds, "canary analysis in progress")
		}
	}
	// Spare budget, no burn now, every recommender seeing, a large drop,
	// a full window seen and no recent reversal: the slo recommender's
	// shorter scale-down window applies.
	downWin := time.Duration(-1)
	if spare && len(invalid) == 0 && spec.SLO != nil && spec.Behavior != nil {
		full := time.Duration(*spec.Behavior.ScaleDown.StabilizationWindowSeconds) * time.Second
		// Only a large drop (the recommendation a fifth or more and at
		// least two replicas under the current count) is released early:
		// small moves are noise.
		if spec.SLO.SpareDownWindow < full && !now.Before(st.SpareDownOffUntil) &&
			now.Sub(st.Since) >= full && float64(desired) <= 0.8*float64(cur) && cur-desired >= 2 {
			downWin = spec.SLO.SpareDownWindow
		}
	}
	st, d = stabilizeAndLimit(spec, st, d, desired, urgent, panicUp, downWin, reason, now)
	if holdDown && d.Desired < cur {
		d.Desired = cur
		d.Reason += "; scale-down held (" + strings.Join(downHolds, "; ") + ")"
	}
	if downWin >= 0 && d.Desired < cur {
		st.SpareDownAt = now
	}
	d = holdSmallStepUp(spec, st, d, urgent, now)
	d.Action = actionOf(cur, d.Desired)
	st.Last = &d
	return st, d
}

// queueTolerance applies the hpa recommender's tolerance to the queue
// recommender's count, as the HPA applies it to its usage ratio: a count
// within tol of the current one (|count/current − 1| ≤ tol) proposes the
// current count. The queue model's count follows the noise of the rates
// it reads, a replica up or down from one look to the next; without the
// tolerance the max of the recommendations (and the scale-down window's
// highest one) rides that noise up. An urgent or panic count, and any
// larger change, are kept.
func queueTolerance(r Recommendation, cur int32, tol float64) Recommendation {
	if !r.Valid || r.Urgent || r.Panic || cur <= 0 || r.Replicas == cur {
		return r
	}
	if math.Abs(float64(r.Replicas)/float64(cur)-1) <= tol {
		r.Reason += fmt.Sprintf("; %d is within the tolerance %s of the current %d: %d", r.Replicas, fmtNum(tol), cur, cur)
		r.Replicas = cur
	}
	return r
}

// holdSmallStepUp is the queue recommender's hysteresis: within the
// scale-down window of the last scale-down, a scale-up that is not urgent
// and no larger than the tolerance (at most max(1, ⌊tolerance × current⌋)
// replicas) is held. The scale-down found the count enough over a whole
// window; a step that small so soon after is the noise of the load's
// estimate (its count moves by a replica from one look to the next), and
// following it is a reversal. A larger step, a page-tier burn, a jump and a
// panic go through. Without the queue recommender the step is the HPA's,
// unchanged.
func holdSmallStepUp(spec Spec, st State, d Decision, urgent bool, now time.Time) Decision {
	cur := d.Current
	if spec.Queue == nil || urgent || d.Desired <= cur || st.LastDownAt.IsZero() {
		return d
	}
	win := LegacyDownscaleWindow
	if spec.Behavior != nil {
		win = time.Duration(*spec.Behavior.ScaleDown.StabilizationWindowSeconds) * time.Second
	}
	small := max(1, int32(math.Floor(spec.Tolerance*float64(cur))))
	if since := now.Sub(st.LastDownAt); since <= win && d.Desired-cur <= small {
		d.Reason += fmt.Sprintf("; held at %d: a step of %d (within the tolerance) %s after the last scale-down, inside its %s window",
			cur, d.Desired-cur, fmtDur(since.Round(time.Second)), fmtDur(win))
		d.Desired = cur
	}
	return d
}

// stabilizeAndLimit applies the behavior. urgent skips the scale-up
// stabilization; panicUp also lets the count past the scale-up rate limits
// (min and max still apply); downWin, when not negative, replaces the
// scale-down stabilization window.
func stabilizeAndLimit(spec Spec, st State, d Decision, desired int32, urgent, panicUp bool, downWin time.Duration, reason string, now time.Time) (State, Decision) {
	cur := d.Current
	var why string
	final := desired
	if spec.Behavior != nil {
		b := *spec.Behavior
		keep := time.Duration(max(*b.ScaleUp.StabilizationWindowSeconds, *b.ScaleDown.StabilizationWindowSeconds)) * time.Second
		if downWin >= 0 {
			sd := *b.ScaleDown // a copy: the spec's rules stay as they are
			sd.StabilizationWindowSeconds = ptr(int32(downWin / time.Second))
			b.ScaleDown = &sd
			if desired < cur {
				reason += fmt.Sprintf(" (spare budget: scale-down window %s)", fmtDur(downWin))
			}
		}
		stab, w := stabilize(b, st.Recommendations, cur, desired, now, urgent)
		if w != "" {
			why = w
		}
		st.Recommendations = keepRecommendations(st.Recommendations, TimedRecommendation{At: now, Replicas: desired}, now, keep)
		lim, l := limitRate(b, st.UpEvents, st.DownEvents, cur, stab, spec.Min, spec.Max, now)
		if panicUp && stab > lim {
			lim, l = min(stab, spec.Max), "panic: past the scale-up rate limits"
		}
		final = lim
		if lim != stab || panicUp {
			why = joinNonEmpty(why, l)
		}
	} else {
		stab := legacyStabilize(st.Recommendations, desired, now)
		if stab != desired {
			why = fmt.Sprintf("downscale stabilization: highest recommendation of the last %s is %d", fmtDur(LegacyDownscaleWindow), stab)
		}
		st.Recommendations = keepRecommendations(st.Recommendations, TimedRecommendation{At: now, Replicas: desired}, now, LegacyDownscaleWindow)
		lim, l := legacyLimit(cur, stab, spec.Min, spec.Max)
		final = lim
		if lim != stab {
			why = joinNonEmpty(why, l)
		}
	}
	if urgent {
		reason += " (urgent: past the up-stabilization window)"
	}
	d.Desired = final
	d.Reason = joinNonEmpty(reason, why)
	return st, d
}

// finish handles the forced corrections to min/max, as the HPA does
// before looking at metrics.
func finish(spec Spec, st State, d Decision, to int32, reason string) (State, Decision) {
	d.Desired = to
	d.Action = actionOf(d.Current, to)
	d.Reason = reason
	st.Last = &d
	return st, d
}

func actionOf(cur, desired int32) Action {
	switch {
	case desired > cur:
		return ActionScaleUp
	case desired < cur:
		return ActionScaleDown
	}
	return ActionNone
}

// keepRecommendations appends r and drops what is older than window
// (the HPA keeps one slot per look within the longest window).
func keepRecommendations(recs []TimedRecommendation, r TimedRecommendation, now time.Time, window time.Duration) []TimedRecommendation {
	out := recs[:0:0]
	for _, x := range recs {
		if x.At.After(now.Add(-window)) {
			out = append(out, x)
		}
	}
	return append(out, r)
}

// Confirm records a change that the actuator made and that was read back
// as confirmed: it becomes a scale event for the rate limits and the count
// the fight detection expects. A confirmed count other than the one asked
// for is recorded as it is.
func Confirm(spec Spec, st State, from, confirmed int32, now time.Time) State {
	if confirmed > from {
		st.UpEvents = append(st.UpEvents, ScaleEvent{At: now, Change: confirmed - from})
		if spec.Behavior != nil && !st.SpareDownAt.IsZero() {
			full := time.Duration(*spec.Behavior.ScaleDown.StabilizationWindowSeconds) * time.Second
			if now.Sub(st.SpareDownAt) < full {
				st.SpareDownOffUntil = now.Add(6 * full)
			}
		}
	} else if confirmed < from {
		st.DownEvents = append(st.DownEvents, ScaleEvent{At: now, Change: from - confirmed})
		st.LastDownAt = now
	}
	keep := 10 * time.Minute
	if spec.Behavior != nil {
		keep = longestPeriod(*spec.Behavior)
	}
	st.UpEvents = trimEvents(st.UpEvents, now, keep)
	st.DownEvents = trimEvents(st.DownEvents, now, keep)
	st.LastSet, st.LastSetAt = confirmed, now
	return st
}

// Adopt records the count as the autoscaler's own without a change (at
// start and on Resume, which also clears a fight and a pause).
func Adopt(st State, current int32, now time.Time) State {
	st.LastSet, st.LastSetAt = current, now
	st.Fight, st.Paused, st.PauseReason = "", false, ""
	return st
}

func trimEvents(ev []ScaleEvent, now time.Time, keep time.Duration) []ScaleEvent {
	out := ev[:0:0]
	for _, e := range ev {
		if e.At.After(now.Add(-keep)) {
			out = append(out, e)
		}
	}
	return out
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return math.Min(1, x)
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
