package autoscale

import (
	"testing"
)

// Cases of kubernetes/kubernetes pkg/controller/podautoscaler
// replica_calculator_test.go, each named after its upstream test. CPU
// pods have requests of 1.0 (1000m) unless said otherwise; levels are in
// milli-units as upstream.

func cpuPods(levels []float64, requests []float64, ready []bool) []PodSample {
	n := max(len(requests), len(levels))
	out := make([]PodSample, n)
	for i := range n {
		p := PodSample{Ready: true, Request: 1000}
		if requests != nil {
			p.Request = requests[i]
		}
		if ready != nil {
			p.Ready = ready[i]
		}
		if i < len(levels) {
			p.HasValue, p.Value = true, levels[i]
		}
		out[i] = p
	}
	return out
}

func TestHPAReplicaCalcUpstream(t *testing.T) {
	f, tr := false, true
	tests := map[string]struct {
		current, ready int32
		metric         MetricInput
		want           int32
		invalid        bool
	}{
		// TestReplicaCalcScaleUp
		"TestReplicaCalcScaleUp": {current: 3, metric: MetricInput{Target: MetricTarget{Utilization, 30},
			Pods: cpuPods([]float64{300, 500, 700}, nil, nil)}, want: 5},
		// TestReplicaCalcScaleUpUnreadyLessScale
		"TestReplicaCalcScaleUpUnreadyLessScale": {current: 3, metric: MetricInput{Target: MetricTarget{Utilization, 30},
			Pods: cpuPods([]float64{300, 500, 700}, nil, []bool{f, tr, tr})}, want: 4},
		// TestReplicaCalcScaleUpUnreadyNoScale
		"TestReplicaCalcScaleUpUnreadyNoScale": {current: 3, metric: MetricInput{Target: MetricTarget{Utilization, 30},
			Pods: cpuPods([]float64{400, 500, 700}, nil, []bool{tr, f, f})}, want: 3},
		// TestReplicaCalcScaleUpIgnoresFailedPods: two failed pods are ignored.
		"TestReplicaCalcScaleUpIgnoresFailedPods": {current: 2, metric: MetricInput{Target: MetricTarget{Utilization, 30},
			Pods: append(cpuPods([]float64{500, 700}, nil, nil), PodSample{Ignored: true, Request: 1000}, PodSample{Ignored: true, Request: 1000})}, want: 4},
		// TestReplicaCalcScaleUpCM: a pod metric with an AverageValue target.
		"TestReplicaCalcScaleUpCM": {current: 3, metric: MetricInput{Target: MetricTarget{AverageValue, 15000},
			Pods: cpuPods([]float64{20000, 10000, 30000}, nil, nil)}, want: 4},
		// TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale: readiness only
		// matters for CPU; the custom metric's pods all count.
		"TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale": {current: 3, metric: MetricInput{Target: MetricTarget{AverageValue, 15000},
			Pods: cpuPods([]float64{50000, 10000, 30000}, nil, nil)}, want: 6},
		// TestReplicaCalcScaleUpCMObject: an object metric, Value target.
		"TestReplicaCalcScaleUpCMObject": {current: 3, ready: 3, metric: MetricInput{Target: MetricTarget{Value, 15000}, Value: 20000}, want: 4},
		// TestReplicaCalcScaleUpCMPerPodObject: AverageValue on one value.
		"TestReplicaCalcScaleUpCMPerPodObject": {current: 3, ready: 3, metric: MetricInput{Target: MetricTarget{AverageValue, 5000}, Value: 20000}, want: 4},
		// TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods: 1 of 3 ready.
		"TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods": {current: 3, ready: 1, metric: MetricInput{Target: MetricTarget{Value, 10000}, Value: 50000}, want: 5},
		// TestReplicaCalcScaleUpCMExternal
		"TestReplicaCalcScaleUpCMExternal": {current: 1, ready: 1, metric: MetricInput{Target: MetricTarget{Value, 4400}, Value: 8600}, want: 2},
		// TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods
		"TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods": {current: 3, ready: 1, metric: MetricInput{Target: MetricTarget{Value, 4400}, Value: 8600}, want: 2},
		// TestReplicaCalcScaleUpPerPodCMExternal
		"TestReplicaCalcScaleUpPerPodCMExternal": {current: 3, ready: 3, metric: MetricInput{Target: MetricTarget{AverageValue, 2150}, Value: 8600}, want: 4},
		// TestReplicaCalcScaleDown
		"TestReplicaCalcScaleDown": {current: 5, metric: MetricInput{Target: MetricTarget{Utilization, 50},
			Pods: cpuPods([]float64{100, 300, 500, 250, 250}, nil, nil)}, want: 3},
		// TestReplicaCalcScaleDownCM
		"TestReplicaCalcScaleDownCM": {current: 5, metric: MetricInput{Target: MetricTarget{AverageValue, 20000},
			Pods: cpuPods([]float64{12000, 12000, 12000, 12000, 12000}, nil, nil)}, want: 3},
		// TestReplicaCalcScaleDownPerPodCMObject
		"TestReplicaCalcScaleDownPerPodCMObject": {current: 5, ready: 5, metric: MetricInput{Target: MetricTarget{AverageValue, 2000}, Value: 6000}, want: 3},
		// TestReplicaCalcScaleDownCMObject
		"TestReplicaCalcScaleDownCMObject": {current: 5, ready: 5, metric: MetricInput{Target: MetricTarget{Value, 20000}, Value: 12000}, want: 3},
		// TestReplicaCalcScaleDownCMExternal
		"TestReplicaCalcScaleDownCMExternal": {current: 5, ready: 5, metric: MetricInput{Target: MetricTarget{Value, 14334}, Value: 8600}, want: 3},
		// TestReplicaCalcScaleDownPerPodCMExternal
		"TestReplicaCalcScaleDownPerPodCMExternal": {current: 5, ready: 5, metric: MetricInput{Target: MetricTarget{AverageValue, 2867}, Value: 8600}, want: 3},
		// TestReplicaCalcScaleDownExcludeUnscheduledPods: 4 pending pods.
		"TestReplicaCalcScaleDownExcludeUnscheduledPods": {current: 5, metric: MetricInput{Target: MetricTarget{Utilization, 50},
			Pods: append(cpuPods([]float64{100}, nil, nil), PodSample{Request: 1000}, PodSample{Request: 1000}, PodSample{Request: 1000}, PodSample{Request: 1000})}, want: 1},
		// TestReplicaCalcScaleDownIgnoresFailedPods
		"TestReplicaCalcScaleDownIgnoresFailedPods": {current: 5, metric: MetricInput{Target: MetricTarget{Utilization, 50},
			Pods: append(cpuPods([]float64{100, 300, 500, 250, 250}, nil, nil), PodSample{Ignored: true, Request: 1000}, PodSample{Ignored: true, Request: 1000})}, want: 3},
		// TestReplicaCalcTolerance: uneven requests, 102% of target.
		"TestReplicaCalcTolerance": {current: 3, metric: MetricInput{Target: MetricTarget{Utilization, 100},
			Pods: cpuPods([]float64{1010, 1030, 1020}, []float64{900, 1000, 1100}, nil)}, want: 3},
		// TestReplicaCalcToleranceCM
		"TestReplicaCalcToleranceCM": {current: 3, metric: MetricInput{Target: MetricTarget{AverageValue, 20000},
			Pods: cpuPods([]float64{20000, 21000, 21000}, nil, nil)}, want: 3},
		// TestReplicaCalcToleranceCMObject
		"TestReplicaCalcToleranceCMObject": {current: 3, ready: 3, metric: MetricInput{Target: MetricTarget{Value, 20000}, Value: 20666}, want: 3},
		// TestReplicaCalcTolerancePerPodCMObject
		"TestReplicaCalcTolerancePerPodCMObject": {current: 4, ready: 4, metric: MetricInput{Target: MetricTarget{AverageValue, 5000}, Value: 20166}, want: 4},
		// TestReplicaCalcToleranceCMExternal
		"TestReplicaCalcToleranceCMExternal": {current: 3, ready: 3, metric: MetricInput{Target: MetricTarget{Value, 8888}, Value: 8600}, want: 3},
		// TestReplicaCalcTolerancePerPodCMExternal
		"TestReplicaCalcTolerancePerPodCMExternal": {current: 3, ready: 3, metric: MetricInput{Target: MetricTarget{AverageValue, 2900}, Value: 8600}, want: 3},
		// TestReplicaCalcMissingMetrics: 2 of 4 pods without a sample.
		"TestReplicaCalcMissingMetrics": {current: 4, metric: MetricInput{Target: MetricTarget{Utilization, 100},
			Pods: cpuPods([]float64{400, 95}, []float64{1000, 1000, 1000, 1000}, nil)}, want: 3},
		// TestReplicaCalcEmptyMetrics: no sample at all is an error.
		"TestReplicaCalcEmptyMetrics": {current: 4, metric: MetricInput{Target: MetricTarget{Utilization, 100},
			Pods: cpuPods(nil, []float64{1000, 1000, 1000}, nil)}, invalid: true},
		// TestReplicaCalcEmptyCPURequest: a pod without request is an error.
		"TestReplicaCalcEmptyCPURequest": {current: 1, metric: MetricInput{Target: MetricTarget{Utilization, 100},
			Pods: []PodSample{{Ready: true, HasValue: true, Value: 200}}}, invalid: true},
		// TestReplicaCalcMissingMetricsNoChangeEq
		"TestReplicaCalcMissingMetricsNoChangeEq": {current: 2, metric: MetricInput{Target: MetricTarget{Utilization, 100},
			Pods: cpuPods([]float64{1000}, []float64{1000, 1000}, nil)}, want: 2},
		// TestReplicaCalcMissingMetricsNoChangeGt
		"TestReplicaCalcMissingMetricsNoChangeGt": {current: 2, metric: MetricInput{Target: MetricTarget{Utilization, 100},
			Pods: cpuPods([]float64{1900}, []float64{1000, 1000}, nil)}, want: 2},
		// TestReplicaCalcMissingMetricsNoChangeLt
		"TestReplicaCalcMissingMetricsNoChangeLt": {current: 2, metric: MetricInput{Target: MetricTarget{Utilization, 100},
			Pods: cpuPods([]float64{600}, []float64{1000, 1000}, nil)}, want: 2},
		// TestReplicaCalcMissingMetricsUnreadyChange
		"TestReplicaCalcMissingMetricsUnreadyChange": {current: 3, metric: MetricInput{Target: MetricTarget{Utilization, 50},
			Pods: cpuPods([]float64{100, 450}, []float64{1000, 1000, 1000}, []bool{f, tr, tr})}, want: 3},
		// TestReplicaCalcMissingMetricsUnreadyScaleUp
		"TestReplicaCalcMissingMetricsUnreadyScaleUp": {current: 3, metric: MetricInput{Target: MetricTarget{Utilization, 50},
			Pods: cpuPods([]float64{100, 2000}, []float64{1000, 1000, 1000}, []bool{f, tr, tr})}, want: 4},
		// TestReplicaCalcMissingMetricsUnreadyScaleDown
		"TestReplicaCalcMissingMetricsUnreadyScaleDown": {current: 4, metric: MetricInput{Target: MetricTarget{Utilization, 50},
			Pods: cpuPods([]float64{100, 100, 100}, []float64{1000, 1000, 1000, 1000}, []bool{f, tr, tr, tr})}, want: 3},
		// TestReplicaCalcDuringRollingUpdateWithMaxSurge: 3 pods (one
		// surge) for 2 replicas, one without a sample.
		"TestReplicaCalcDuringRollingUpdateWithMaxSurge": {current: 2, metric: MetricInput{Target: MetricTarget{Utilization, 50},
			Pods: cpuPods([]float64{100, 100}, []float64{1000, 1000, 1000}, nil)}, want: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.metric.Name = "m"
			ready := tc.ready
			if ready == 0 {
				ready = tc.current
			}
			rec, per := RecommendHPA(HPAInput{Current: tc.current, Ready: ready, Metrics: []MetricInput{tc.metric}})
			if tc.invalid {
				if rec.Valid {
					t.Fatalf("got a recommendation %d (%s), want none", rec.Replicas, rec.Reason)
				}
				return
			}
			if !rec.Valid || rec.Replicas != tc.want {
				t.Fatalf("got %d (valid %v: %s; %+v), want %d", rec.Replicas, rec.Valid, rec.Reason, per, tc.want)
			}
		})
	}
}

