package autoscale

import (
	"fmt"
	"math"
	"time"

	as "github.com/vaneproj/vane/autoscale"
)

// stepPolicy runs package autoscale's pure Step, the code Vane's
// controller runs live, on what the simulation observes, and confirms every
// change it makes (the actuator reads the count back at once here).
type stepPolicy struct {
	spec   as.Spec
	st     as.State
	period time.Duration
	inputs func(obs Observation) as.Inputs
}

func newStepPolicy(spec as.Spec, period time.Duration, inputs func(Observation) as.Inputs) (*stepPolicy, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &stepPolicy{spec: spec, st: as.NewState(spec.Name), period: period, inputs: inputs}, nil
}

func (p *stepPolicy) Period() time.Duration { return p.period }

func (p *stepPolicy) Decide(obs Observation) int {
	in := p.inputs(obs)
	in.Scale = as.Scale{Desired: int32(obs.Spec), Ready: int32(obs.Ready)}
	in.ObservedAt = obs.Now
	var d as.Decision
	p.st, d = as.Step(p.spec, p.st, in, obs.Now)
	if d.Action == as.ActionHold || d.Desired == d.Current {
		return obs.Spec
	}
	p.st = as.Confirm(p.spec, p.st, d.Current, d.Desired, obs.Now)
	return int(d.Desired)
}

// cpuMetric is the HPA's resource metric on CPU as metrics-server feeds
// it (kubernetes/kubernetes pkg/controller/podautoscaler/
// replica_calculator.go, groupPods): a pod that is not ready yet is
// pending (unready); a ready pod without a sample yet is missing; a ready
// pod's sample counts once a full metric window (15 s) follows its
// readiness, which the simulation's samples always do. Each worker
// requests one CPU.
func cpuMetric(obs Observation, workers int, target float64) as.MetricInput {
	m := as.MetricInput{Name: "cpu", Target: as.MetricTarget{Type: as.Utilization, Value: 100 * target}}
	for _, p := range obs.Pods {
		m.Pods = append(m.Pods, as.PodSample{Name: p.Name, Ready: p.Ready && p.HasCPU,
			HasValue: p.HasCPU, Value: p.CPU * float64(workers), Request: float64(workers)})
	}
	return m
}

// KubernetesHPA is the Kubernetes HorizontalPodAutoscaler, through the
// port in package autoscale, with the behavior defaults (autoscaling/v2),
// syncing every 15 s on CPU utilization with a 70% target.
func KubernetesHPA() Peer {
	return Peer{Name: "hpa", New: func(env Env) (Policy, error) {
		spec := as.Spec{Name: "hpa", Min: 1, Max: int32(env.Max), Behavior: &as.Behavior{},
			Metrics: []as.MetricSpec{{Name: "cpu", Target: as.MetricTarget{Type: as.Utilization, Value: 100 * TargetUtilization}}}}
		w := env.Service.Workers
		return newStepPolicy(spec, 15*time.Second, func(obs Observation) as.Inputs {
			return as.Inputs{Metrics: []as.MetricInput{cpuMetric(obs, w, TargetUtilization)}}
		})
	}}
}

// KEDAConfig is a ScaledObject with one Prometheus trigger.
type KEDAConfig struct {
	// Query is the trigger's PromQL; Threshold its target per replica (an
	// AverageValue external metric for the HPA KEDA creates);
	// ActivationThreshold the value above which the target is active.
	Threshold, ActivationThreshold float64
	// PollingInterval (30 s) is how often KEDA checks activation;
	// CooldownPeriod (300 s) how long after the last active check it
	// scales to MinReplicaCount 0.
	PollingInterval, CooldownPeriod  time.Duration
	MinReplicaCount, MaxReplicaCount int
}

