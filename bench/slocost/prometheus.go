package slocost

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
	"strings"
	"time"

	"github.com/vaneproj/vane/internal/tools"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/slo"
)

// Rule evaluation cost on a real Prometheus server: the same Sloth spec's
// rules from Vane and from Sloth, over the same backfilled history. The
// history holds the raw counters (15s scrapes) and, for each rule set, its
// own recorded 5m series at 1m as its rules would have written them, so
// that long windows read a full history in both.

// EvalResult is one rule set's cost: the Prometheus process's CPU
// time per round of evaluating every group once, the slowest group's last
// evaluation, and the rounds missed because evaluation overran the 15s
// interval.
type EvalResult struct {
	Rules          int     `json:"rules"`
	Groups         int     `json:"groups"`
	CPUPerRound    float64 `json:"cpu_seconds_per_round"`
	MaxGroupSecond float64 `json:"slowest_group_seconds"`
	Missed         float64 `json:"missed_iterations"`
}

// SlothSpec is a Sloth prometheus/v1 spec of n availability SLOs over
// n/10 services, which both Sloth and Vane load.
func SlothSpec(n int) []byte {
	var b strings.Builder
	b.WriteString("version: prometheus/v1\nservice: bench\nslos:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  - name: availability-%d
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(bench_requests_total{job="svc-%d",code="500"}[{{.window}}]))
        total_query: sum(rate(bench_requests_total{job="svc-%d"}[{{.window}}]))
    alerting:
      name: Availability%dBudgetBurn
`, i, i/10, i/10, i)
	}
	return []byte(b.String())
}

type ruleFileYAML struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string            `yaml:"record"`
			Alert  string            `yaml:"alert"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// backfillSeries lists, for one rule file, the recorded 5m series and the
// constant value each would hold: error rate, total rate or ratio.
func backfillSeries(rulesYAML []byte, values map[string]float64) ([]labels.Labels, []float64, int, int, error) {
	var f ruleFileYAML
	if err := yaml.Unmarshal(rulesYAML, &f); err != nil {
		return nil, nil, 0, 0, err
	}
	var ls []labels.Labels
	var vs []float64
	rules := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			rules++
			v, ok := values[r.Record]
			if !ok {
				continue
			}
			m := map[string]string{"__name__": r.Record}
			for k, x := range r.Labels {
				m[k] = x
			}
			ls = append(ls, labels.FromMap(m))
			vs = append(vs, v)
		}
	}
	return ls, vs, rules, len(f.Groups), nil
}

// writeHistory writes one block per day of history ending at end: raw
// counters for every service every 15s (100 requests/s, 0.1% errors) and
// the recorded series every minute.
func writeHistory(ctx context.Context, dir string, services int, rec []labels.Labels, recV []float64, history time.Duration, end time.Time) error {
	const day = 24 * time.Hour
	start := end.Add(-history).Truncate(time.Minute)
	for from := start; from.Before(end); from = from.Add(day) {
		to := from.Add(day)
		if to.After(end) {
			to = end
		}
		w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, 2*int64(day/time.Millisecond))
		if err != nil {
			return fmt.Errorf("block writer: %w", err)
		}
		app := w.Appender(ctx)
		for s := 0; s < services; s++ {
			job := fmt.Sprintf("svc-%d", s)
			ok := labels.FromStrings("__name__", "bench_requests_total", "job", job, "code", "200")
			bad := labels.FromStrings("__name__", "bench_requests_total", "job", job, "code", "500")
			for t := from; t.Before(to); t = t.Add(15 * time.Second) {
				secs := t.Sub(start).Seconds()
				if _, err := app.Append(0, ok, t.UnixMilli(), 99.9*secs); err != nil {
					return errors.Join(fmt.Errorf("append: %w", err), w.Close())
				}
				if _, err := app.Append(0, bad, t.UnixMilli(), 0.1*secs); err != nil {
					return errors.Join(fmt.Errorf("append: %w", err), w.Close())
				}
			}
		}
		for i, l := range rec {
			for t := from; t.Before(to); t = t.Add(time.Minute) {
				if _, err := app.Append(0, l, t.UnixMilli(), recV[i]); err != nil {
					return errors.Join(fmt.Errorf("append: %w", err), w.Close())
				}
			}
		}
		if err := app.Commit(); err != nil {
			return errors.Join(fmt.Errorf("commit: %w", err), w.Close())
		}
		if _, err := w.Flush(ctx); err != nil {
			return errors.Join(fmt.Errorf("flush: %w", err), w.Close())
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// scrapeRuleMetrics reads per-group iterations, missed iterations and last
// durations, and the process's CPU seconds.
func scrapeRuleMetrics(ctx context.Context, addr string) (iters, last map[string]float64, missed, cpu float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("parse %s/metrics: %w", addr, err)
	}
	// value is a counter's, gauge's or untyped metric's value.
	value := func(m *dto.Metric) float64 {
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		default:
			return m.GetUntyped().GetValue()
		}
	}
	// byGroup keys a family's values by their label set (the rule group).
	byGroup := func(name string) map[string]float64 {
		out := map[string]float64{}
		for _, m := range mfs[name].GetMetric() {
			var key strings.Builder
			for _, l := range m.GetLabel() {
				key.WriteString(l.GetName() + "=" + l.GetValue() + ",")
			}
			out[key.String()] = value(m)
		}
		return out
	}
	iters = byGroup("prometheus_rule_group_iterations_total")
	last = byGroup("prometheus_rule_group_last_duration_seconds")
	for _, v := range byGroup("prometheus_rule_group_iterations_missed_total") {
		missed += v
	}
	for _, m := range mfs["process_cpu_seconds_total"].GetMetric() {
		cpu = value(m)
	}
	return iters, last, missed, cpu, nil
}

