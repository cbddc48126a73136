package autoscale

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestObservationKeepsTheLoadThatWasRead(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tgt := MetricTarget{Type: AverageValue, Value: 70}
	in := Inputs{
		Metrics: []MetricInput{
			{Name: "qps", Target: tgt, Value: 140},
			{Name: "broken", Target: tgt, Err: "no data"},
			{Name: "nan", Target: tgt, Value: math.NaN()},
			{Name: "per_pod", Target: tgt, Pods: []PodSample{
				{Ready: true, HasValue: true, Value: 10}, {Ready: true, HasValue: true, Value: 30},
				{Ready: true}, {Ignored: true, HasValue: true, Value: 1000}}},
			{Name: "no_pod_value", Target: tgt, Pods: []PodSample{{Ready: true}}},
		},
		Queue: QueueInput{Throughput: 90},
	}
	got := observation(in, now)
	want := Observation{At: now, Arrivals: 90, Metrics: []ObservedMetric{
		{Name: "qps", Value: 140, Target: tgt}, {Name: "per_pod", Value: 20, Target: tgt}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("observation:\n got %+v\nwant %+v", got, want)
	}
	in.Queue.Arrivals = 120
	if got := observation(in, now); got.Arrivals != 120 {
		t.Fatalf("arrivals %v, want the offered 120 over the throughput", got.Arrivals)
	}
}
