package autoscale

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// This file ports the HPA's behavior (autoscaling/v2
// HorizontalPodAutoscalerBehavior; kubernetes/kubernetes
// pkg/controller/podautoscaler/horizontal.go: stabilizeRecommendationWithBehaviors,
// convertDesiredReplicasWithBehaviorRate, calculateScaleUpLimitWithScalingRules,
// calculateScaleDownLimitWithBehaviors, storeScaleEvent; defaults from
// pkg/apis/autoscaling/v2/defaults.go) and the legacy path used when no
// behavior is set (stabilizeRecommendation, convertDesiredReplicasWithRules).

// PolicyType is the kind of a scaling policy.
type PolicyType string

// The HPA's policy types.
const (
	PodsPolicy    PolicyType = "Pods"
	PercentPolicy PolicyType = "Percent"
)

// SelectPolicy picks among several policies' limits.
type SelectPolicy string

// The HPA's select policies.
const (
	// SelectMax allows the largest change (the default).
	SelectMax SelectPolicy = "Max"
	// SelectMin allows the smallest change.
	SelectMin SelectPolicy = "Min"
	// SelectDisabled forbids changes in that direction.
	SelectDisabled SelectPolicy = "Disabled"
)

// Policy limits the change over a period: Value pods, or Value percent of
// the count at the start of the period.
type Policy struct {
	Type          PolicyType `json:"type" yaml:"type"`
	Value         int32      `json:"value" yaml:"value"`
	PeriodSeconds int32      `json:"periodSeconds" yaml:"periodSeconds"`
}

// Rules is one direction's behavior, in the HPA's schema.
type Rules struct {
	// StabilizationWindowSeconds: nil means the default (0 up, 300 down).
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty" yaml:"stabilizationWindowSeconds,omitempty"`
	// SelectPolicy: nil means Max.
	SelectPolicy *SelectPolicy `json:"selectPolicy,omitempty" yaml:"selectPolicy,omitempty"`
	// Policies: empty means the default policies of the direction.
	Policies []Policy `json:"policies,omitempty" yaml:"policies,omitempty"`
	// Tolerance, when set, overrides the tolerance in this direction
	// (the HPA's configurable tolerance, autoscaling/v2 1.33+).
	Tolerance *float64 `json:"tolerance,omitempty" yaml:"tolerance,omitempty"`
}

// Behavior is the HPA's behavior field: scale-up and scale-down rules.
type Behavior struct {
	ScaleUp   *Rules `json:"scaleUp,omitempty" yaml:"scaleUp,omitempty"`
	ScaleDown *Rules `json:"scaleDown,omitempty" yaml:"scaleDown,omitempty"`
}

func ptr[T any](v T) *T { return &v }

// DefaultScaleUp is the HPA's default scale-up rule: no stabilization,
// at most 4 pods or 100% per 15 s, whichever allows more.
func DefaultScaleUp() Rules {
	return Rules{
		StabilizationWindowSeconds: ptr(int32(0)),
		SelectPolicy:               ptr(SelectMax),
		Policies:                   []Policy{{PodsPolicy, 4, 15}, {PercentPolicy, 100, 15}},
	}
}

// DefaultScaleDown is the HPA's default scale-down rule: a 300 s
// stabilization window, then up to 100% per 15 s.
func DefaultScaleDown() Rules {
	return Rules{
		StabilizationWindowSeconds: ptr(int32(300)),
		SelectPolicy:               ptr(SelectMax),
		Policies:                   []Policy{{PercentPolicy, 100, 15}},
	}
}

// WithDefaults fills the unset fields as the HPA's defaulting does
// (SetDefaults_HorizontalPodAutoscalerBehavior): each field of each
// direction on its own.
func (b Behavior) WithDefaults() Behavior {
	fill := func(r *Rules, d Rules) *Rules {
		out := d
		if r == nil {
			return &out
		}
		out = *r
		if out.StabilizationWindowSeconds == nil {
			out.StabilizationWindowSeconds = d.StabilizationWindowSeconds
		}
		if out.SelectPolicy == nil {
			out.SelectPolicy = d.SelectPolicy
		}
		if len(out.Policies) == 0 {
			out.Policies = d.Policies
		}
		return &out
	}
	return Behavior{ScaleUp: fill(b.ScaleUp, DefaultScaleUp()), ScaleDown: fill(b.ScaleDown, DefaultScaleDown())}
}