// TestHPAComputedToleranceAlgImplementation reproduces
// TestReplicaCalcComputedToleranceAlgImplementation: a target just past
// the tolerance scales down; one just inside it does not.
func TestHPAComputedToleranceAlgImplementation(t *testing.T) {
	const start = 10
	used := 150.0
	requested := []float64{400, 200, 310, 290, 302, 298, 301, 299, 300, 300}
	levels := make([]float64, start)
	for i := range levels {
		levels[i] = used
	}
	target := 1/(2*(1-DefaultTolerance)) + .01
	pct := float64(int32(target * 100))
	want := int32(ceil32(start * (used * start) / (300 * start * pct / 100)))
	rec, _ := RecommendHPA(HPAInput{Current: start, Metrics: []MetricInput{{Name: "cpu", Target: MetricTarget{Utilization, pct}, Pods: cpuPods(levels, requested, nil)}}})
	if rec.Replicas != want || want >= start {
		t.Fatalf("target %v%%: got %d, want %d (< %d)", pct, rec.Replicas, want, start)
	}
	target = 1/(2*(1-DefaultTolerance)) + .004
	pct = float64(int32(target * 100))
	rec, _ = RecommendHPA(HPAInput{Current: start, Metrics: []MetricInput{{Name: "cpu", Target: MetricTarget{Utilization, pct}, Pods: cpuPods(levels, requested, nil)}}})
	if rec.Replicas != start {
		t.Fatalf("target %v%%: got %d, want no change", pct, rec.Replicas)
	}
}