// KEDA is the KEDA operator's activation loop around the HPA it creates
// (keda.sh/docs ScaledObject specification and Prometheus scaler): every
// PollingInterval the scaler's value decides activation (value >
// ActivationThreshold; an empty or NaN result reads 0, ignoreNullValues);
// an inactive target whose last activity is CooldownPeriod old goes to
// MinReplicaCount when that is 0, and an active target at 0 goes to 1. In
// between, the HPA (min max(1, MinReplicaCount), default behavior) scales
// on the external metric, which KEDA's metrics server reads from the
// scaler on each HPA request (useCachedMetrics false, the default).
type KEDA struct {
	cfg        KEDAConfig
	hpa        *stepPolicy
	lastPoll   time.Time
	lastActive time.Time
	value      float64
}

// NewKEDA builds the operator's state for a target that starts at
// replicas.
func NewKEDA(cfg KEDAConfig, now time.Time) (*KEDA, error) {
	if !(cfg.Threshold > 0) || cfg.ActivationThreshold < 0 || cfg.PollingInterval <= 0 || cfg.CooldownPeriod < 0 {
		return nil, fmt.Errorf("keda: threshold > 0, activation ≥ 0, polling interval > 0, cooldown ≥ 0")
	}
	spec := as.Spec{Name: "keda-hpa", Min: int32(max(1, cfg.MinReplicaCount)), Max: int32(cfg.MaxReplicaCount),
		Behavior: &as.Behavior{},
		Metrics:  []as.MetricSpec{{Name: "s0-prometheus", Target: as.MetricTarget{Type: as.AverageValue, Value: cfg.Threshold}}}}
	k := &KEDA{cfg: cfg, lastActive: now}
	var err error
	k.hpa, err = newStepPolicy(spec, 15*time.Second, func(Observation) as.Inputs {
		return as.Inputs{Metrics: []as.MetricInput{{Name: "s0-prometheus", Value: k.value,
			Target: as.MetricTarget{Type: as.AverageValue, Value: cfg.Threshold}}}}
	})
	return k, err
}

// Decide runs at the HPA's 15 s sync: value is the scaler's query result
// (ok false: empty or NaN).
func (k *KEDA) Decide(obs Observation, value float64, ok bool) int {
	if !ok || math.IsNaN(value) {
		value = 0
	}
	k.value = value
	if obs.Now.Sub(k.lastPoll) >= k.cfg.PollingInterval {
		k.lastPoll = obs.Now
		if value > k.cfg.ActivationThreshold {
			k.lastActive = obs.Now
			if obs.Spec == 0 {
				return 1
			}
		} else if k.cfg.MinReplicaCount == 0 && obs.Spec > 0 && obs.Now.Sub(k.lastActive) >= k.cfg.CooldownPeriod {
			return 0
		}
	}
	if obs.Spec == 0 {
		return 0 // the HPA does not scale from zero
	}
	return k.hpa.Decide(obs)
}

// KEDAPrometheus is KEDA's Prometheus scaler with its defaults (polling
// 30 s, cooldown 300 s, activation threshold 0, min 0, max 100, here the
// run's max) on sum(rate(http_requests_total[1m])), with a threshold of
// 70% of a replica's capacity.
func KEDAPrometheus() Peer {
	return Peer{Name: "keda", New: func(env Env) (Policy, error) {
		k, err := NewKEDA(KEDAConfig{Threshold: TargetUtilization * env.Service.Capacity(),
			PollingInterval: 30 * time.Second, CooldownPeriod: 300 * time.Second, MaxReplicaCount: env.Max}, env.Start)
		if err != nil {
			return nil, err
		}
		return kedaPolicy{k}, nil
	}}
}

type kedaPolicy struct{ k *KEDA }

func (p kedaPolicy) Period() time.Duration { return 15 * time.Second }
func (p kedaPolicy) Decide(obs Observation) int {
	v, ok := obs.Prom.RequestRate(time.Minute)
	return p.k.Decide(obs, v, ok)
}

// SLOPeriod is the latency SLO's window for the budget Vane reads.
const SLOPeriod = 30 * 24 * time.Hour

