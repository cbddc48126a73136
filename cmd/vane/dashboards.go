package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/dashboards"
	"github.com/vaneproj/vane/internal/controller"
	"github.com/vaneproj/vane/slo"
)

func newDashboardsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dashboards",
		Short: "Grafana dashboards and runbooks for the SLOs",
	}
	cmd.AddCommand(newDashboardsGenerateCmd(g))
	return cmd
}

func newDashboardsGenerateCmd(g *globals) *cobra.Command {
	var (
		files      []string
		cfgFile    string
		outDir     string
		runbookURL string
	)
	cmd := &cobra.Command{
		Use:   "generate -f FILE... [-c vane.yaml] -o DIR",
		Short: "Write the executive, on-call, debug and SLO Grafana dashboards and one runbook per SLO",
		Long: `Write into DIR four Grafana dashboards (executive.json, oncall.json,
debug.json, slo-detail.json; import them in Grafana and pick the Prometheus
data source, for vane run's embedded one http://HOST:PORT/prometheus) and
DIR/runbooks/SERVICE-SLO.md, one runbook per SLO. The SLOs come from -f files
and, with -c, from vane.yaml's slos; with -c the runbook links point at vane
run's /runbooks/ unless --runbook-url says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outDir == "" {
				return errors.New("-o DIR is required")
			}
			var slos []*slo.SLO
			if len(files) > 0 {
				s, _, err := loadSpecs(cmd, g.errOut, files, nil, slo.LoadOptions{})
				if err != nil {
					return err
				}
				slos = append(slos, s...)
			}
			if cfgFile != "" {
				cfg, err := config.Load(cfgFile, nil)
				if err != nil {
					return err
				}
				slos = append(slos, cfg.Loaded...)
				if runbookURL == "" {
					runbookURL = controller.RunbookBaseURL(cfg)
				}
			}
			if len(slos) == 0 {
				return errors.New("no SLOs: give -f FILE or -c vane.yaml with slos")
			}
			out, err := dashboards.Generate(slos, dashboards.Options{RunbookBaseURL: runbookURL})
			if err != nil {
				return err
			}
			for _, f := range out {
				path := filepath.Join(outDir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return fmt.Errorf("-o: %w", err)
				}
				if err := writeFileAtomic(path, f.Data); err != nil {
					return err
				}
			}
			fmt.Fprintf(g.errOut, "wrote 4 dashboards and %d runbooks to %s\n", len(out)-4, outDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&files, "file", "f", nil, "SLO spec file; repeatable")
	f.StringVarP(&cfgFile, "config", "c", "", "vane.yaml: its slos files, and where vane run serves the runbooks")
	f.StringVarP(&outDir, "output", "o", "", "directory to write into")
	f.StringVar(&runbookURL, "runbook-url", "", "base URL of the runbooks in dashboards and alerts (default with -c: http://<http.listen>/runbooks)")
	return cmd
}