// Validate checks the rules as the HPA's validation does.
func (b Behavior) Validate() error {
	var errs []error
	check := func(dir string, r *Rules) {
		if r == nil {
			return
		}
		if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > 3600) {
			errs = append(errs, fmt.Errorf("%s.stabilizationWindowSeconds: %d is not within 0..3600", dir, *w))
		}
		if s := r.SelectPolicy; s != nil && *s != SelectMax && *s != SelectMin && *s != SelectDisabled {
			errs = append(errs, fmt.Errorf("%s.selectPolicy: %q is not one of Max, Min, Disabled", dir, *s))
		}
		if t := r.Tolerance; t != nil && (*t < 0 || math.IsNaN(*t) || *t >= 1) {
			errs = append(errs, fmt.Errorf("%s.tolerance: %v is not within [0, 1)", dir, *t))
		}
		for i, p := range r.Policies {
			at := fmt.Sprintf("%s.policies[%d]", dir, i)
			if p.Type != PodsPolicy && p.Type != PercentPolicy {
				errs = append(errs, fmt.Errorf("%s.type: %q is not one of Pods, Percent", at, p.Type))
			}
			if p.Value <= 0 {
				errs = append(errs, fmt.Errorf("%s.value: %d must be positive", at, p.Value))
			}
			if p.PeriodSeconds <= 0 || p.PeriodSeconds > 1800 {
				errs = append(errs, fmt.Errorf("%s.periodSeconds: %d is not within 1..1800", at, p.PeriodSeconds))
			}
		}
	}
	check("scaleUp", b.ScaleUp)
	check("scaleDown", b.ScaleDown)
	return errors.Join(errs...)
}

// TimedRecommendation is a recommendation kept for the stabilization
// windows.
type TimedRecommendation struct {
	At       time.Time `json:"at"`
	Replicas int32     `json:"replicas"`
}

// ScaleEvent is a change the controller made, kept for the rate limits.
type ScaleEvent struct {
	At     time.Time `json:"at"`
	Change int32     `json:"change"`
}

// stabilize is stabilizeRecommendationWithBehaviors: the result is the
// current count clamped between the lowest recommendation of the up
// window and the highest of the down window (both including desired).
// With skipUp the up window is ignored (an urgent scale-up).
func stabilize(b Behavior, recs []TimedRecommendation, current, desired int32, now time.Time, skipUp bool) (int32, string) {
	upWin := time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second
	downWin := time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second
	up, down := desired, desired
	for _, r := range recs {
		if !skipUp && r.At.After(now.Add(-upWin)) {
			up = min(up, r.Replicas)
		}
		if r.At.After(now.Add(-downWin)) {
			down = max(down, r.Replicas)
		}
	}
	rec := current
	if rec < up {
		rec = up
	}
	if rec > down {
		rec = down
	}
	switch {
	case rec == desired:
		return rec, ""
	case rec > desired:
		return rec, fmt.Sprintf("scale-down stabilization: highest recommendation of the last %s is %d", fmtDur(downWin), rec)
	default:
		return rec, fmt.Sprintf("scale-up stabilization: lowest recommendation of the last %s is %d", fmtDur(upWin), rec)
	}
}

// changeInPeriod is getReplicasChangePerPeriod.
func changeInPeriod(periodSeconds int32, events []ScaleEvent, now time.Time) int32 {
	cut := now.Add(-time.Duration(periodSeconds) * time.Second)
	var n int32
	for _, e := range events {
		if e.At.After(cut) {
			n += e.Change
		}
	}
	return n
}

// scaleUpLimit is calculateScaleUpLimitWithScalingRules.
func scaleUpLimit(current int32, upEvents, downEvents []ScaleEvent, r Rules, now time.Time) int32 {
	return scaleLimit(true, current, upEvents, downEvents, r, now)
}

// scaleDownLimit is calculateScaleDownLimitWithBehaviors.
func scaleDownLimit(current int32, upEvents, downEvents []ScaleEvent, r Rules, now time.Time) int32 {
	return scaleLimit(false, current, upEvents, downEvents, r, now)
}

