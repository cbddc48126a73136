package slocost

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vaneproj/vane/slo"
)

// Result is the cost of loading and generating the rules of N SLOs.
type Result struct {
	SLOs            int     `json:"slos"`
	Rules           int     `json:"rules"`
	RulesPerSLO     float64 `json:"rules_per_slo"`
	GenerateSeconds float64 `json:"generate_seconds"`
	LoadSeconds     float64 `json:"load_seconds"`
	OutputBytes     int     `json:"output_bytes"`
}

// Measure builds n native specs (a mix of event and latency SLIs), loads
// and validates them, and times generating their rules.
func Measure(n int) (Result, error) {
	if n <= 0 {
		return Result{}, fmt.Errorf("number of SLOs must be positive, got %d", n)
	}
	data := Spec(n)
	loadStart := time.Now()
	slos, err := slo.Load(slo.File{Name: "bench.yaml", Data: data})
	if err != nil {
		return Result{}, fmt.Errorf("bench spec: %w", err)
	}
	loadDur := time.Since(loadStart)
	cw := &countWriter{}
	genStart := time.Now()
	if err := slo.GenerateRules(cw, slos, slo.GenerateOptions{}); err != nil {
		return Result{}, err
	}
	genDur := time.Since(genStart)
	rules := 0
	for _, grp := range slo.Rules(slos, slo.GenerateOptions{}).Groups {
		rules += len(grp.Rules)
	}
	return Result{SLOs: len(slos), Rules: rules, RulesPerSLO: float64(rules) / float64(len(slos)),
		GenerateSeconds: genDur.Seconds(), LoadSeconds: loadDur.Seconds(), OutputBytes: cw.n}, nil
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// Spec writes a vane/v1 spec with n SLOs over n/10 services.
func Spec(n int) []byte {
	var b strings.Builder
	b.WriteString("version: vane/v1\nservice: bench\nslos:\n")
	for i := 0; i < n; i++ {
		if i%4 == 3 {
			fmt.Fprintf(&b, `  - name: latency-%d
    objective: 99
    sli:
      latency: {metric: http_request_duration_seconds, selector: 'job="svc-%d"', threshold: 0.3}
    alerting: {name: Latency%dBudgetBurn, min_events: 100}
`, i, i/10, i)
			continue
		}
		fmt.Fprintf(&b, `  - name: availability-%d
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="svc-%d",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="svc-%d"}[{{.window}}]))
    alerting: {name: Availability%dBudgetBurn}
`, i, i/10, i/10, i)
	}
	return []byte(b.String())
}
