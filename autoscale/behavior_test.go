package autoscale

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// rules is upstream's generateScalingRules: Max select policy, a Pods
// policy and a Percent policy when their values are not 0.
func rules(pods, podsPeriod, percent, percentPeriod, window int32) *Rules {
	r := &Rules{StabilizationWindowSeconds: ptr(window), SelectPolicy: ptr(SelectMax)}
	if pods != 0 {
		r.Policies = append(r.Policies, Policy{PodsPolicy, pods, podsPeriod})
	}
	if percent != 0 {
		r.Policies = append(r.Policies, Policy{PercentPolicy, percent, percentPeriod})
	}
	return r
}

// events is upstream's generateEventsUniformDistribution([1, 5, 9], 120):
// the changes 100 s, 60 s (just over) and 20 s before now.
func events(now time.Time) []ScaleEvent {
	return []ScaleEvent{{now.Add(-100 * time.Second), 1}, {now.Add(-60*time.Second - time.Millisecond), 5}, {now.Add(-20 * time.Second), 9}}
}

// TestScalingWithRules reproduces the cases of upstream's
// TestScalingWithRules (convertDesiredReplicasWithBehaviorRate), by name.
func TestScalingWithRules(t *testing.T) {
	tests := []struct {
		name                   string
		up                     []ScaleEvent
		min, max               int32
		upRules, downRules     *Rules
		current, desired, want int32
	}{
		{name: "prenormalized desired replicas within range", min: 3, max: 8, current: 5, desired: 7, want: 7},
		{name: "prenormalized desired replicas < minReplicas", min: 2, max: 8, current: 3, desired: 1, want: 2},
		{name: "prenormalized desired replicas within range when minReplicas is 0", min: 0, max: 10, current: 1, desired: 0, want: 0},
		{name: "maxReplicas is the limit because maxReplicas < scaleUpLimit", min: 1, max: 10, current: 20, desired: 1000, want: 10},
		{name: "desired replica count is more than the maximum replica count", min: 100, max: 150, current: 100, desired: 1000, want: 150},
		{name: "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", min: 1, max: 2000, current: 3, desired: 1000, want: 4, upRules: rules(0, 0, 1, 60, 0)},
		{name: "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies", min: 3, max: 2000, current: 1000, desired: 3, want: 980, downRules: rules(20, 60, 0, 0, 0)},
		{name: "scaleUp with default behavior", min: 1, max: 1000, current: 10, desired: 50, want: 20},
		{name: "scaleUp with pods policy larger than percent policy", min: 1, max: 1000, upRules: rules(100, 60, 100, 60, 0), current: 10, desired: 500, want: 110},
		{name: "scaleUp with percent policy larger than pods policy", min: 1, max: 1000, upRules: rules(2, 60, 100, 60, 0), current: 10, desired: 500, want: 20},
		{name: "scaleUp with spec MaxReplicas limitation with large pod policy", min: 1, max: 1000, upRules: rules(100, 60, 0, 0, 0), current: 10, desired: 50, want: 50},
		{name: "scaleUp with pod policy limitation", min: 1, max: 1000, upRules: rules(30, 60, 0, 0, 0), current: 10, desired: 50, want: 40},
		{name: "scaleUp with percent policy limitation", min: 1, max: 1000, upRules: rules(0, 0, 200, 60, 0), current: 10, desired: 50, want: 30},
		{name: "scaleDown with percent policy larger than pod policy", min: 1, max: 1000, downRules: rules(20, 60, 1, 60, 300), current: 100, desired: 2, want: 80},
		{name: "scaleDown with pod policy larger than percent policy", min: 1, max: 1000, downRules: rules(2, 60, 1, 60, 300), current: 100, desired: 2, want: 98},
		{name: "scaleDown with spec MinReplicas limitation with large pod policy", min: 1, max: 1000, downRules: rules(100, 60, 0, 0, 300), current: 10, desired: 0, want: 1},
		{name: "scaleDown with spec MinReplicas limitation with large percent policy", min: 5, max: 1000, downRules: rules(0, 0, 100, 60, 300), current: 10, desired: 2, want: 5},
		{name: "scaleDown with pod policy limitation", min: 1, max: 1000, downRules: rules(5, 60, 0, 0, 300), current: 10, desired: 2, want: 5},
		{name: "scaleDown with percent policy limitation", min: 1, max: 1000, downRules: rules(0, 0, 50, 60, 300), current: 10, desired: 5, want: 5},
		{name: "scaleUp with spec MaxReplicas limitation with large pod policy and events", up: events(t0), min: 1, max: 200, upRules: rules(300, 60, 0, 0, 0), current: 100, desired: 500, want: 200},
		{name: "scaleUp with spec MaxReplicas limitation with large percent policy and events", up: events(t0), min: 1, max: 200, upRules: rules(0, 0, 10000, 60, 0), current: 100, desired: 500, want: 200},
		{name: "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events", up: events(t0), min: 1, max: 1000, upRules: rules(5, 120, 0, 0, 0), current: 100, desired: 500, want: 100},
		{name: "scaleUp with pod policy and previous scale up events", up: events(t0), min: 1, max: 1000, upRules: rules(150, 120, 0, 0, 0), current: 100, desired: 500, want: 235},
		{name: "disabled scale-up holds the count", min: 1, max: 1000, upRules: &Rules{SelectPolicy: ptr(SelectDisabled)}, current: 10, desired: 50, want: 10},
		{name: "Min select policy picks the smaller change", min: 1, max: 1000, upRules: &Rules{SelectPolicy: ptr(SelectMin), Policies: []Policy{{PodsPolicy, 4, 60}, {PercentPolicy, 100, 60}}}, current: 10, desired: 50, want: 14},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := Behavior{ScaleUp: tc.upRules, ScaleDown: tc.downRules}.WithDefaults()
			got, why := limitRate(b, tc.up, nil, tc.current, tc.desired, tc.min, tc.max, t0)
			if got != tc.want {
				t.Fatalf("got %d (%s), want %d", got, why, tc.want)
			}
		})
	}
}