// Vane is Vane's autoscaler as a user of this service would configure it:
// the HPA's CPU target (70% of each replica's CPUs, as an AverageValue of
// sum(rate(process_cpu_seconds_total[1m])): Vane reads Prometheus, not
// metrics-server), the slo recommender on the latency
// SLO, the queue recommender (the SLO's percentile and threshold, the
// workers as slots, a 30 s start-up delay) reading the load balancer's
// arrivals, throughput, mean latency and concurrency from Prometheus, and
// the behavior defaults.
func Vane() Peer { return vaneWith("vane", nil) }

// vaneWith is Vane with its spec changed by tune (nil: as configured).
func vaneWith(name string, tune func(*as.Spec)) Peer {
	return Peer{Name: name, New: func(env Env) (Policy, error) {
		s := env.Service
		spec := as.Spec{Name: "vane", Min: 1, Max: int32(env.Max), Behavior: &as.Behavior{},
			Metrics: []as.MetricSpec{{Name: "cpu-seconds", Query: "sum(rate(process_cpu_seconds_total[1m]))",
				Target: as.MetricTarget{Type: as.AverageValue, Value: TargetUtilization * float64(s.Workers)}}},
			SLO: &as.SLOSpec{SLOs: []string{"latency"}},
			Queue: &as.QueueSpec{Percentile: s.Objective, Threshold: s.Threshold, Slots: int32(s.Workers),
				StartupDelay: s.StartupMedian}}
		if tune != nil {
			tune(&spec)
		}
		budget := 1 - s.Objective
		return newStepPolicy(spec, 15*time.Second, func(obs Observation) as.Inputs {
			q := obs.Prom
			var in as.Inputs
			for _, m := range spec.Metrics {
				switch m.Name {
				case "cpu": // metrics-server, as the HPA reads it
					in.Metrics = append(in.Metrics, cpuMetric(obs, s.Workers, m.Target.Value/100))
				case "cpu-seconds": // sum(rate(process_cpu_seconds_total[1m]))
					v, ok := q.CPU(time.Minute)
					mi := as.MetricInput{Name: m.Name, Target: m.Target, Value: v}
					if !ok {
						mi.Err = "no data"
					}
					in.Metrics = append(in.Metrics, mi)
				case "requests": // sum(rate(http_requests_total[1m]))
					v, ok := q.RequestRate(time.Minute)
					mi := as.MetricInput{Name: m.Name, Target: m.Target, Value: v}
					if !ok {
						mi.Err = "no data"
					}
					in.Metrics = append(in.Metrics, mi)
				}
			}
			// The SLO's budget is a 30-day one, full when the trace starts:
			// the bad events so far against what 30 days at the traffic
			// seen so far allow.
			all, bad := q.Totals(s.Threshold)
			remaining := math.NaN()
			if elapsed := obs.Now.Sub(env.Start); all > 0 && elapsed > 0 {
				remaining = 1 - bad/(budget*all*float64(SLOPeriod)/float64(elapsed))
			}
			sig := as.SLOSignal{SLO: "latency", Budget: remaining}
			long, ok1 := q.BadRatio(s.Threshold, time.Hour)
			short, ok2 := q.BadRatio(s.Threshold, 5*time.Minute)
			if !ok1 || !ok2 || math.IsNaN(remaining) {
				sig.Err = "no data"
			}
			sig.BurnLong, sig.BurnShort = long/budget, short/budget
			if now, ok := q.BadRatio(s.Threshold, time.Minute); ok {
				sig.BurnNow, sig.HasNow = now/budget, true
			}
			in.SLO = []as.SLOSignal{sig}
			thr, ok1 := q.RequestRate(time.Minute)
			arr, ok2 := q.ArrivalRate(time.Minute)
			lat, ok3 := q.MeanLatency(time.Minute)
			conc, _ := q.Concurrency(time.Minute)
			arrNow, _ := q.ArrivalRate(30 * time.Second)
			in.Queue = as.QueueInput{Throughput: thr, Arrivals: arr, ArrivalsNow: arrNow, Latency: lat, Concurrency: conc,
				Ready: int32(obs.Ready), Budget: remaining}
			if !ok1 || !ok2 || !ok3 {
				in.Queue.Err = "no data"
			}
			return in
		})
	}}
}