// Several metrics: the highest proposal wins; an invalid metric blocks a
// scale-down but not a scale-up (horizontal.go computeReplicasForMetrics;
// upstream TestScaleUpOneMetricInvalid, TestNoScaleDownOneMetricInvalid,
// TestScaleDownOneMetricEmpty).
func TestHPASeveralMetrics(t *testing.T) {
	up := MetricInput{Name: "qps", Target: MetricTarget{Value, 100}, Value: 300}
	down := MetricInput{Name: "qps", Target: MetricTarget{Value, 100}, Value: 10}
	bad := MetricInput{Name: "lag", Target: MetricTarget{Value, 100}, Err: "no data"}
	lower := MetricInput{Name: "cpu", Target: MetricTarget{Value, 100}, Value: 150}
	tests := map[string]struct {
		metrics []MetricInput
		valid   bool
		want    int32
	}{
		"the highest proposal wins":                {[]MetricInput{lower, up}, true, 12},
		"TestScaleUpOneMetricInvalid":              {[]MetricInput{up, bad}, true, 12},
		"TestNoScaleDownOneMetricInvalid":          {[]MetricInput{down, bad}, false, 0},
		"all metrics invalid":                      {[]MetricInput{bad}, false, 0},
		"NaN value is invalid":                     {[]MetricInput{{Name: "x", Target: MetricTarget{Value, 1}, Value: nan()}}, false, 0},
		"a zero target is invalid, never a divide": {[]MetricInput{{Name: "x", Target: MetricTarget{Value, 0}, Value: 3}}, false, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec, _ := RecommendHPA(HPAInput{Current: 4, Ready: 4, Metrics: tc.metrics})
			if rec.Valid != tc.valid || rec.Replicas != tc.want {
				t.Fatalf("got %d valid %v (%s), want %d valid %v", rec.Replicas, rec.Valid, rec.Reason, tc.want, tc.valid)
			}
		})
	}
}
