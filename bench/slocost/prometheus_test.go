package slocost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestScrapeRuleMetrics reads the rule-group families the cost bench needs
// from Prometheus's exposition format.
func TestScrapeRuleMetrics(t *testing.T) {
	const body = `# HELP prometheus_rule_group_iterations_total The total number of scheduled rule group evaluations.
# TYPE prometheus_rule_group_iterations_total counter
prometheus_rule_group_iterations_total{rule_group="a.yaml;g1"} 7
prometheus_rule_group_iterations_total{rule_group="a.yaml;g2"} 5
# TYPE prometheus_rule_group_iterations_missed_total counter
prometheus_rule_group_iterations_missed_total{rule_group="a.yaml;g1"} 1
prometheus_rule_group_iterations_missed_total{rule_group="a.yaml;g2"} 2
# TYPE prometheus_rule_group_last_duration_seconds gauge
prometheus_rule_group_last_duration_seconds{rule_group="a.yaml;g1"} 0.25
prometheus_rule_group_last_duration_seconds{rule_group="a.yaml;g2"} 0.5
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	iters, last, missed, cpu, err := scrapeRuleMetrics(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if len(iters) != 2 || len(last) != 2 || missed != 3 || cpu != 12.5 {
		t.Fatalf("iters=%v last=%v missed=%v cpu=%v", iters, last, missed, cpu)
	}
	sum := 0.0
	for _, v := range iters {
		sum += v
	}
	if sum != 12 {
		t.Fatalf("iterations sum %v, want 12", sum)
	}
}
