package slo

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// block is a stretch of minutes with whole numbers of requests and errors
// per minute.
type block struct{ minutes, req, errs int }

// blockSeries expands blocks into the twin's counters at a 1m interval.
func blockSeries(blocks []block) []InputSeries {
	var rs, es []string
	r, e := 0, 0
	rs, es = append(rs, "0"), append(es, "0")
	for _, b := range blocks {
		rs = append(rs, fmt.Sprintf("%d+%dx%d", r+b.req, b.req, b.minutes-1))
		es = append(es, fmt.Sprintf("%d+%dx%d", e+b.errs, b.errs, b.minutes-1))
		r += b.req * b.minutes
		e += b.errs * b.minutes
	}
	return []InputSeries{
		{Series: TestRequestsMetric, Values: strings.Join(rs, " ")},
		{Series: TestErrorsMetric, Values: strings.Join(es, " ")},
	}
}

func twinFor(t *testing.T, minEvents float64) *SLO {
	t.Helper()
	s := loadExample(t, "sloth-checkout.yaml")[0]
	s.Alerting.MinEvents = minEvents
	return TestTwin(s)
}

// TestLongWindowIsRequestWeighted: with uneven traffic (days of 600
// requests/min at 10% errors alternating with days of 60,000/min at 0.1%),
// the recorded 30d ratio equals the true ratio of errors to requests, while
// an unweighted average of 5m ratios (Sloth's default) is 25× too high.
// Rules are evaluated hourly to keep the month cheap to replay; each day's
// traffic is uniform, so every recorded 5m rate is exact.
func TestLongWindowIsRequestWeighted(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	twin := twinFor(t, 0)
	writeRules(t, filepath.Join(dir, "rules.yaml"), []*SLO{twin}, GenerateOptions{PlainAnnotations: true})
	var blocks []block
	for d := 0; d < 30; d++ {
		if d%2 == 0 {
			blocks = append(blocks, block{1440, 600, 60})
		} else {
			blocks = append(blocks, block{1440, 60000, 60})
		}
	}
	const trueRatio = 1800.0 / 909000 // (60+60)/(600+60000) errors per request
	sel := `{vane_slo="requests-availability",vane_service="checkout"}`
	pt := PromtoolTests{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1h", GroupEvalOrder: []string{GroupName(twin)},
		Tests: []PromtoolTest{{
			Name: "30d ratio under uneven traffic", Interval: "1m", InputSeries: blockSeries(blocks),
			PromQLTest: []PromQLExprTest{
				{Expr: fmt.Sprintf("abs(slo:sli_error:ratio_rate30d%s - %v) < bool 1e-12", sel, trueRatio), EvalTime: "30d",
					ExpSamples: []ExpSample{{Labels: `{owner="payments-team",vane_service="checkout",vane_slo="requests-availability",slo_window="30d",tier="1"}`, Value: 1}}},
				{Expr: fmt.Sprintf("avg_over_time(slo:sli_error:ratio_rate5m%s[30d]) > bool 0.05", sel), EvalTime: "30d",
					ExpSamples: []ExpSample{{Labels: `{owner="payments-team",vane_service="checkout",vane_slo="requests-availability",slo_window="5m",tier="1"}`, Value: 1}}},
			},
		}},
	}
	writeTests(t, filepath.Join(dir, "uneven.test.yaml"), pt)
	run(t, dir, promtool, "test", "rules", "uneven.test.yaml")
}

// TestLowAndNoTraffic: with min_events, 3 errors out of 5 requests do not
// page (without it they do); with requests but no error series the error
// ratio is 0 and the budget full; with no traffic at all there is no ratio,
// no burn rate, no alert and no NaN in any recorded series.
func TestLowAndNoTraffic(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	guarded, bare := twinFor(t, 100), twinFor(t, 0)
	bare.Name = "requests-availability-bare"
	writeRules(t, filepath.Join(dir, "rules.yaml"), []*SLO{guarded, bare}, GenerateOptions{PlainAnnotations: true})
	alerts := func(s *SLO) string {
		return fmt.Sprintf(`count_over_time(ALERTS{alertname=%q,vane_slo=%q,alertstate="firing"}[8h])`, s.Alerting.Name, s.Name)
	}
	burst := blockSeries([]block{{240, 0, 0}, {1, 5, 3}, {240, 0, 0}})
	none := blockSeries([]block{{480, 0, 0}})
	pt := PromtoolTests{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1m", GroupEvalOrder: []string{GroupName(guarded), GroupName(bare)},
		Tests: []PromtoolTest{{
			Name: "a few errors out of a few requests", Interval: "1m", InputSeries: burst,
			PromQLTest: []PromQLExprTest{
				{Expr: alerts(guarded), EvalTime: "8h"},
				{Expr: fmt.Sprintf("count(%s) > bool 0", alerts(bare)), EvalTime: "8h", ExpSamples: []ExpSample{{Labels: "{}", Value: 1}}},
			},
		}, {
			// Requests but no error series at all (no 5xx ever served):
			// zero errors, a full budget, no alert.
			Name: "no error series", Interval: "1m", InputSeries: blockSeries([]block{{480, 1000, 0}})[:1],
			PromQLTest: []PromQLExprTest{
				{Expr: `slo:sli_error:ratio_rate1h{vane_slo="requests-availability"}`, EvalTime: "8h", ExpSamples: []ExpSample{
					{Labels: `slo:sli_error:ratio_rate1h{owner="payments-team",vane_service="checkout",vane_slo="requests-availability",slo_window="1h",tier="1"}`, Value: 0}}},
				{Expr: `slo:period_error_budget_remaining:ratio{vane_slo="requests-availability"}`, EvalTime: "8h", ExpSamples: []ExpSample{
					{Labels: `slo:period_error_budget_remaining:ratio{owner="payments-team",vane_service="checkout",vane_slo="requests-availability",slo_window="30d",tier="1"}`, Value: 1}}},
				{Expr: alerts(guarded), EvalTime: "8h"},
			},
		}, {
			Name: "no traffic", Interval: "1m", InputSeries: none,
			PromQLTest: []PromQLExprTest{
				{Expr: alerts(guarded), EvalTime: "8h"},
				{Expr: alerts(bare), EvalTime: "8h"},
				{Expr: `count_over_time({__name__=~"slo:sli_error:ratio_rate.*|slo:current_burn_rate:ratio|slo:alert_tier:burn_rate"}[8h])`, EvalTime: "8h"},
				// NaN fails every comparison: all recorded series compare.
				{Expr: `count({__name__=~"slo:.*"}) - count({__name__=~"slo:.*"} > -Inf)`, EvalTime: "1h", ExpSamples: []ExpSample{{Labels: "{}", Value: 0}}},
				// NaN fails every comparison: all recorded series compare.
				{Expr: `count({__name__=~"slo:.*"}) - count({__name__=~"slo:.*"} > -Inf)`, EvalTime: "8h", ExpSamples: []ExpSample{{Labels: "{}", Value: 0}}},
			},
		}},
	}
	writeTests(t, filepath.Join(dir, "low.test.yaml"), pt)
	start := time.Now()
	run(t, dir, promtool, "test", "rules", "low.test.yaml")
	t.Logf("promtool: %v", time.Since(start))
}
