package autoscale

import (
	"fmt"
	"math"
	"strings"
)

// This file ports the replica calculation of the Kubernetes
// HorizontalPodAutoscaler (kubernetes/kubernetes
// pkg/controller/podautoscaler/replica_calculator.go and the metric loop of
// horizontal.go, computeReplicasForMetrics). The port keeps the HPA's
// arithmetic and its treatment of pods that are not ready or have no
// metric; it is written for Vane's inputs (numbers already read from
// Prometheus) rather than for the Kubernetes metrics APIs.

// DefaultTolerance is the HPA's default tolerance: no change while the
// usage ratio is within 10% of 1.
const DefaultTolerance = 0.1

// TargetType is how a metric's value is compared to its target, as in the
// HPA's autoscaling/v2 MetricTarget.
type TargetType string

// The HPA's target types.
const (
	// Value compares the metric's single value to the target (object and
	// external metrics): desired = ceil(ready × value/target).
	Value TargetType = "Value"
	// AverageValue compares the value per replica to the target: with one
	// sample per pod, the average of the pods; with a single total,
	// desired = ceil(total/target).
	AverageValue TargetType = "AverageValue"
	// Utilization compares the pods' average usage, as a percentage of
	// their requests, to the target percentage (resource metrics).
	Utilization TargetType = "Utilization"
)

// MetricTarget is one metric's target.
type MetricTarget struct {
	Type TargetType `json:"type"`
	// Value is the target of a Value or AverageValue metric, or the target
	// utilization percentage of a Utilization metric.
	Value float64 `json:"value"`
}

// Validate rejects a target type that is unknown and a target that is not
// a positive finite number.
func (t MetricTarget) Validate() error {
	switch t.Type {
	case Value, AverageValue, Utilization:
	default:
		return fmt.Errorf("target type %q is not one of Value, AverageValue, Utilization", t.Type)
	}
	if !(t.Value > 0) || math.IsInf(t.Value, 0) {
		return fmt.Errorf("target %v must be a positive number", t.Value)
	}
	return nil
}

// PodSample is one pod's state and metric, as the HPA's groupPods sees it.
type PodSample struct {
	Name string `json:"name,omitempty"`
	// Ready is false for a pod that is not ready yet (or, for CPU, still
	// in its initialization period): the HPA counts it as using nothing
	// when it would otherwise scale up, and ignores it otherwise.
	Ready bool `json:"ready"`
	// Ignored marks pods the HPA drops entirely (deleted or failed).
	Ignored bool `json:"ignored,omitempty"`
	// HasValue is false for a pod without a metric sample ("missing").
	HasValue bool    `json:"has_value"`
	Value    float64 `json:"value"`
	// Request is the pod's resource request, for Utilization targets.
	Request float64 `json:"request,omitempty"`
}

// MetricInput is one metric's observation for the hpa recommender.
type MetricInput struct {
	Name   string       `json:"name"`
	Target MetricTarget `json:"target"`
	// Pods, when not empty, are per-pod samples (pod and resource metrics).
	Pods []PodSample `json:"pods,omitempty"`
	// Value is the metric's single value (object and external metrics),
	// used when Pods is empty.
	Value float64 `json:"value"`
	// Err, when not empty, says why the metric could not be read (no data,
	// NaN, stale, query error): the metric is invalid for this look.
	Err string `json:"err,omitempty"`
}

// HPAInput is what the hpa recommender looks at.
type HPAInput struct {
	// Current is the scale's current replica count (spec.replicas).
	Current int32
	// Ready is the number of ready replicas, used for Value targets as the
	// HPA's readyPodCount.
	Ready int32
	// Tolerance defaults to DefaultTolerance when 0.
	Tolerance float64
	Metrics   []MetricInput
	// TargetFactor, when above 1, raises every target by that factor (the
	// slo recommender's spare budget); 0 or 1 leaves targets as configured.
	TargetFactor float64
}

// MetricReplicas is one metric's proposal.
type MetricReplicas struct {
	Name     string  `json:"name"`
	Replicas int32   `json:"replicas"`
	Ratio    float64 `json:"ratio"`
	Valid    bool    `json:"valid"`
	Reason   string  `json:"reason"`
}

// RecommendHPA is the HPA's computeReplicasForMetrics: each metric's
// proposal, the highest of them, and the HPA's rule for invalid metrics:
// when every metric is invalid, or some are and the valid ones would scale
// down, there is no recommendation (the HPA then does not scale).
func RecommendHPA(in HPAInput) (Recommendation, []MetricReplicas) {
	rec := Recommendation{Recommender: RecommenderHPA}
	if len(in.Metrics) == 0 {
		rec.Reason = "no metrics configured"
		return rec, nil
	}
	tol := in.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	factor := in.TargetFactor
	if factor < 1 {
		factor = 1
	}
	var (
		per     []MetricReplicas
		best    int32 = -1
		bestIdx int
		invalid []string
	)
	for _, m := range in.Metrics {
		m.Target.Value *= factor
		r := metricReplicas(in.Current, in.Ready, tol, m)
		per = append(per, r)
		if !r.Valid {
			invalid = append(invalid, r.Name+": "+r.Reason)
			continue
		}
		if r.Replicas > best {
			best, bestIdx = r.Replicas, len(per)-1
		}
	}
	if len(invalid) == len(in.Metrics) {
		rec.Reason = "no valid metric (" + strings.Join(invalid, "; ") + ")"
		return rec, per
	}
	if len(invalid) > 0 && best < in.Current {
		rec.Reason = fmt.Sprintf("would scale down to %d but %d metric(s) are invalid (%s): holding", best, len(invalid), strings.Join(invalid, "; "))
		return rec, per
	}
	rec.Valid = true
	rec.Replicas = best
	rec.Reason = per[bestIdx].Name + ": " + per[bestIdx].Reason
	if factor > 1 {
		rec.Reason += fmt.Sprintf(" (targets ×%.2f)", factor)
	}
	return rec, per
}

