package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	bas "github.com/vaneproj/vane/bench/autoscale"
)

// newBenchAutoscaleCmd runs package bench/autoscale: every policy on every
// trace of a simulated service, side by side.
func newBenchAutoscaleCmd(g *globals) *cobra.Command {
	var (
		asJSON  bool
		traces  []string
		plotDir string
		seed    uint64
		seeds   int
		base    float64
	)
	cmd := &cobra.Command{
		Use:   "autoscale",
		Short: "Compare Vane's autoscaler with the HPA, KEDA, Knative's KPA, static provisioning and an oracle on load traces",
		Long: `Simulates a service request by request on a virtual clock (seeded: the
same flags give the same numbers) under load traces, and scores each
autoscaling policy: SLO-violation minutes, error budget spent,
replica-hours, scaling actions and direction reversals within 5 minutes.
Without --trace it runs the built-in traces; --trace FILE.csv (rows
t_seconds,rps) replays a load of your own, and may be repeated. One seed
is one draw of a chaotic system; --seeds N sums N of them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var trs []bas.Trace
			for _, f := range traces {
				fh, err := os.Open(f)
				if err != nil {
					return fmt.Errorf("--trace: %w", err)
				}
				tr, err := bas.ParseTraceCSV(f, fh)
				fh.Close()
				if err != nil {
					return fmt.Errorf("--trace: %w", err)
				}
				trs = append(trs, tr)
			}
			if len(trs) == 0 {
				if !(base > 0) {
					return fmt.Errorf("--base-rps must be positive, got %v", base)
				}
				trs = bas.BuiltinTraces(base)
			}
			if seeds < 1 {
				return fmt.Errorf("--seeds must be at least 1, got %d", seeds)
			}
			svc := bas.DefaultService()
			start := time.Now()
			var runs [][]bas.Result
			for k := range uint64(seeds) {
				s := seed + k
				prefix := ""
				if seeds > 1 {
					prefix = fmt.Sprintf("seed %d ", s)
				}
				res, err := bas.Run(cmd.Context(), bas.Config{Service: svc, Traces: trs, Peers: bas.DefaultPeers(), Seed: s,
					Progress: func(done, total int, r bas.Result) {
						fmt.Fprintf(g.errOut, "%s[%d/%d] %s on %s: %d violation minutes, %.2f replica-hours (%s)\n",
							prefix, done, total, r.Policy, r.Trace, r.ViolationMinutes, r.ReplicaHours, time.Since(start).Round(time.Millisecond))
					}})
				if err != nil {
					return err
				}
				runs = append(runs, res)
			}
			res := runs[0]
			if plotDir != "" {
				if err := os.MkdirAll(plotDir, 0o755); err != nil {
					return fmt.Errorf("--plot: %w", err)
				}
				for _, tr := range trs {
					name := filepath.Join(plotDir, "autoscale-"+tr.Name+".png")
					f, err := os.Create(name)
					if err != nil {
						return fmt.Errorf("--plot: %w", err)
					}
					err = bas.WritePlot(f, svc, tr.Name, res)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err != nil {
						return fmt.Errorf("--plot %s: %w", name, err)
					}
					fmt.Fprintf(g.errOut, "wrote %s\n", name)
				}
			}
			if asJSON {
				enc := json.NewEncoder(g.out)
				for _, res := range runs {
					for _, r := range res {
						if err := enc.Encode(r); err != nil {
							return err
						}
					}
				}
				return nil
			}
			if seeds > 1 {
				fmt.Fprintf(g.out, "seeds %d to %d, summed:\n", seed, seed+uint64(seeds)-1)
				totals, tallies := bas.Summarize(runs)
				return bas.WriteSummary(g.out, totals, tallies)
			}
			if err := bas.WriteTable(g.out, res); err != nil {
				return err
			}
			fmt.Fprintln(g.out, "\ntargets (vane against the peers):")
			for _, v := range bas.Judge(res) {
				for _, c := range v.Checks {
					fmt.Fprintf(g.out, "  %-10s %s\n", v.Trace, c)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print one JSON row per policy and trace")
	f.StringArrayVar(&traces, "trace", nil, "replay a load trace from a CSV file of t_seconds,rps rows (repeatable; replaces the built-in traces)")
	f.StringVar(&plotDir, "plot", "", "write a PNG per trace (replicas and p99 latency against time) into this directory")
	f.Uint64Var(&seed, "seed", 1, "random seed of the simulation")
	f.IntVar(&seeds, "seeds", 1, "run this many seeds from --seed on and print the sums per trace and policy, and how often each target was met (--plot draws the first seed)")
	f.Float64Var(&base, "base-rps", bas.DefaultBaseRPS, "base load of the built-in traces, requests per second")
	return cmd
}
