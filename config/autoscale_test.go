package config

import (
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/autoscale"
)

const goodAutoscale = `services:
  - name: checkout
    stable: {version: v1, endpoints: ["127.0.0.1:9001"]}
    rollout: {analysis: {requests_metric: demo_requests_total}}
    autoscale:
      min: 2
      max: 12
      interval: 10s
      actuator:
        kind: exec
        exec: {set: ["./scale.sh", "set"], get: ["./scale.sh", "get"], timeout: 5s}
      metrics:
        - name: rps
          query: sum(rate(demo_requests_total{service="checkout"}[1m]))
          target: {type: AverageValue, averageValue: 50}
      behavior:
        scaleDown:
          stabilizationWindowSeconds: 120
          policies: [{type: Pods, value: 2, periodSeconds: 30}]
      queue:
        percentile: 0.99
        latency_threshold: 250ms
        startup_delay: 20s
        throughput: sum(rate(demo_requests_total[1m]))
        latency: sum(rate(demo_latency_seconds_sum[1m])) / sum(rate(demo_latency_seconds_count[1m]))
`

func TestAutoscaleConfig(t *testing.T) {
	cfg, err := Parse("vane.yaml", []byte(goodAutoscale), nil)
	if err != nil {
		t.Fatal(err)
	}
	as := cfg.Autoscalers()
	if len(as) != 1 {
		t.Fatalf("%+v", as)
	}
	a := as[0]
	s := a.Spec.WithDefaults()
	if s.Name != "checkout" || s.Min != 2 || s.Max != 12 || a.Interval != 10*time.Second || len(s.Metrics) != 1 ||
		s.Metrics[0].Target != (autoscale.MetricTarget{Type: autoscale.AverageValue, Value: 50}) {
		t.Fatalf("spec %+v", s)
	}
	if *s.Behavior.ScaleDown.StabilizationWindowSeconds != 120 || *s.Behavior.ScaleUp.StabilizationWindowSeconds != 0 ||
		s.Behavior.ScaleDown.Policies[0] != (autoscale.Policy{Type: autoscale.PodsPolicy, Value: 2, PeriodSeconds: 30}) {
		t.Fatalf("behavior %+v %+v", *s.Behavior.ScaleUp, *s.Behavior.ScaleDown)
	}
	if s.Queue.Threshold != 250*time.Millisecond || s.Queue.StartupDelay != 20*time.Second || s.QueueQueries.Throughput == "" {
		t.Fatalf("queue %+v %+v", s.Queue, s.QueueQueries)
	}
	// The panic path's options.
	panicSrc := strings.Replace(goodAutoscale, "        startup_delay: 20s\n",
		"        startup_delay: 20s\n        panic_threshold: 3\n        arrivals_now: sum(rate(demo_requests_total[30s]))\n", 1)
	pc, err := Parse("vane.yaml", []byte(panicSrc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ps := pc.Autoscalers()[0].Spec; ps.Queue.PanicThreshold != 3 || ps.QueueQueries.ArrivalsNow != "sum(rate(demo_requests_total[30s]))" {
		t.Fatalf("panic options: %+v %+v", ps.Queue, ps.QueueQueries)
	}
	if a.Actuator.Kind != "exec" || a.Actuator.Exec.Timeout != 5*time.Second || a.Actuator.Exec.Set[0] != "./scale.sh" {
		t.Fatalf("actuator %+v", a.Actuator)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAutoscaleConfigErrorsNameTheLine(t *testing.T) {
	tests := map[string]struct {
		from, to string
		want     string
	}{
		"min above max":      {"min: 2", "min: 20", "vane.yaml:6:7: services[0].autoscale.min: 20 is greater than max 12"},
		"a zero target":      {"averageValue: 50", "averageValue: 0", "vane.yaml:15:11: services[0].autoscale.metrics[0].target: averageValue: 0 must be positive"},
		"wrong target field": {"averageValue: 50", "value: 50", "services[0].autoscale.metrics[0].target: type AverageValue needs averageValue"},
		"unknown type":       {"type: AverageValue", "type: Average", `metrics[0].target.type: "Average" is not one of`},
		"unknown kind":       {"kind: exec", "kind: ssh", `vane.yaml:10:9: services[0].autoscale.actuator.kind: "ssh" is not one of`},
		"bad policy":         {"type: Pods, value: 2", "type: Pods, value: -2", "services[0].autoscale.behavior: scaleDown.policies[0].value: -2 must be positive"},
		"bad duration":       {"latency_threshold: 250ms", "latency_threshold: fast", "vane.yaml:22:28: services[0].autoscale.queue.latency_threshold"},
		"unknown field":      {"interval: 10s", "intervall: 10s", `vane.yaml:8:7: services[0].autoscale.intervall: unknown field (allowed: actuator, behavior, freshness_query, interval, legacy_behavior, max, metrics, min, queue, slo, stale_after, tolerance); did you mean "interval"?`},
		"no queue query":     {"throughput: sum", "arrivals: sum", "services[0].autoscale.queue.throughput: required"},
		"missing max":        {"max: 12", "", "services[0].autoscale.max: required"},
		"panic threshold 1":  {"startup_delay: 20s", "startup_delay: 20s\n        panic_threshold: 1", "vane.yaml:24:9: services[0].autoscale.queue.panic_threshold: 1 is not within (1, 1000]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := strings.Replace(goodAutoscale, tc.from, tc.to, 1)
			_, err := Parse("vane.yaml", []byte(src), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestAutoscaleQueueMissingSLO: a queue whose SLO is not in the slos files
// gets that one error, not also unset percentile and threshold errors.
func TestAutoscaleQueueMissingSLO(t *testing.T) {
	src := strings.Replace(goodAutoscale, "percentile: 0.99\n        latency_threshold: 250ms", "slo: checkout-latency", 1)
	_, err := Parse("vane.yaml", []byte(src), nil)
	if err == nil || err.Error() != `vane.yaml:21:9: services[0].autoscale.queue.slo: no SLO named "checkout-latency" in the slos files` {
		t.Fatalf("got %v", err)
	}
}
