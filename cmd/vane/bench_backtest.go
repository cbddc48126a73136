package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vaneproj/vane/internal/tools"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/backtest"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

// benchBacktestResult is what `vane bench backtest --json` prints.
type benchBacktestResult struct {
	SLOs           int     `json:"slos"`
	Days           int     `json:"days"`
	Step           string  `json:"step"`
	FetchSeconds   float64 `json:"fetch_s"`
	ReplaySeconds  float64 `json:"replay_s"`
	Replays        int     `json:"replays"`
	TuneSeconds    float64 `json:"tune_s"`
	Policies       int     `json:"policies"`
	PoliciesPerSLO int     `json:"policies_per_slo"`
}

func newBenchBacktestCmd(g *globals) *cobra.Command {
	var (
		n, days int
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Time a backtest: fetch, replay and tune synthetic SLIs from a real Prometheus",
		Long: `backtest writes a synthetic history of N SLOs (1m scrapes, known incidents)
into TSDB blocks, starts the pinned Prometheus on them, and times the fetch
of every SLI with query_range, the replay of three policies per SLO, and a
tune over the candidate grid per SLO.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := benchBacktest(cmd.Context(), g.errOut, n, days)
			if err != nil {
				return err
			}
			if asJSON {
				return backtest.WriteJSON(g.out, res)
			}
			_, err = fmt.Fprintf(g.out, "%d SLOs × %d days at %s: fetch %.2fs, replay of %d policies %.2fs, tune of %d policies %.2fs\n",
				res.SLOs, res.Days, res.Step, res.FetchSeconds, res.Replays, res.ReplaySeconds, res.Policies, res.TuneSeconds)
			return err
		},
	}
	cmd.Flags().IntVar(&n, "slos", 10, "SLOs")
	cmd.Flags().IntVar(&days, "days", 30, "days of history")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func benchSLO(i int) *slo.SLO {
	s := &slo.SLO{Name: fmt.Sprintf("availability-%d", i), Service: "bench", Objective: 99.9,
		Window: slo.Window{Duration: slo.DefaultWindow}, Format: slo.FormatNative, Source: "bench"}
	s.SLI = slo.SLI{Kind: slo.SLIEvents,
		ErrorQuery: fmt.Sprintf(`sum(rate(%s{slo="%d"}[%s]))`, slo.TestErrorsMetric, i, slo.WindowVar),
		TotalQuery: fmt.Sprintf(`sum(rate(%s{slo="%d"}[%s]))`, slo.TestRequestsMetric, i, slo.WindowVar)}
	s.Alerting.Name = "BenchAvailability"
	return s
}

func benchBacktest(ctx context.Context, progress io.Writer, n, days int) (*benchBacktestResult, error) {
	if n <= 0 || days <= 0 {
		return nil, errors.New("--slos and --days must be positive")
	}
	bin, err := tools.Find("prometheus")
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "vane-bench-backtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	fmt.Fprintf(progress, "bench backtest: writing %d days of %d SLIs\n", days, n)
	w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), work, int64(time.Duration(days+1)*24*time.Hour/time.Millisecond))
	if err != nil {
		return nil, err
	}
	app := w.Appender(ctx)
	for i := 0; i < n; i++ {
		c, _ := backtest.Synth(backtest.SynthOptions{Start: start, Days: days, Seed: uint64(i + 1)})
		req := labels.FromStrings("__name__", slo.TestRequestsMetric, "slo", fmt.Sprint(i))
		bad := labels.FromStrings("__name__", slo.TestErrorsMetric, "slo", fmt.Sprint(i))
		for k := range c.Requests {
			ts := c.Start.Add(time.Duration(k) * c.Interval).UnixMilli()
			if _, err := app.Append(0, req, ts, c.Requests[k]); err != nil {
				return nil, errors.Join(err, w.Close())
			}
			if _, err := app.Append(0, bad, ts, c.Errors[k]); err != nil {
				return nil, errors.Join(err, w.Close())
			}
		}
	}
	if err := app.Commit(); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	if _, err := w.Flush(ctx); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "prometheus.yml"), []byte("global: {}\n"), 0o644); err != nil {
		return nil, err
	}
	addr, err := tools.FreeAddr()
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(pctx, bin, "--config.file="+filepath.Join(work, "prometheus.yml"), "--storage.tsdb.path="+work,
		"--storage.tsdb.retention.time="+slo.FormatDuration(time.Duration(days+30)*24*time.Hour), "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting prometheus: %w", err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	url := "http://" + addr
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("prometheus was not ready within a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
	q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: url, Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	res := &benchBacktestResult{SLOs: n, Days: days, Step: "1m"}
	slos := make([]*slo.SLO, n)
	for i := range slos {
		slos[i] = benchSLO(i)
	}
	run := backtest.Run{SLOs: slos, Querier: q, URL: url, NoCache: true, Progress: progress,
		Fetch: backtest.FetchOptions{From: start, To: end, Step: time.Minute}}
	t0 := time.Now()
	series := map[string]*backtest.Series{}
	for _, s := range slos {
		ser, err := backtest.Fetch(ctx, q, s, run.Fetch)
		if err != nil {
			return nil, err
		}
		series[s.ID()] = ser
	}
	res.FetchSeconds = time.Since(t0).Seconds()
	t0 = time.Now()
	for _, s := range slos {
		ps, _ := backtest.Policies(s, nil)
		for _, p := range ps {
			if _, err := backtest.Evaluate(s, p, series[s.ID()], nil); err != nil {
				return nil, err
			}
			res.Replays++
		}
	}
	res.ReplaySeconds = time.Since(t0).Seconds()
	fmt.Fprintf(progress, "bench backtest: fetched in %.2fs, replayed %d policies in %.2fs; tuning\n", res.FetchSeconds, res.Replays, res.ReplaySeconds)
	t0 = time.Now()
	c := backtest.Constraints{MaxPagesPerWeek: 2, DetectBurn: 10, DetectWithin: time.Hour, MaxBudgetAtPage: 0.05}
	for _, s := range slos {
		cur := backtest.SpecPolicy(s)
		cands := backtest.Candidates(s, cur)
		if _, err := backtest.Tune(s, series[s.ID()], cur, cands, c, nil); err != nil {
			return nil, err
		}
		res.Policies += len(cands)
		res.PoliciesPerSLO = len(cands)
	}
	res.TuneSeconds = time.Since(t0).Seconds()
	return res, nil
}
