package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/bench/canary"
)

// newBenchCanaryCmd wires `vane bench canary` to package bench/canary.
func newBenchCanaryCmd(g *globals) *cobra.Command {
	var (
		seeds, workers int
		asJSON, asCSV  bool
		horizon        time.Duration
		summaryOnly    bool
		from           string
	)
	cmd := &cobra.Command{
		Use:   "canary",
		Short: "Compare canary judges (Vane, Flagger, Argo Rollouts, Kayenta, an oracle) on simulated releases",
		Long: `Runs every judge side by side on the same seeded, simulated analyses: traffic
5, 50 and 500 rps; canary weight 1%, 5%, 25%; error cells (stable error
ratio 0.1% and 1%; regression factor 1 (healthy), 1.25, 1.5, 2, 5, 10) and
latency cells (the canary's p99 1, 1.5 and 2 times a log-normal stable
one); Poisson traffic with independent errors, and overdispersed traffic
(pods, bursts, restarts, failed scrapes, jitter); counters and latency
histograms scraped every 15 s on a virtual clock over a 30-minute horizon
into a Prometheus TSDB, which every judge but the oracles reads through
Prometheus's own PromQL engine. Judges: Vane's analysis.Check as the
product runs it (knowing the step's horizon) looking every 15 s, 60 s and
300 s, Vane purely anytime (vane-anytime), oracle-fixed and oracle-sprt,
and Flagger, Argo Rollouts and Kayenta with their documented queries, each
over a sweep of its threshold, reported at its docs' threshold and at the
threshold matched to at most 1% false rollbacks.
Prints, per judge and cell, the false-rollback rate (healthy cells), the
detection rate, median and p90 time to rollback and the excess bad requests
served, then the targets met or missed. Progress goes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seeds < 1 {
				return fmt.Errorf("--seeds must be at least 1, got %d", seeds)
			}
			if workers < 1 {
				workers = runtime.GOMAXPROCS(0)
			}
			start := time.Now()
			var rows []canary.Row
			var err error
			if from != "" {
				b, rerr := os.ReadFile(from)
				if rerr != nil {
					return fmt.Errorf("--from: %w", rerr)
				}
				if err := json.Unmarshal(b, &rows); err != nil {
					return fmt.Errorf("--from %s: %w", from, err)
				}
				if len(rows) > 0 {
					seeds = rows[0].Runs
				}
			} else if rows, err = canary.Run(cmd.Context(), seeds, workers, horizon, g.errOut); err != nil {
				return fmt.Errorf("bench canary: %w", err)
			}
			elapsed := time.Since(start)
			switch {
			case asJSON:
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			case asCSV:
				return canary.WriteCSV(g.out, rows)
			}
			if !summaryOnly {
				if err := canary.WriteTable(g.out, rows); err != nil {
					return err
				}
				fmt.Fprintln(g.out)
			}
			if err := canary.WriteSummary(g.out, rows); err != nil {
				return err
			}
			if from != "" {
				_, err = fmt.Fprintf(g.out, "\n%d seeds per cell, rows from %s\n", seeds, from)
				return err
			}
			_, err = fmt.Fprintf(g.out, "\n%d seeds per cell, horizon %s, %s wall time on %d workers\n", seeds, horizon, elapsed.Round(time.Second), workers)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&seeds, "seeds", 1000, "simulated analyses per cell")
	f.IntVar(&workers, "workers", 0, "parallel workers (default GOMAXPROCS)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per judge and cell")
	f.BoolVar(&asCSV, "csv", false, "print CSV")
	f.BoolVar(&summaryOnly, "summary", false, "print only the summary table")
	f.StringVar(&from, "from", "", "print the tables of the rows in this file (the output of --json) instead of running")
	f.DurationVar(&horizon, "horizon", 30*time.Minute, "analysis horizon")
	return cmd
}