// TestNormalizeDesiredReplicas reproduces upstream's TestNormalizeDesiredReplicas
// (the legacy path's 5-minute downscale stabilization).
func TestNormalizeDesiredReplicas(t *testing.T) {
	ago := func(m int) time.Time { return t0.Add(-time.Duration(m) * time.Minute) }
	tests := map[string]struct {
		recs          []TimedRecommendation
		desired, want int32
	}{
		"empty log":                          {nil, 5, 5},
		"stabilize":                          {[]TimedRecommendation{{ago(2), 4}, {ago(1), 5}}, 3, 5},
		"no stabilize":                       {[]TimedRecommendation{{ago(2), 1}, {ago(1), 2}}, 3, 3},
		"no stabilize - old recommendations": {[]TimedRecommendation{{ago(10), 10}, {ago(9), 9}}, 3, 3},
		"stabilize - old recommendations":    {[]TimedRecommendation{{ago(10), 10}, {ago(1), 4}, {ago(2), 5}, {ago(9), 9}}, 3, 5},
	}
	for name, tc := range tests {
		if got := legacyStabilize(tc.recs, tc.desired, t0); got != tc.want {
			t.Errorf("%s: got %d, want %d", name, got, tc.want)
		}
	}
}

// The legacy rules (convertDesiredReplicasWithRules): scale-up at most
// max(2 × current, 4), then min/max.
func TestLegacyLimit(t *testing.T) {
	tests := map[string]struct{ current, desired, min, max, want int32 }{
		"from 1 at most 4":               {1, 100, 1, 100, 4},
		"from 10 at most 20":             {10, 100, 1, 100, 20},
		"max below the scale-up limit":   {10, 100, 1, 15, 15},
		"min":                            {10, 0, 2, 100, 2},
		"scale-down is not rate limited": {10, 3, 1, 100, 3},
	}
	for name, tc := range tests {
		if got, _ := legacyLimit(tc.current, tc.desired, tc.min, tc.max); got != tc.want {
			t.Errorf("%s: got %d, want %d", name, got, tc.want)
		}
	}
}

