package autoscale

import (
	"math"
	"time"
)

// Pod is one pod as the control plane sees it.
type Pod struct {
	Name string
	// Ready is the pod's readiness; ReadySince its last transition.
	Ready      bool
	Created    time.Time
	ReadySince time.Time
	// CPU is the pod's CPU utilization (busy workers over workers) as
	// metrics-server reports it: the usage over the pod's last 15 s;
	// HasCPU is false until the pod has two samples.
	CPU    float64
	HasCPU bool
}

// Observation is what a policy sees when it is evaluated.
type Observation struct {
	Now time.Time
	// Spec is the replica count last asked for; Ready how many of those
	// pods are ready.
	Spec, Ready int
	// Pods are the pods that are not being stopped.
	Pods []Pod
	// Prom answers instant queries on the series scraped every 15 s.
	Prom Prometheus
	p    *plant
}

// ConcurrencyWindow is the average over the last window of the total
// concurrency of the ready pods sampled each second: what Knative's
// collector holds in its 1 s buckets (pkg/autoscaler/metrics/collector.go:
// each second's stat is the pods' average concurrency times the ready
// pods; WindowAverage averages the buckets of the window). The simulation
// sees every pod, where Knative samples some of them.
func (o Observation) ConcurrencyWindow(window time.Duration) (float64, bool) {
	b := o.p.concBuckets
	n := int(window / time.Second)
	if len(b) == 0 || n <= 0 {
		return 0, false
	}
	if n > len(b) {
		n = len(b)
	}
	sum := 0.0
	for _, v := range b[len(b)-n:] {
		sum += v
	}
	return sum / float64(n), true
}

// Env is what a policy is built with: the service, the trace (only the
// clairvoyant oracle reads the future from it) and the time the
// simulation starts.
type Env struct {
	Service Service
	Trace   Trace
	Start   time.Time
	// Initial is the replica count the run starts with.
	Initial int
	// Max bounds every policy's replica count.
	Max int
}

// Policy is an autoscaler under test. Decide returns the replica count it
// wants; it is called every Period of simulated time. A Policy keeps its
// own state and is used by one run only.
type Policy interface {
	Period() time.Duration
	Decide(obs Observation) int
}

// Peer names a policy and builds it for one run.
type Peer struct {
	Name string
	New  func(env Env) (Policy, error)
	// Initial, when set, gives the replica count the run starts with
	// (static provisioning starts at its fixed count); otherwise the run
	// starts at what the HPA's target asks for at the trace's first load.
	Initial func(env Env) int
}

// TargetUtilization is the utilization target every utilization- or
// throughput-based peer is configured with: the HPA's 70% CPU target,
// KEDA's threshold as 70% of a replica's capacity, Knative's default
// container-concurrency-target-percentage (70%).
const TargetUtilization = 0.7

// replicasFor is how many replicas serve rps at the target utilization.
func replicasFor(svc Service, rps, util float64) int {
	return max(1, int(math.Ceil(rps/(util*svc.Capacity())-1e-9)))
}