// scaleLimit is the bound r's policies put on a scale-up (up) or a
// scale-down from current, given the changes of their periods: each
// policy proposes a bound from the count at the start of its period;
// select Max takes the one allowing the largest change (the highest bound
// up, the lowest down), Min the smallest.
func scaleLimit(up bool, current int32, upEvents, downEvents []ScaleEvent, r Rules, now time.Time) int32 {
	sel := *r.SelectPolicy
	if sel == SelectDisabled {
		return current
	}
	higher := up == (sel != SelectMin)
	result := int32(math.MaxInt32)
	pick := func(a, b int32) int32 { return min(a, b) }
	if higher {
		result = math.MinInt32
		pick = func(a, b int32) int32 { return max(a, b) }
	}
	for _, p := range r.Policies {
		added := changeInPeriod(p.PeriodSeconds, upEvents, now)
		deleted := changeInPeriod(p.PeriodSeconds, downEvents, now)
		start := current - added + deleted
		var proposed int32
		switch {
		case p.Type == PodsPolicy && up:
			proposed = start + p.Value
		case p.Type == PodsPolicy:
			proposed = start - p.Value
		case up:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		default:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// limitRate is convertDesiredReplicasWithBehaviorRate: the rate limits
// and min/max.
func limitRate(b Behavior, upEvents, downEvents []ScaleEvent, current, desired, minR, maxR int32, now time.Time) (int32, string) {
	if desired > current {
		lim := scaleUpLimit(current, upEvents, downEvents, *b.ScaleUp, now)
		if lim < current {
			lim = current // never scale down while scaling up
		}
		if maxR < lim {
			if desired > maxR {
				return maxR, fmt.Sprintf("capped at max %d", maxR)
			}
		} else if desired > lim {
			if *b.ScaleUp.SelectPolicy == SelectDisabled {
				return lim, "scale-up is disabled by the behavior"
			}
			return lim, fmt.Sprintf("scale-up limited to %d by the behavior's policies", lim)
		}
	} else if desired < current {
		lim := scaleDownLimit(current, upEvents, downEvents, *b.ScaleDown, now)
		if lim > current {
			lim = current
		}
		if minR > lim {
			if desired < minR {
				return minR, fmt.Sprintf("held at min %d", minR)
			}
		} else if desired < lim {
			if *b.ScaleDown.SelectPolicy == SelectDisabled {
				return lim, "scale-down is disabled by the behavior"
			}
			return lim, fmt.Sprintf("scale-down limited to %d by the behavior's policies", lim)
		}
	}
	return desired, "within range"
}

// Legacy path (no behavior): the constants of horizontal.go.
const (
	legacyScaleUpFactor  = 2.0
	legacyScaleUpMinimum = 4
	// LegacyDownscaleWindow is the HPA's default
	// --horizontal-pod-autoscaler-downscale-stabilization.
	LegacyDownscaleWindow = 5 * time.Minute
)

// legacyStabilize is stabilizeRecommendation: the highest recommendation
// of the downscale window (desired included).
func legacyStabilize(recs []TimedRecommendation, desired int32, now time.Time) int32 {
	best := desired
	for _, r := range recs {
		if r.At.After(now.Add(-LegacyDownscaleWindow)) && r.Replicas > best {
			best = r.Replicas
		}
	}
	return best
}

// legacyLimit is convertDesiredReplicasWithRules.
func legacyLimit(current, desired, minR, maxR int32) (int32, string) {
	up := int32(math.Max(legacyScaleUpFactor*float64(current), legacyScaleUpMinimum))
	maxAllowed, why := maxR, fmt.Sprintf("capped at max %d", maxR)
	if maxR > up {
		maxAllowed, why = up, fmt.Sprintf("scale-up limited to %d (twice the current count, at least 4)", up)
	}
	if desired < minR {
		return minR, fmt.Sprintf("held at min %d", minR)
	}
	if desired > maxAllowed {
		return maxAllowed, why
	}
	return desired, "within range"
}

// longestPeriod is the longest policy period of a behavior, for trimming
// events.
func longestPeriod(b Behavior) time.Duration {
	var p int32
	for _, r := range []*Rules{b.ScaleUp, b.ScaleDown} {
		for _, x := range r.Policies {
			p = max(p, x.PeriodSeconds)
		}
	}
	return time.Duration(p) * time.Second
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	for _, suf := range []string{"m0s", "h0m"} {
		if len(s) > len(suf) && s[len(s)-len(suf):] == suf {
			s = s[:len(s)-len(suf)+1]
		}
	}
	return s
}
