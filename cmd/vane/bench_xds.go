package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	benchxds "github.com/vaneproj/vane/bench/xds"
)

// newBenchXDSCmd wires `vane bench xds` (and its hidden server and streams
// child processes) to package bench/xds.
func newBenchXDSCmd(g *globals) *cobra.Command {
	var streams, changes int
	var asJSON bool
	var profileDir string
	cmd := &cobra.Command{
		Use:   "xds",
		Short: "Time from a weight change to its ACK by N ADS streams, Vane vs a plain SnapshotCache server",
		Long: `Opens N real gRPC ADS streams on loopback (in a child process; each stream
subscribes to the listener, route, clusters and endpoints of one service and
ACKs every response), then applies one weight change at a time and measures
the time until every stream has ACKed it (p50/p99/max, after 3 unmeasured
warm-up changes), the CPU seconds per change of the server and of the
streams process (both share the machine's cores), and the server's heap and
RSS per stream. It runs Vane's server and a go-control-plane SnapshotCache
server tuned as its users run it (one snapshot for the fleet, one version per
resource type so a weight change re-pushes only the route, the ordered ADS
loop; timed to the route ACK), each in a fresh process, in the same run. --profile-dir writes CPU profiles
of both processes during the timed changes (go tool pprof -top FILE).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if streams < 1 || changes < 1 {
				return errors.New("--streams and --changes must be at least 1")
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench xds: find own binary: %w", err)
			}
			var results []benchxds.Result
			for _, mode := range []string{benchxds.Vane, benchxds.Snapshot} {
				fmt.Fprintf(g.errOut, "bench xds: %s server, %d streams, %d changes\n", mode, streams, changes)
				r, err := benchxds.RunChild(cmd.Context(), self, g.errOut, mode, streams, changes, profileDir)
				if err != nil {
					return fmt.Errorf("bench xds: %s: %w", mode, err)
				}
				results = append(results, r)
			}
			return benchxds.Print(g.out, results, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&streams, "streams", 1000, "number of ADS streams (one gRPC connection and node each)")
	f.IntVar(&changes, "changes", 40, "weight changes to time per server")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	f.StringVar(&profileDir, "profile-dir", "", "write CPU profiles of each server and of its streams process, taken during the timed changes, to this directory (<mode>-server.pprof, <mode>-streams.pprof)")
	cmd.AddCommand(newBenchXDSServerCmd(g), newBenchXDSStreamsCmd(g))
	return cmd
}

func newBenchXDSServerCmd(g *globals) *cobra.Command {
	var o benchxds.ServerOptions
	cmd := &cobra.Command{
		Use:    benchxds.ServerCmd,
		Short:  "Run one server of the xDS benchmark (used by vane bench xds)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchxds.RunServer(cmd.Context(), g.out, g.errOut, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Mode, "mode", benchxds.Vane, "server: "+benchxds.Vane+" or "+benchxds.Snapshot)
	f.IntVar(&o.Streams, "streams", 1000, "number of ADS streams")
	f.IntVar(&o.Changes, "changes", 40, "weight changes to time")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write the server's CPU profile during the timed changes to this file")
	f.StringVar(&o.StreamsCPUProfile, "streams-cpuprofile", "", "write the streams process's CPU profile during the timed changes to this file")
	return cmd
}

func newBenchXDSStreamsCmd(g *globals) *cobra.Command {
	var addr, cpuProfile string
	var streams int
	cmd := &cobra.Command{
		Use:    benchxds.StreamsCmd,
		Short:  "Open N ADS streams that ACK every response (used by vane bench xds)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchxds.RunStreams(cmd.Context(), g.out, g.errOut, os.Stdin, addr, streams, cpuProfile)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "ADS server address")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write the CPU profile of the timed changes to this file")
	cmd.Flags().IntVar(&streams, "streams", 1000, "number of ADS streams")
	return cmd
}
