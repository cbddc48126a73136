package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/controller"
)

func newRunCmd(g *globals) *cobra.Command {
	var file string
	var check bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the controller: xDS server, rollout loops, HTTP API and UI, metrics",
		Long: `Run the controller described by vane.yaml (see examples/vane.yaml).

It starts, in order: the store, Prometheus (the URL given, or embedded and
fed by the scrape section), the xDS server, one rollout loop per rollout in
progress, the HTTP API (with the web UI, /metrics, /healthz and /readyz),
and a watcher that starts a rollout when a service's canary changes in the
file. SIGTERM or SIGINT stop them in the reverse order within 10 s; the
rollout state is consistent at any moment, also after SIGKILL.

Without -c, the configuration is the first of ./vane.yaml,
$XDG_CONFIG_HOME/vane/vane.yaml (~/.config/vane/vane.yaml) and
/etc/vane/vane.yaml that exists.

Every scalar setting of the file can also come from an environment
variable named after its path: VANE_ and the path in upper case with
underscores (http.listen is VANE_HTTP_LISTEN, prometheus.basic_auth.username
is VANE_PROMETHEUS_BASIC_AUTH_USERNAME); a flag beats the variable, which
beats the file. Flags: --http-listen, --xds-listen, --store-path,
--prometheus-url.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("config") {
				if file = g.v.GetString("config"); file == "" {
					f, err := config.Find()
					if err != nil {
						return err
					}
					file = f
				}
			}
			cfg, err := config.Load(file, g.v)
			if err != nil {
				return err
			}
			if check {
				if jsonOut(cmd) {
					return writeJSON(g.out, checkJSON(file, cfg))
				}
				jobs := len(cfg.Scrape.Jobs)
				promDesc := "embedded Prometheus (" + fmt.Sprint(jobs) + " scrape jobs)"
				if cfg.Prometheus.URL != "" {
					promDesc = "Prometheus at " + cfg.Prometheus.URL
				}
				if err := controller.CheckJudges(cmd.Context(), cfg, g.out); err != nil {
					return err
				}
				_, err := fmt.Fprintf(g.out, "%s: OK: %d services, %d SLOs, %s, xDS on %s, HTTP on %s, store %s\n",
					file, len(cfg.Services), len(cfg.Loaded), promDesc, cfg.XDS.Listen, cfg.HTTP.Listen, controller.StoreDesc(cfg))
				for _, w := range cfg.Warnings {
					fmt.Fprintf(g.errOut, "warning: %s\n", w)
				}
				return err
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings {
				log.Warn("Configuration: " + w)
			}
			// client-go (endpoint informers, the Lease election) logs
			// through klog, a process-wide logger: send it to ours.
			klog.SetSlogLogger(log.With("component", "client-go"))
			return runController(cmd.Context(), cfg, log)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "configuration file (env VANE_CONFIG; default: the first of ./vane.yaml, $XDG_CONFIG_HOME/vane/vane.yaml, /etc/vane/vane.yaml)")
	f.BoolVar(&check, "check", false, "validate the configuration and exit")
	addJSONFlag(cmd, "--check's summary (with its warnings)")
	for _, key := range []string{"http.listen", "xds.listen", "store.path", "prometheus.url"} {
		f.String(config.FlagName(key), "", "overrides "+key+" (env "+config.EnvName(key)+")")
		_ = g.v.BindPFlag(key, f.Lookup(config.FlagName(key)))
	}
	return cmd
}

// runController runs the controller of cfg until ctx ends.
func runController(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	return runControllerWith(ctx, cfg, log, prometheus.NewRegistry())
}

// runControllerWith is runController with the metrics registry given: it
// registers the process's own collectors, then builds and runs the
// controller (package controller wires every part).
func runControllerWith(ctx context.Context, cfg *config.Config, log *slog.Logger, reg controller.Registry) error {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBuildInfo())
	c, err := controller.New(ctx, controller.Options{Config: cfg, Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	return c.Run(ctx)
}
