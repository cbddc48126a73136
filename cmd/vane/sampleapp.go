package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/demo/sampleapp"
)

// newSampleAppCmd runs one version of the demo's sample gRPC service, so
// that the `vane run` walkthrough has something to route to and scrape.
func newSampleAppCmd(g *globals) *cobra.Command {
	var c sampleapp.Config
	cmd := &cobra.Command{
		Use:   "sample-app",
		Short: "Run one version of the sample gRPC service (the demo's), with its /metrics",
		Long: `Run one version of the sample gRPC service that the demo uses: gRPC's
grpc.testing.TestService (UnaryCall) on --grpc, and on --metrics the HTTP
endpoints /metrics (demo_requests_total{version,code} and the histogram
demo_request_duration_seconds{version}) and /healthz. Every answer carries
the version in the trailer x-demo-version, which "vane load" counts.

--error-ratio makes that share of calls fail with Unavailable, --latency adds
to every call: a bad canary to try a rollout on. It runs until Ctrl-C.`,
		Example: `  vane sample-app --version v1 --grpc 127.0.0.1:9001 --metrics 127.0.0.1:9101
  vane sample-app --version v2 --grpc 127.0.0.1:9002 --metrics 127.0.0.1:9102 --error-ratio 0.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			c.Logger = log.With("component", "sample-app")
			in, err := sampleapp.Start(c)
			if err != nil {
				return err
			}
			var bad []string
			if c.ErrorRatio > 0 {
				bad = append(bad, fmt.Sprintf("%.3g%% of calls fail with Unavailable", 100*c.ErrorRatio))
			}
			if c.Latency > 0 {
				bad = append(bad, fmt.Sprintf("+%s on every call", c.Latency))
			}
			if len(bad) == 0 {
				bad = []string{"healthy"}
			}
			fmt.Fprintf(g.out, "sample-app %s: gRPC on %s, metrics on %s (%s); Ctrl-C stops it\n",
				in.Version(), in.Addr(), in.MetricsURL(), strings.Join(bad, ", "))
			<-cmd.Context().Done()
			return in.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Version, "version", "v1", "the version this instance is and reports (label version, trailer x-demo-version)")
	f.StringVar(&c.GRPCAddr, "grpc", "127.0.0.1:9001", "gRPC listen address")
	f.StringVar(&c.HTTPAddr, "metrics", "127.0.0.1:9101", "HTTP listen address of /metrics and /healthz")
	f.Float64Var(&c.ErrorRatio, "error-ratio", 0, "share of calls, 0..1, that fail with Unavailable")
	f.DurationVar(&c.Latency, "latency", 0*time.Millisecond, "latency added to every call, e.g. 150ms")
	return cmd
}
