package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/backtest"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/controller"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

// newBacktestCmd wires `vane backtest`: the flags, the Prometheus client
// (the same auth options as vane run's prometheus section, read from
// --config) and the backtest package's fetch, replay and reports.
func newBacktestCmd(g *globals) *cobra.Command {
	var (
		files, policies                    []string
		promURL, cfgFile, from, to, outDir string
		dataDir                            string
		incidents, cacheDir                string
		step                               time.Duration
		noCache, asJSON, tune              bool
		detect                             string
		maxPages, maxBudget                float64
	)
	cmd := &cobra.Command{
		Use:   "backtest -f slos.yaml --prometheus URL --from T --to T",
		Short: "Replay SLI history through alert policies and report how they would have paged",
		Long: `backtest reads each SLO's SLI over a range of history with query_range (in
chunks, cached on disk) and replays it through alert policies: the spec's own
tiers, the SRE Workbook's, Pyrra's (with for:) and those of --policy files.
It reports pages and tickets per week, each alert's start, end, detection time,
budget spent before firing and reset time, flapping, time burning above 1×
with no alert, and with --incidents, precision and recall.

Times are RFC 3339, "now", or "now-30d".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			slos, _, err := loadSpecs(cmd, g.errOut, files, nil, slo.LoadOptions{})
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			f, err := parseWhen("--from", from, now)
			if err != nil {
				return err
			}
			t, err := parseWhen("--to", to, now)
			if err != nil {
				return err
			}
			var q backtest.Querier
			source := ""
			if dataDir != "" {
				if promURL != "" || cfgFile != "" {
					return errors.New("--data-dir reads a TSDB directory; leave out --prometheus and --config")
				}
				dq, err := openDataDir(dataDir, 5*time.Minute)
				if err != nil {
					return err
				}
				defer dq.Close()
				q, source = dq, "file://"+dataDir
			} else {
				hc := prom.HTTPConfig{URL: promURL}
				if cfgFile != "" {
					cfg, err := config.Load(cfgFile, g.v)
					if err != nil {
						return err
					}
					hc.Client = controller.PromHTTPClientConfig(cfg)
					hc.Timeout = time.Duration(cfg.Prometheus.Timeout)
					if hc.URL == "" {
						hc.URL = cfg.Prometheus.URL
					}
				}
				if hc.URL == "" {
					return errors.New("--prometheus: no URL (or a --config whose prometheus.url is set, or --data-dir)")
				}
				if hc.Timeout < time.Minute {
					hc.Timeout = time.Minute // a week of 1m points per chunk
				}
				hq, err := prom.NewHTTPQuerier(hc)
				if err != nil {
					return fmt.Errorf("--prometheus: %w", err)
				}
				q, source = hq, hc.URL
			}
			var extra []backtest.PolicySource
			for _, p := range policies {
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("--policy: %w", err)
				}
				extra = append(extra, backtest.PolicySource{Name: p, Data: b})
			}
			var incs []backtest.Incident
			if incidents != "" {
				fh, err := os.Open(incidents)
				if err != nil {
					return fmt.Errorf("--incidents: %w", err)
				}
				incs, err = backtest.ParseIncidents(incidents, fh)
				fh.Close()
				if err != nil {
					return err
				}
			}
			if cacheDir == "" && !noCache {
				if d, err := os.UserCacheDir(); err == nil {
					cacheDir = filepath.Join(d, "vane", "backtest")
				}
			}
			run := backtest.Run{
				SLOs: slos, Querier: q, URL: source, Policies: extra, Incidents: incs,
				Fetch:   backtest.FetchOptions{From: f, To: t, Step: step, Transient: func(err error) bool { return prom.KindOf(err).Retryable() }},
				NoCache: noCache, Cache: backtest.Cache{Dir: cacheDir}, Progress: g.errOut,
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			rep, err := run.Do(ctx)
			if err != nil {
				return err
			}
			if tune {
				return runTune(g, slos, rep, incs, outDir, asJSON, detect, maxPages, maxBudget)
			}
			if outDir != "" {
				if err := rep.WriteDir(outDir); err != nil {
					return err
				}
				fmt.Fprintf(g.errOut, "wrote %s\n", strings.Join(rep.Files(outDir), ", "))
			}
			if asJSON {
				return backtest.WriteJSON(g.out, rep.Results)
			}
			return backtest.WriteTable(g.out, rep.Results)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&files, "file", "f", nil, "SLO spec file (repeatable)")
	fl.StringVar(&promURL, "prometheus", "", "Prometheus, Thanos or Mimir base URL")
	fl.StringVar(&dataDir, "data-dir", "", "read a TSDB directory instead (the embedded Prometheus's data directory of vane run)")
	fl.StringVar(&cfgFile, "config", "", "vane config whose prometheus section gives the URL and auth (TLS, bearer token, basic auth, OAuth2)")
	fl.StringVar(&from, "from", "now-30d", "start of the range")
	fl.StringVar(&to, "to", "now", "end of the range")
	fl.DurationVar(&step, "step", time.Minute, "resolution of the replay (the rules' evaluation interval)")
	fl.StringSliceVar(&policies, "policy", nil, "policy file to compare (repeatable)")
	fl.StringVar(&incidents, "incidents", "", "CSV of labelled incidents (start,end[,name]) for precision and recall")
	fl.StringVar(&outDir, "out", "", "directory for report.md, alerts.csv, results.json and plots")
	fl.BoolVar(&asJSON, "json", false, "print the results as JSON")
	fl.BoolVar(&noCache, "no-cache", false, "query Prometheus even when the range is cached")
	fl.StringVar(&cacheDir, "cache-dir", "", "cache directory (default the user cache dir's vane/backtest)")
	fl.BoolVar(&tune, "tune", false, "search tiers, burn factors and min_events for policies meeting the constraints")
	fl.Float64Var(&maxPages, "max-pages-per-week", 0, "tune: most pages per week on the replayed history")
	fl.StringVar(&detect, "detect", "", `tune: a burn that must page within a time, e.g. "10x-within 1h"`)
	fl.Float64Var(&maxBudget, "max-budget-at-page", 0, "tune: most budget (percent) any replayed page may let burn before firing")
	return cmd
}

// runTune searches policies for each SLO, prints the Pareto table and
// writes the chosen policy as a diff of the spec's alerting block.
func runTune(g *globals, slos []*slo.SLO, rep *backtest.Report, incs []backtest.Incident, outDir string, asJSON bool,
	detect string, maxPages, maxBudget float64) error {
	c := backtest.Constraints{MaxPagesPerWeek: maxPages, MaxBudgetAtPage: maxBudget / 100}
	if detect != "" {
		var err error
		if c.DetectBurn, c.DetectWithin, err = backtest.ParseDetect(detect); err != nil {
			return err
		}
	}
	if maxPages < 0 || maxBudget < 0 || maxBudget > 100 {
		return errors.New("--max-pages-per-week must be ≥ 0 and --max-budget-at-page in [0, 100]")
	}
	var results []*backtest.TuneResult
	var b strings.Builder
	for _, s := range slos {
		cur := backtest.SpecPolicy(s)
		t0 := time.Now()
		res, err := backtest.Tune(s, rep.Series[s.ID()], cur, backtest.Candidates(s, cur), c, incs)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.errOut, "%s: tuned %d policies in %s\n", s.ID(), res.Searched, time.Since(t0).Round(time.Millisecond))
		results = append(results, res)
		backtest.WriteTuneTable(&b, res, 8)
		if res.Chosen != nil && res.Chosen.Policy.Name != cur.Name {
			d := backtest.Diff(s.Source, cur, res.Chosen.Policy)
			if outDir != "" {
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return err
				}
				p := filepath.Join(outDir, s.ID()+"-tuned.diff")
				if err := os.WriteFile(p, []byte(d), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(&b, "  wrote %s\n", p)
			} else {
				b.WriteString(d)
			}
		}
		b.WriteString("\n")
	}
	if asJSON {
		return backtest.WriteJSON(g.out, results)
	}
	_, err := fmt.Fprint(g.out, b.String())
	return err
}

// parseWhen reads an RFC 3339 time, "now" or "now-DURATION".
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "now-"):
		d, err := slo.ParseDuration(strings.TrimPrefix(s, "now-"))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q: %w", flag, s, err)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want RFC 3339, now or now-30d", flag, s)
	}
	return t, nil
}
