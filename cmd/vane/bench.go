package main

import "github.com/spf13/cobra"

// newBenchCmd groups the benchmarks. Each prints a table (or JSON with
// --json) and runs on a virtual clock or loopback only; see the README.
func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run Vane's benchmarks (canary judgement, xDS convergence, SLO rule cost)",
	}
	// One line per benchmark; each lives in its own file.
	cmd.AddCommand(
		newBenchXDSCmd(g),
		newBenchCanaryCmd(g),
		newBenchSLOCmd(g),
		newBenchAutoscaleCmd(g),
		newBenchBacktestCmd(g),
	)
	return cmd
}
