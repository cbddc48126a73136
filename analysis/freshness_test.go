package analysis

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestFreshnessQueries(t *testing.T) {
	got, err := FreshnessQueries(`sum(rate(req_total{service="a",version="v2",code=~"5.."}[1m])) / sum(rate(req_total{service="a",version="v2"}[1m]))` +
		` + on() sum(req_total{service="a",version="v2"}) * 0 + sum(old_total offset 5m) * 0`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`max(timestamp(req_total{code=~"5..",service="a",version="v2"}))`,
		`max(timestamp(req_total{service="a",version="v2"}))`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if _, err := FreshnessQueries("sum(("); err == nil {
		t.Fatal("a bad query gave no error")
	}
}

// Samples older than max_sample_age make a look Inconclusive, whatever
// the query's own value (an instant query's result carries the evaluation
// time, not the samples' time).
func TestStaleSamplesAreInconclusive(t *testing.T) {
	maxV := 1e9
	for _, tc := range []struct {
		kind Spec
		age  time.Duration
		want Verdict
	}{
		{Spec{Judge: &SequentialSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Second), MaxSampleAge: model.Duration(10 * time.Second)}, Counters: Counters{RequestsMetric: "http_requests_total"}}}, 35 * time.Second, Inconclusive},
		{Spec{Judge: &SequentialSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Second), MaxSampleAge: model.Duration(10 * time.Second)}, Counters: Counters{RequestsMetric: "http_requests_total"}}}, 2 * time.Second, Continue},
		// Default: twice the interval, at least 30s.
		{Spec{Judge: &SequentialSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Second)}, Counters: Counters{RequestsMetric: "http_requests_total"}}}, 35 * time.Second, Inconclusive},
		{Spec{Judge: &SequentialSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Second)}, Counters: Counters{RequestsMetric: "http_requests_total"}}}, 25 * time.Second, Continue},
		{Spec{Judge: &ThresholdSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Second), MaxSampleAge: model.Duration(10 * time.Second)}, Query: `sum(rate(errors_total{version="{{.version}}"}[1m]))`, Max: &maxV}}, 35 * time.Second, Inconclusive},
		{Spec{Judge: &BurnRateSpec{CommonSpec: CommonSpec{Interval: model.Duration(time.Second), MaxSampleAge: model.Duration(10 * time.Second)}, Counters: Counters{RequestsMetric: "http_requests_total"}, Objective: 0.999}}, 35 * time.Second, Inconclusive},
	} {
		q := counters(1000, 0, 1000, 0)
		age := tc.age
		q.age = func(time.Time) time.Duration { return age }
		c := build(t, tc.kind)
		c.Reset(t0)
		r := c.Evaluate(context.Background(), q, t0.Add(time.Minute))
		if r.Verdict == Inconclusive != (tc.want == Inconclusive) {
			t.Errorf("%s, samples %s old: %s (%s), want %s", tc.kind.Kind(), tc.age, r.Verdict, r.Reason, tc.want)
		}
		if tc.want == Inconclusive && !strings.Contains(r.Reason, "older than max_sample_age") {
			t.Errorf("%s: reason %q does not say the data is stale", tc.kind.Kind(), r.Reason)
		}
	}
}
