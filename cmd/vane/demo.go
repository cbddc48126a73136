package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/demo"
)

// newDemoCmd runs the embedded demo: a bad canary rolled back and a good
// one promoted, in one process, on loopback.
func newDemoCmd(g *globals) *cobra.Command {
	var o demo.Options
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show Vane at work: a bad canary rolled back and a good one promoted, all in this process",
		Long: `demo starts, on loopback ports it picks, a sample gRPC service with versions
v1 (healthy), v2 (bad: failing calls and added latency) and v3 (healthy), an
embedded Prometheus scraping them, Vane's xDS server, and users calling the
service through gRPC's xDS client (xds:///demo). It then rolls out v2, which
Vane's sequential judges fail and Vane rolls back, and v3, which passes every
step and is promoted, narrating as it goes, and ends with a summary table.

--fast shortens every duration (for tests); --keep leaves the HTTP endpoints
up afterwards. Components' logs go to stderr with --verbose.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.BadErrorRatio <= 0 || o.BadErrorRatio > 1 {
				return fmt.Errorf("--bad-error-ratio: %v is not in (0, 1]", o.BadErrorRatio)
			}
			if o.BadLatency <= 0 {
				return fmt.Errorf("--bad-latency: %v must be positive", o.BadLatency)
			}
			if o.Rate < 0 || o.Rate > 5000 {
				return fmt.Errorf("--rate: %v is not in [0, 5000]", o.Rate)
			}
			if verbose {
				l, err := g.logger()
				if err != nil {
					return err
				}
				o.Logger = l
			} else {
				o.Logger = slog.New(slog.DiscardHandler)
			}
			o.Out = g.out
			o.Live = isTerminal(g.out)
			if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil {
				o.Width = c
			}
			_, err := demo.Run(cmd.Context(), o)
			if errors.Is(err, demo.ErrUnexpected) {
				fmt.Fprintln(g.errOut, "vane demo:", err)
				return exitError{code: 1}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Fast, "fast", false, "shorten every duration (scrapes, looks, analysis steps); for tests")
	f.BoolVar(&o.Keep, "keep", false, "leave the HTTP endpoints and the demo world up until interrupted")
	f.StringVar(&o.HTTPListen, "http", "127.0.0.1:0", "address of the demo's HTTP endpoints (metrics, Prometheus query API)")
	f.Float64Var(&o.BadErrorRatio, "bad-error-ratio", 0.1, "share of v2's calls that fail")
	f.DurationVar(&o.BadLatency, "bad-latency", 150*time.Millisecond, "latency v2 adds to every call")
	f.Float64Var(&o.Rate, "rate", 0, "users' calls per second (default 50, or 100 with --fast)")
	f.BoolVar(&verbose, "verbose", false, "write the components' logs to stderr (see --log-level)")
	return cmd
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