func metricReplicas(current, ready int32, tol float64, m MetricInput) MetricReplicas {
	out := MetricReplicas{Name: m.Name}
	if m.Err != "" {
		out.Reason = m.Err
		return out
	}
	if err := m.Target.Validate(); err != nil {
		out.Reason = err.Error()
		return out
	}
	if len(m.Pods) > 0 {
		return podMetricReplicas(current, tol, m)
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		out.Reason = fmt.Sprintf("value is %v", m.Value)
		return out
	}
	target := m.Target.Value
	out.Valid = true
	switch m.Target.Type {
	case AverageValue:
		// GetExternalPerPodMetricReplicas / GetObjectPerPodMetricReplicas:
		// the ratio is against target × current replicas; the count is
		// ceil(total/target).
		out.Replicas = current
		if current > 0 {
			out.Ratio = m.Value / (target * float64(current))
		}
		if current == 0 || math.Abs(1-out.Ratio) > tol {
			out.Replicas = ceil32(m.Value / target)
		}
		out.Reason = fmt.Sprintf("total %s against %s per replica: %d", fmtNum(m.Value), fmtNum(target), out.Replicas)
	default: // Value (Utilization without pods is read as a Value ratio)
		// getUsageRatioReplicaCount.
		out.Ratio = m.Value / target
		if current != 0 {
			out.Replicas = current
			if math.Abs(1-out.Ratio) > tol {
				out.Replicas = ceil32(out.Ratio * float64(ready))
			}
		} else {
			// Scaling from zero: ceil(ratio).
			out.Replicas = ceil32(out.Ratio)
		}
		out.Reason = fmt.Sprintf("value %s against target %s (ratio %.3f, %d ready): %d", fmtNum(m.Value), fmtNum(target), out.Ratio, ready, out.Replicas)
	}
	return out
}

// podMetricReplicas is calcPlainMetricReplicas / GetResourceReplicas.
func podMetricReplicas(current int32, tol float64, m MetricInput) MetricReplicas {
	out := MetricReplicas{Name: m.Name}
	util := m.Target.Type == Utilization
	type sample struct{ v, req float64 }
	metrics := map[int]sample{}
	var unready, missing []int
	for i, p := range m.Pods {
		switch {
		case p.Ignored:
			continue
		case !p.Ready && !p.HasValue:
			// A pending pod: unready.
			unready = append(unready, i)
			continue
		case !p.HasValue:
			missing = append(missing, i)
			continue
		case !p.Ready:
			unready = append(unready, i)
			continue
		}
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			missing = append(missing, i)
			continue
		}
		if util && !(p.Request > 0) {
			out.Reason = fmt.Sprintf("pod %q has no resource request", p.Name)
			return out
		}
		metrics[i] = sample{p.Value, p.Request}
	}
	if len(metrics) == 0 {
		out.Reason = "no ready pod has a metric"
		return out
	}
	ratio := func() float64 {
		var sum, req float64
		for _, s := range metrics {
			sum += s.v
			req += s.req
		}
		if util {
			// GetResourceUtilizationRatio: utilization = 100 × Σusage/Σrequest.
			return (sum * 100 / req) / m.Target.Value
		}
		return sum / float64(len(metrics)) / m.Target.Value
	}
	usage := ratio()
	out.Valid = true
	out.Ratio = usage
	scaleUpWithUnready := len(unready) > 0 && usage > 1
	if !scaleUpWithUnready && len(missing) == 0 {
		if math.Abs(1-usage) <= tol {
			out.Replicas = current
			out.Reason = fmt.Sprintf("ratio %.3f within tolerance %.2f: %d", usage, tol, current)
			return out
		}
		out.Replicas = ceil32(usage * float64(len(metrics)))
		out.Reason = fmt.Sprintf("ratio %.3f over %d pods: %d", usage, len(metrics), out.Replicas)
		return out
	}
	if len(missing) > 0 {
		for _, i := range missing {
			p := m.Pods[i]
			switch {
			case usage < 1 && util:
				// On a scale-down, missing pods count as using their
				// request × max(100%, target).
				metrics[i] = sample{p.Request * math.Max(100, m.Target.Value) / 100, p.Request}
			case usage < 1:
				metrics[i] = sample{m.Target.Value, 0}
			case usage > 1:
				metrics[i] = sample{0, p.Request}
			}
		}
	}
	if scaleUpWithUnready {
		for _, i := range unready {
			metrics[i] = sample{0, m.Pods[i].Request}
		}
	}
	newUsage := ratio()
	out.Ratio = newUsage
	if math.Abs(1-newUsage) <= tol || (usage < 1 && newUsage > 1) || (usage > 1 && newUsage < 1) {
		out.Replicas = current
		out.Reason = fmt.Sprintf("ratio %.3f, %.3f counting %d missing and %d unready pods: no change (%d)", usage, newUsage, len(missing), len(unready), current)
		return out
	}
	n := ceil32(newUsage * float64(len(metrics)))
	if (newUsage < 1 && n > current) || (newUsage > 1 && n < current) {
		n = current
	}
	out.Replicas = n
	out.Reason = fmt.Sprintf("ratio %.3f counting %d missing and %d unready pods: %d", newUsage, len(missing), len(unready), n)
	return out
}

func ceil32(x float64) int32 {
	c := math.Ceil(x)
	if c > math.MaxInt32 {
		return math.MaxInt32
	}
	if c < 0 {
		return 0
	}
	return int32(c)
}

func fmtNum(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", x), "0"), ".")
}
