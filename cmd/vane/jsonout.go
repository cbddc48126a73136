package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/config"
)

// addJSONFlag adds --json ("print WHAT as JSON instead of text") to cmd.
func addJSONFlag(cmd *cobra.Command, what string) {
	cmd.Flags().Bool("json", false, "print "+what+" as JSON instead of text, for scripts")
}

// jsonOut reports whether --json was given.
func jsonOut(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// completeRollouts completes a rollout's name from the running controller's
// list (names of the services that have a rollout); nothing when it is not
// reachable within a second.
func completeRollouts(client func() (*apiClient, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c.http.Timeout = time.Second
		var l api.RolloutList
		if err := c.do(context.Background(), http.MethodGet, "/api/v1/rollouts", nil, &l); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, st := range l.Rollouts {
			if strings.HasPrefix(st.Name, toComplete) {
				out = append(out, cobra.CompletionWithDesc(st.Name, string(st.Phase)))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// checkJSON is what `vane run --check --json` prints about a valid
// configuration.
func checkJSON(file string, cfg *config.Config) any {
	type service struct {
		Name   string `json:"name"`
		Stable string `json:"stable"`
		Canary string `json:"canary,omitempty"`
		Steps  int    `json:"steps"`
	}
	out := struct {
		File          string    `json:"file"`
		OK            bool      `json:"ok"`
		Services      []service `json:"services"`
		SLOs          int       `json:"slos"`
		PrometheusURL string    `json:"prometheus_url,omitempty"`
		ScrapeJobs    int       `json:"scrape_jobs"`
		XDSListen     string    `json:"xds_listen"`
		HTTPListen    string    `json:"http_listen"`
		Store         string    `json:"store"`
		Warnings      []string  `json:"warnings"`
	}{File: file, OK: true, Services: []service{}, SLOs: len(cfg.Loaded), PrometheusURL: cfg.Prometheus.URL,
		ScrapeJobs: len(cfg.Scrape.Jobs), XDSListen: cfg.XDS.Listen, HTTPListen: cfg.HTTP.Listen,
		Store: cfg.Resolve(cfg.Store.Path), Warnings: append([]string{}, cfg.Warnings...)}
	for _, sc := range cfg.ServiceConfigs() {
		out.Services = append(out.Services, service{Name: sc.Service.Name, Stable: sc.Service.Stable.Version,
			Canary: sc.Service.Canary.Version, Steps: len(sc.Plan.WithDefaults().Steps)})
	}
	return out
}