// evalRules runs Prometheus on a copy of the history with one rule file
// and measures the summed evaluation time of all its groups per round.
func evalRules(ctx context.Context, progress io.Writer, prometheus, work, name string, rules []byte, groups int, history time.Duration) (EvalResult, error) {
	var res EvalResult
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644); err != nil {
		return res, err
	}
	cfg := "global:\n  evaluation_interval: 15s\nrule_files:\n  - rules.yaml\n"
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		return res, err
	}
	addr, err := tools.FreeAddr()
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(work, "data-"+name),
		"--storage.tsdb.retention.time="+slo.FormatDuration(history+24*time.Hour),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("starting prometheus: %w", err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	// After two rounds of every group (start-up done), measure the CPU
	// Prometheus spends over the next rounds.
	deadline := time.Now().Add(10 * time.Minute)
	firstRound, firstCPU := -1.0, 0.0
	for {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%s rules: fewer than three evaluation rounds in 10 minutes", name)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(2 * time.Second):
		}
		iters, last, missed, cpu, err := scrapeRuleMetrics(ctx, addr)
		if err != nil || len(iters) < groups {
			continue
		}
		round := -1.0
		for _, v := range iters {
			if round < 0 || v < round {
				round = v
			}
		}
		if round < 2 {
			continue
		}
		if firstRound < 0 {
			firstRound, firstCPU = round, cpu
			fmt.Fprintf(progress, "bench slo: %s rules: every group evaluated %.0f times; measuring...\n", name, round)
			continue
		}
		if round < firstRound+2 {
			continue
		}
		mx := 0.0
		for _, v := range last {
			mx = max(mx, v)
		}
		res.CPUPerRound = (cpu - firstCPU) / (round - firstRound)
		res.MaxGroupSecond, res.Missed, res.Groups = mx, missed, groups
		fmt.Fprintf(progress, "bench slo: %s rules: %.3f CPU seconds per round over rounds %.0f..%.0f, %.0f iterations missed\n",
			name, res.CPUPerRound, firstRound, round, missed)
		return res, nil
	}
}

// Prometheus compares the per-round rule evaluation cost of Vane's and
// Sloth's rules for n SLOs on a real Prometheus.
func Prometheus(ctx context.Context, progress io.Writer, n int, history time.Duration) (map[string]EvalResult, error) {
	prometheus, err := tools.Find("prometheus")
	if err != nil {
		return nil, err
	}
	sloth, err := tools.Find("sloth")
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "vane-bench-slo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	spec := filepath.Join(work, "spec.yaml")
	if err := os.WriteFile(spec, SlothSpec(n), 0o644); err != nil {
		return nil, err
	}
	slos, err := slo.Load(slo.File{Name: spec, Data: SlothSpec(n)})
	if err != nil {
		return nil, err
	}
	var vaneRules strings.Builder
	if err := slo.GenerateRules(&vaneRules, slos, slo.GenerateOptions{}); err != nil {
		return nil, err
	}
	slothOut := filepath.Join(work, "sloth.yaml")
	if out, err := exec.CommandContext(ctx, sloth, "generate", "-i", spec, "-o", slothOut).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sloth generate: %w: %s", err, out)
	}
	slothRules, err := os.ReadFile(slothOut)
	if err != nil {
		return nil, err
	}
	// Steady traffic: 100 requests/s per service, 0.1 errors/s.
	vl, vv, vRules, vGroups, err := backfillSeries([]byte(vaneRules.String()), map[string]float64{
		slo.RecordErrorRate5m: 0.1, slo.RecordTotalRate5m: 100})
	if err != nil {
		return nil, err
	}
	sl, sv, sRules, sGroups, err := backfillSeries(slothRules, map[string]float64{"slo:sli_error:ratio_rate5m": 0.001})
	if err != nil {
		return nil, err
	}
	end := time.Now()
	services := (n + 9) / 10
	out := map[string]EvalResult{}
	for _, rs := range []struct {
		name          string
		rules         []byte
		rec           []labels.Labels
		recV          []float64
		count, groups int
	}{
		{"vane", []byte(vaneRules.String()), vl, vv, vRules, vGroups},
		{"sloth", slothRules, sl, sv, sRules, sGroups},
	} {
		fmt.Fprintf(progress, "bench slo: writing %s of history for %d services and %d recorded %s series...\n", slo.FormatDuration(history), services, len(rs.rec), rs.name)
		data := filepath.Join(work, "data-"+rs.name)
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		if err := writeHistory(ctx, data, services, rs.rec, rs.recV, history, end); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		fmt.Fprintf(progress, "bench slo: evaluating %d %s rules in %d groups on Prometheus...\n", rs.count, rs.name, rs.groups)
		r, err := evalRules(ctx, progress, prometheus, work, rs.name, rs.rules, rs.groups, history)
		if err != nil {
			return nil, err
		}
		r.Rules = rs.count
		out[rs.name] = r
	}
	return out, nil
}
