package main

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// globals holds what every command shares: its output streams, the logger
// and the viper instance bound to the global flags and VANE_* environment.
type globals struct {
	out, errOut io.Writer
	v           *viper.Viper
}

// logger builds the process logger from --log-level and --log-format.
func (g *globals) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.v.GetString("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f := g.v.GetString("log-format"); f {
	case "text", "":
		return slog.New(slog.NewTextHandler(g.errOut, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.errOut, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format: %q is not one of text, json", f)
	}
}

func newRootCmd(out, errOut io.Writer) *cobra.Command {
	g := &globals{out: out, errOut: errOut, v: viper.New()}
	g.v.SetEnvPrefix("VANE")
	g.v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	g.v.AutomaticEnv()

	root := &cobra.Command{
		Use:   "vane",
		Short: "SLO-driven canary releases, burn-rate paging and autoscaling",
		Long: `Vane makes releases and scaling safe by their SLOs. It serves Envoy's xDS API
to shift traffic between a stable and a canary version, queries Prometheus for
SLIs, computes error budgets and burn rates, and from that evidence promotes or
rolls back canaries, pages on fast burns, and scales services.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	pf := root.PersistentFlags()
	pf.String("log-level", "info", "log level: debug, info, warn, error (env VANE_LOG_LEVEL)")
	pf.String("log-format", "text", "log format: text or json (env VANE_LOG_FORMAT)")
	_ = g.v.BindPFlag("log-level", pf.Lookup("log-level"))
	_ = g.v.BindPFlag("log-format", pf.Lookup("log-format"))

	// One line per command group; each group lives in its own file.
	root.AddCommand(
		newVersionCmd(g),
		newBenchCmd(g),
		newSLOCmd(g),
		newDemoCmd(g),
		newRunCmd(g), newRolloutCmd(g),
		newAutoscaleCmd(g),
		newSampleAppCmd(g), newLoadCmd(g),
		newBacktestCmd(g),
		newDashboardsCmd(g),
	)
	rejectUnknownSubcommands(root)
	return root
}

func newVersionCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print Vane's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if jsonOut(cmd) {
				return writeJSON(g.out, map[string]string{"version": vaneVersion(), "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH})
			}
			_, err := fmt.Fprintf(g.out, "vane %s (%s, %s/%s)\n", vaneVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
	addJSONFlag(cmd, "the version")
	return cmd
}
