package autoscale

import (
	"errors"
	"math"
	"time"
)

// KPAConfig is Knative's Pod Autoscaler configuration (the
// config-autoscaler ConfigMap and the revision's containerConcurrency).
type KPAConfig struct {
	// ContainerConcurrency is the revision's hard concurrency limit (0 =
	// unlimited, then ContainerConcurrencyTargetDefault is the total).
	ContainerConcurrency float64
	// ContainerConcurrencyTargetDefault (default 100) and
	// TargetUtilization (container-concurrency-target-percentage, 70%).
	ContainerConcurrencyTargetDefault float64
	TargetUtilization                 float64
	// StableWindow (60 s), PanicWindowPercentage (10: a 6 s panic
	// window), PanicThreshold (200%: 2.0).
	StableWindow          time.Duration
	PanicWindowPercentage float64
	PanicThreshold        float64
	// MaxScaleUpRate (1000) and MaxScaleDownRate (2) bound one decision
	// relative to the ready pods.
	MaxScaleUpRate, MaxScaleDownRate float64
	// TickInterval is how often the decider runs (2 s).
	TickInterval time.Duration
}

// DefaultKPAConfig is Knative Serving's default config-autoscaler
// (knative/serving pkg/autoscaler/config/config.go, defaultConfig) for a
// revision whose containerConcurrency is cc.
func DefaultKPAConfig(cc int) KPAConfig {
	return KPAConfig{
		ContainerConcurrency:              float64(cc),
		ContainerConcurrencyTargetDefault: 100,
		TargetUtilization:                 0.7,
		StableWindow:                      60 * time.Second,
		PanicWindowPercentage:             10,
		PanicThreshold:                    2.0,
		MaxScaleUpRate:                    1000,
		MaxScaleDownRate:                  2,
		TickInterval:                      2 * time.Second,
	}
}

// Target is the per-pod concurrency the KPA aims for:
// max(1, total × utilization), where total is containerConcurrency or,
// when unlimited, the default target (pkg/reconciler/autoscaling/resources/
// target.go, ResolveMetricTarget).
func (c KPAConfig) Target() float64 {
	total := c.ContainerConcurrency
	if total == 0 {
		total = c.ContainerConcurrencyTargetDefault
	}
	return math.Max(1, total*c.TargetUtilization)
}

// PanicWindow is StableWindow × PanicWindowPercentage / 100.
func (c KPAConfig) PanicWindow() time.Duration {
	return time.Duration(float64(c.StableWindow) * c.PanicWindowPercentage / 100)
}

// Validate applies the ConfigMap's own checks (config.go, validate).
func (c KPAConfig) Validate() error {
	if c.MaxScaleUpRate <= 1 || c.MaxScaleDownRate <= 1 {
		return errors.New("kpa: max-scale-up-rate and max-scale-down-rate must be > 1")
	}
	if c.StableWindow < 6*time.Second || c.StableWindow > time.Hour {
		return errors.New("kpa: stable-window must be in [6s, 1h]")
	}
	if c.PanicWindowPercentage < 1 || c.PanicWindowPercentage > 100 {
		return errors.New("kpa: panic-window-percentage must be in [1, 100]")
	}
	if c.TargetUtilization <= 0 || c.TargetUtilization > 1 || c.PanicThreshold <= 0 || c.TickInterval <= 0 {
		return errors.New("kpa: target utilization in (0, 1], panic threshold and tick > 0")
	}
	return nil
}

// KPA is the state of Knative's decider for one revision: the panic mode
// and the highest count asked for while panicking.
type KPA struct {
	cfg          KPAConfig
	panicTime    time.Time
	maxPanicPods int
}

// NewKPA starts a decider. As Knative's newAutoscaler does, it starts in
// panic mode when more than one pod is ready, so that a restart does not
// scale down before the windows fill.
func NewKPA(cfg KPAConfig, ready int, now time.Time) (*KPA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k := &KPA{cfg: cfg}
	if ready > 1 {
		k.panicTime = now
		k.maxPanicPods = ready
	}
	return k, nil
}

// Panicking reports whether the decider is in panic mode.
func (k *KPA) Panicking() bool { return !k.panicTime.IsZero() }

// Scale is one decision (knative/serving pkg/autoscaler/scaling/
// autoscaler.go, Scale): stable and panic desired counts are
// ceil(observed total concurrency / target), each kept within
// [floor(ready / MaxScaleDownRate), ceil(ready × MaxScaleUpRate)]; the
// decider panics when the panic count reaches PanicThreshold × ready,
// stays in panic while that holds and for a stable window after, and while
// panicking takes the larger of the two counts and never goes below the
// highest count it asked for during the panic. ok is false when there is
// no data (no decision, as Knative's invalidSR).
func (k *KPA) Scale(readyPods int, stable, panic float64, hasData bool, now time.Time) (desired int, ok bool) {
	if !hasData {
		return 0, false
	}
	ready := math.Max(1, float64(readyPods))
	maxUp := math.Ceil(k.cfg.MaxScaleUpRate * ready)
	maxDown := math.Floor(ready / k.cfg.MaxScaleDownRate)
	target := k.cfg.Target()
	dspc := math.Ceil(stable / target)
	dppc := math.Ceil(panic / target)
	stablePods := int(math.Min(math.Max(dspc, maxDown), maxUp))
	panicPods := int(math.Min(math.Max(dppc, maxDown), maxUp))

	over := dppc/ready >= k.cfg.PanicThreshold
	switch {
	case k.panicTime.IsZero() && over:
		k.panicTime = now
	case over:
		k.panicTime = now
	case !k.panicTime.IsZero() && k.panicTime.Add(k.cfg.StableWindow).Before(now):
		k.panicTime = time.Time{}
		k.maxPanicPods = 0
	}
	desired = stablePods
	if !k.panicTime.IsZero() {
		desired = max(desired, panicPods)
		if desired > k.maxPanicPods {
			k.maxPanicPods = desired
		}
		desired = k.maxPanicPods
	}
	return desired, true
}

// KnativeKPA is the KPA peer with Knative's defaults, for a revision
// whose containerConcurrency is the service's worker count (so its target
// is 70% of it). It reads concurrency every second from the pods, as
// Knative's collector scrapes the queue-proxies, not from Prometheus; its
// activator, which only changes routing, is not modelled.
func KnativeKPA() Peer {
	return Peer{Name: "knative-kpa", New: func(env Env) (Policy, error) {
		k, err := NewKPA(DefaultKPAConfig(env.Service.Workers), env.Initial, env.Start)
		if err != nil {
			return nil, err
		}
		return &kpaPolicy{k: k, max: env.Max}, nil
	}}
}

type kpaPolicy struct {
	k   *KPA
	max int
}

func (p *kpaPolicy) Period() time.Duration { return p.k.cfg.TickInterval }

func (p *kpaPolicy) Decide(obs Observation) int {
	stable, ok := obs.ConcurrencyWindow(p.k.cfg.StableWindow)
	panic, _ := obs.ConcurrencyWindow(p.k.cfg.PanicWindow())
	d, valid := p.k.Scale(obs.Ready, stable, panic, ok, obs.Now)
	if !valid {
		return obs.Spec
	}
	return min(max(d, 1), p.max)
}