// Stabilization with behavior (stabilizeRecommendationWithBehaviors): the
// current count clamped between the up window's lowest and the down
// window's highest recommendation.
func TestStabilizeWithBehavior(t *testing.T) {
	b := Behavior{ScaleUp: rules(4, 15, 100, 15, 60)}.WithDefaults() // up window 60 s, down 300 s
	recs := []TimedRecommendation{{t0.Add(-250 * time.Second), 9}, {t0.Add(-30 * time.Second), 6}}
	tests := map[string]struct {
		current, desired, want int32
		urgent                 bool
	}{
		"scale-down held by the down window's highest": {current: 8, desired: 3, want: 8},
		"scale-down to the down window's highest":      {current: 10, desired: 3, want: 9},
		"scale-up held by the up window's lowest":      {current: 4, desired: 12, want: 6},
		"an urgent scale-up skips the up window":       {current: 4, desired: 12, want: 12, urgent: true},
	}
	for name, tc := range tests {
		if got, why := stabilize(b, recs, tc.current, tc.desired, t0, tc.urgent); got != tc.want {
			t.Errorf("%s: got %d (%s), want %d", name, got, why, tc.want)
		}
	}
}

func TestBehaviorDefaultsAndValidation(t *testing.T) {
	b := Behavior{}.WithDefaults()
	if *b.ScaleUp.StabilizationWindowSeconds != 0 || *b.ScaleDown.StabilizationWindowSeconds != 300 ||
		len(b.ScaleUp.Policies) != 2 || len(b.ScaleDown.Policies) != 1 || *b.ScaleUp.SelectPolicy != SelectMax {
		t.Fatalf("defaults: %+v %+v", *b.ScaleUp, *b.ScaleDown)
	}
	// A set field keeps its value; the others take the defaults.
	b = Behavior{ScaleDown: &Rules{StabilizationWindowSeconds: ptr(int32(60))}}.WithDefaults()
	if *b.ScaleDown.StabilizationWindowSeconds != 60 || len(b.ScaleDown.Policies) != 1 {
		t.Fatalf("partial: %+v", *b.ScaleDown)
	}
	bad := Behavior{ScaleUp: &Rules{StabilizationWindowSeconds: ptr(int32(-1)), SelectPolicy: ptr(SelectPolicy("Most")),
		Policies: []Policy{{"Replicas", 0, 0}}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"scaleUp.stabilizationWindowSeconds", "scaleUp.selectPolicy", "scaleUp.policies[0].type", "scaleUp.policies[0].value", "scaleUp.policies[0].periodSeconds"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestConvertDesiredReplicasWithRules reproduces upstream's cases of the
// legacy conversion. Upstream's test file raises scaleUpLimitFactor to 8;
// the last case uses the controller's real factor 2 (limit max(2×3, 4) = 6).
func TestConvertDesiredReplicasWithRules(t *testing.T) {
	tests := []struct {
		name                       string
		current, desired, min, max int32
		want                       int32
	}{
		{"prenormalized desired replicas within range", 5, 7, 3, 8, 7},
		{"prenormalized desired replicas < minReplicas", 3, 1, 2, 8, 2},
		{"prenormalized desired zeroed replicas within range", 1, 0, 0, 10, 0},
		{"maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, 10},
		{"scaleUpLimit is the limit because scaleUpLimit < maxReplicas", 3, 1000, 1, 2000, 6},
	}
	for _, tc := range tests {
		if got, _ := legacyLimit(tc.current, tc.desired, tc.min, tc.max); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestCalculateScaleUpLimitWithScalingRules and
// TestCalculateScaleDownLimitWithBehaviors reproduce upstream's tests of
// the Min select policy.
func TestCalculateScaleUpLimitWithScalingRules(t *testing.T) {
	r := Rules{StabilizationWindowSeconds: ptr(int32(300)), SelectPolicy: ptr(SelectMin),
		Policies: []Policy{{PodsPolicy, 2, 60}, {PercentPolicy, 50, 60}}}
	if got := scaleUpLimit(1, nil, nil, r, t0); got != 2 {
		t.Fatalf("got %d, want 2", got)
	}
}

func TestCalculateScaleDownLimitWithBehaviors(t *testing.T) {
	r := Rules{StabilizationWindowSeconds: ptr(int32(300)), SelectPolicy: ptr(SelectMin),
		Policies: []Policy{{PodsPolicy, 2, 60}, {PercentPolicy, 50, 60}}}
	if got := scaleDownLimit(5, nil, nil, r, t0); got != 3 {
		t.Fatalf("got %d, want 3", got)
	}
}
