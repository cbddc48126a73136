package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/bench/slocost"
	"github.com/vaneproj/vane/slo"
)

// newBenchSLOCmd wires `vane bench slo` to package bench/slocost: rule
// generation for many SLOs and, with --prometheus, the rules' evaluation
// time on a real Prometheus next to Sloth's.
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
			res, err := slocost.Measure(n)
			if err != nil {
				return err
			}
			var eval map[string]slocost.EvalResult
			if onProm {
				h, err := slo.ParseDuration(history)
				if err != nil || h < time.Hour {
					return fmt.Errorf("--history %q: want a duration of at least 1h, like 3d", history)
				}
				eval, err = slocost.Prometheus(cmd.Context(), g.errOut, n, h)
				if err != nil {
					return fmt.Errorf("bench slo --prometheus: %w", err)
				}
			}
			if asJSON {
				return json.NewEncoder(g.out).Encode(struct {
					slocost.Result
					Prometheus map[string]slocost.EvalResult `json:"prometheus,omitempty"`
				}{res, eval})
			}
			fmt.Fprintf(g.out, "SLOs            %d\nrules           %d (%.1f per SLO)\nload+validate   %v\ngenerate        %v\noutput          %d bytes\n",
				res.SLOs, res.Rules, res.RulesPerSLO, time.Duration(res.LoadSeconds*float64(time.Second)).Round(time.Millisecond),
				time.Duration(res.GenerateSeconds*float64(time.Second)).Round(time.Millisecond), res.OutputBytes)
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
