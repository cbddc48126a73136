package slo

import (
	"path/filepath"
	"testing"
)

// TestLatencySLIs feeds a classic and a native histogram to the generated
// rules in promtool: requests slower than the threshold are the errors.
func TestLatencySLIs(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	spec := `version: vane/v1
service: api
slos:
  - name: classic
    objective: 99
    sli:
      latency: {metric: http_request_duration_seconds, selector: 'job="api"', threshold: 0.3}
    alerting: {name: APIClassicLatency}
  - name: native
    objective: 99
    sli:
      latency: {metric: rpc_duration_seconds, selector: 'job="rpc"', threshold: 0.25, native: true}
    alerting: {name: RPCNativeLatency}
`
	slos, err := Load(File{Name: "latency.yaml", Data: []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	writeRules(t, filepath.Join(dir, "rules.yaml"), slos, GenerateOptions{})
	pt := PromtoolTests{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1m", GroupEvalOrder: []string{GroupName(slos[0]), GroupName(slos[1])},
		Tests: []PromtoolTest{{
			Name: "latency SLIs", Interval: "1m",
			InputSeries: []InputSeries{
				// 1,000 requests a minute, 990 of them within 0.3s: 1% slow.
				{Series: `http_request_duration_seconds_bucket{job="api",le="0.1"}`, Values: "0+500x120"},
				{Series: `http_request_duration_seconds_bucket{job="api",le="0.3"}`, Values: "0+990x120"},
				{Series: `http_request_duration_seconds_bucket{job="api",le="+Inf"}`, Values: "0+1000x120"},
				{Series: `http_request_duration_seconds_count{job="api"}`, Values: "0+1000x120"},
				// 100 RPCs a minute: 90 in (0.125s, 0.25s], 10 in (0.5s, 1s]: 10% slow.
				{Series: `rpc_duration_seconds{job="rpc"}`, Values: "{{schema:0 count:0 sum:0 buckets:[0 0 0] offset:-2}}+{{schema:0 count:100 sum:30 buckets:[90 0 10] offset:-2}}x120"},
			},
			PromQLTest: []PromQLExprTest{
				{Expr: `abs(slo:sli_error:ratio_rate1h{vane_slo="classic"} - 0.01) < bool 1e-9`, EvalTime: "2h",
					ExpSamples: []ExpSample{{Labels: `{vane_service="api",vane_slo="classic",slo_window="1h"}`, Value: 1}}},
				{Expr: `abs(slo:sli_error:ratio_rate1h{vane_slo="native"} - 0.1) < bool 1e-9`, EvalTime: "2h",
					ExpSamples: []ExpSample{{Labels: `{vane_service="api",vane_slo="native",slo_window="1h"}`, Value: 1}}},
				// 1% slow is 1x a 99% budget; 10% is 10x.
				{Expr: `round(slo:current_burn_rate:ratio, 0.001)`, EvalTime: "2h", ExpSamples: []ExpSample{
					{Labels: `{vane_service="api",vane_slo="classic",slo_window="5m"}`, Value: 1},
					{Labels: `{vane_service="api",vane_slo="native",slo_window="5m"}`, Value: 10},
				}},
			},
		}},
	}
	writeTests(t, filepath.Join(dir, "latency.test.yaml"), pt)
	run(t, dir, promtool, "test", "rules", "latency.test.yaml")
}
