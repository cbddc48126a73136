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
// times generating their rules. With --prometheus it also measures the
// rules' evaluation time on a real Prometheus next to Sloth's.
func newBenchSLOCmd(g *globals) *cobra.Command {
	var (
		n       int
		asJSON  bool
		onProm  bool
		history string
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
			var eval map[string]benchEvalResult
			if onProm {
				h, err := slo.ParseDuration(history)
				if err != nil || h < time.Hour {
					return fmt.Errorf("--history %q: want a duration of at least 1h, like 3d", history)
				}
				eval, err = benchPrometheus(cmd.Context(), g.errOut, n, h)
				if err != nil {
					return fmt.Errorf("bench slo --prometheus: %w", err)
				}
				res["prometheus"] = eval
			}
			if asJSON {
				enc := json.NewEncoder(g.out)
				return enc.Encode(res)
			}
			fmt.Fprintf(g.out, "SLOs            %d\nrules           %d (%.1f per SLO)\nload+validate   %v\ngenerate        %v\noutput          %d bytes\n",
				len(slos), rules, float64(rules)/float64(len(slos)), loadDur.Round(time.Millisecond), genDur.Round(time.Millisecond), cw.n)
			if eval != nil {
				fmt.Fprintf(g.out, "\nrule evaluation on Prometheus (%d availability SLOs, %s of history, every 15s):\n%-6s %7s %7s %13s %16s %7s\n",
					n, history, "rules", "count", "groups", "CPU s/round", "slowest group s", "missed")
				for _, name := range []string{"vane", "sloth"} {
					r := eval[name]
					fmt.Fprintf(g.out, "%-6s %7d %7d %13.3f %16.3f %7.0f\n", name, r.Rules, r.Groups, r.CPUPerRound, r.MaxGroupSecond, r.Missed)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "slos", 1000, "number of SLOs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&onProm, "prometheus", false, "also measure rule evaluation time on a real Prometheus, Vane's rules next to Sloth's for the same SLOs (needs prometheus and sloth from make test-tools)")
	cmd.Flags().StringVar(&history, "history", "3d", "history backfilled for --prometheus")
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
