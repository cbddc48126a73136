package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/backtest"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/slo"
)

// TestBacktestDataDir backtests a TSDB directory (as vane run's embedded
// Prometheus keeps one) holding a synthetic week, writes the reports, and
// tunes; bad flags fail naming the flag.
func TestBacktestDataDir(t *testing.T) {
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	start := end.Add(-7 * 24 * time.Hour)
	c, _ := backtest.Synth(backtest.SynthOptions{Start: start, Days: 7, Seed: 5})
	req := analysis.Series{Labels: map[string]string{"__name__": slo.TestRequestsMetric, "service": "checkout"}}
	errs := analysis.Series{Labels: map[string]string{"__name__": slo.TestErrorsMetric, "service": "checkout"}}
	for i := range c.Requests {
		at := c.Start.Add(time.Duration(i) * c.Interval)
		req.Points = append(req.Points, analysis.Point{T: at, V: c.Requests[i]})
		errs.Points = append(errs.Points, analysis.Point{T: at, V: c.Errors[i]})
	}
	dir := t.TempDir()
	in := filepath.Join(t.TempDir(), "in.om")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := promtest.WriteOpenMetrics(f, []analysis.Series{req, errs}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := exec.Command(promtest.Tool(t, "promtool"), "tsdb", "create-blocks-from", "openmetrics",
		"--max-block-duration=192h", in, dir).CombinedOutput(); err != nil {
		t.Fatalf("promtool backfill: %v\n%s", err, out)
	}
	spec := filepath.Join("..", "..", "backtest", "testdata", "checkout.yaml")
	outDir := t.TempDir()
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetArgs(append([]string{"backtest", "-f", spec, "--data-dir", dir, "--from", start.Format(time.RFC3339),
			"--to", end.Format(time.RFC3339), "--no-cache"}, args...))
		err := root.Execute()
		return out.String(), errOut.String(), err
	}
	out, errOut, err := run("--out", outDir)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, w := range []string{"checkout-availability  spec", "workbook", "pyrra"} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
	for _, f := range []string{"report.md", "alerts.csv", "results.json", "checkout-availability-spec.png"} {
		if st, err := os.Stat(filepath.Join(outDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	out, errOut, err = run("--tune", "--max-pages-per-week", "3", "--detect", "10x-within 1h")
	if err != nil || !strings.Contains(out, "candidate policies searched") {
		t.Fatalf("tune: %v\n%s\n%s", err, out, errOut)
	}
	for _, c := range []struct{ args []string }{
		{[]string{"--detect", "fast", "--tune"}},
		{[]string{"--from", "yesterday"}},
		{[]string{"--prometheus", "http://127.0.0.1:1"}},
	} {
		if _, _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.args[0]) {
			t.Errorf("%v: err = %v, want one naming %s", c.args, err, c.args[0])
		}
	}
}
