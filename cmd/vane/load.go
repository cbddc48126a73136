package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/xds"
)

// newLoadCmd sends calls to a service through gRPC's real xDS client, so
// that the `vane run` walkthrough has users whose traffic Vane shifts.
func newLoadCmd(g *globals) *cobra.Command {
	var (
		xdsServer, nodeID string
		rate              float64
		every, duration   time.Duration
		slow              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "load SERVICE",
		Short: "Call a service through gRPC's xDS client at a rate, printing what each version answered",
		Long: `Call SERVICE (the sample service's UnaryCall) through gRPC-Go's real xDS
client: it dials xds:///SERVICE with a bootstrap that points at the xDS
server --xds (a vane run), so the weights Vane serves decide which version
answers. Every --every it prints, per version that answered, bad/total
calls so far (bad: failed, or slower than --slow when set), e.g.
  12:00:10 v1=0/475 v2=3/25
It runs until Ctrl-C, or for --duration.`,
		Example: `  vane load checkout --xds 127.0.0.1:18000 --rate 50`,
		Args:    oneName("the service to call", "a service of vane.yaml, dialed as xds:///SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			if nodeID == "" {
				nodeID = fmt.Sprintf("vane-load-%d", os.Getpid())
			}
			boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: xdsServer, NodeID: nodeID})
			if err != nil {
				return err
			}
			gen, err := loadgen.New(loadgen.Config{Target: "xds:///" + args[0], Bootstrap: boot, Rate: rate,
				SlowThreshold: slow, Logger: log.With("component", "load")})
			if err != nil {
				return err
			}
			defer gen.Close()
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			fmt.Fprintf(g.out, "load: %g calls/s to xds:///%s through the xDS server %s (node %s)\n", rate, args[0], xdsServer, nodeID)
			done := make(chan error, 1)
			go func() { done <- gen.Run(ctx) }()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					fmt.Fprintln(g.out, loadLine(gen.Stats()))
				case err := <-done:
					fmt.Fprintln(g.out, loadLine(gen.Stats()))
					return err
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&xdsServer, "xds", "127.0.0.1:18000", "host:port of the xDS server (vane run's xds.listen)")
	f.StringVar(&nodeID, "node-id", "", "the xDS node id this client reports (default vane-load-PID)")
	f.Float64Var(&rate, "rate", 50, "calls per second")
	f.DurationVar(&every, "every", 10*time.Second, "how often to print the counts")
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.DurationVar(&slow, "slow", 0, "count successful calls slower than this as bad (0: only failures)")
	return cmd
}

// loadLine is one line of counts: the time, then version=bad/total for each
// version that answered, in version order.
func loadLine(s loadgen.Stats) string {
	vers := make([]string, 0, len(s.ByVersion))
	for v := range s.ByVersion {
		vers = append(vers, v)
	}
	slices.Sort(vers)
	var b strings.Builder
	b.WriteString(s.At.Format("15:04:05"))
	if len(vers) == 0 {
		b.WriteString(" no answers yet")
	}
	for _, v := range vers {
		vs := s.ByVersion[v]
		fmt.Fprintf(&b, " %s=%d/%d", v, vs.Bad(), vs.Total())
	}
	return b.String()
}
