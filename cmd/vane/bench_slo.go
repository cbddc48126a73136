package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/slo"
)

// newBenchSLOCmd measures rule generation for many SLOs: it builds N native
// specs (a mix of event and latency SLIs), loads and validates them, and
// times generating their rules.
func newBenchSLOCmd(g *globals) *cobra.Command {
	var (
		n      int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "slo",
		Short: "Measure loading and rule generation for many SLOs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n <= 0 {
				return fmt.Errorf("--slos must be positive, got %d", n)
			}
			spec := benchSpec(n)
			loadStart := time.Now()
			slos, err := slo.Load(slo.File{Name: "bench.yaml", Data: spec})
			if err != nil {
				return fmt.Errorf("bench spec: %w", err)
			}
			loadDur := time.Since(loadStart)
			cw := &countWriter{}
			genStart := time.Now()
			if err := slo.GenerateRules(cw, slos, slo.GenerateOptions{}); err != nil {
				return err
			}
			genDur := time.Since(genStart)
			rules := 0
			for _, grp := range slo.Rules(slos, slo.GenerateOptions{}).Groups {
				rules += len(grp.Rules)
			}
			res := map[string]any{
				"slos":             len(slos),
				"rules":            rules,
				"rules_per_slo":    float64(rules) / float64(len(slos)),
				"generate_seconds": genDur.Seconds(),
				"load_seconds":     loadDur.Seconds(),
				"output_bytes":     cw.n,
			}
			if asJSON {
				enc := json.NewEncoder(g.out)
				return enc.Encode(res)
			}
			fmt.Fprintf(g.out, "SLOs            %d\nrules           %d (%.1f per SLO)\nload+validate   %v\ngenerate        %v\noutput          %d bytes\n",
				len(slos), rules, float64(rules)/float64(len(slos)), loadDur.Round(time.Millisecond), genDur.Round(time.Millisecond), cw.n)
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "slos", 1000, "number of SLOs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// benchSpec writes a vane/v1 spec with n SLOs over n/10 services.
func benchSpec(n int) []byte {
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
