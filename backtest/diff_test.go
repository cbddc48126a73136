package backtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/slo"
)

// promtool finds promtool through VANE_TOOLS_DIR, PATH or .tools/bin and
// fails (never skips) when it is missing.
func promtool(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("VANE_TOOLS_DIR"); dir != "" {
		if p := filepath.Join(dir, "promtool"); isExec(p) {
			return p
		}
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	if p := filepath.Join(filepath.Dir(file), "..", ".tools", "bin", "promtool"); isExec(p) {
		return p
	}
	t.Fatal("promtool not found in VANE_TOOLS_DIR, PATH or .tools/bin: run `make test-tools` (scripts/install-test-tools.sh)")
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// testSLO is the SLO of the differential test: 99.9% over 7 days with the
// Workbook's tiers scaled to it, on the synthetic counters. (A 30-day
// window's 3d tier makes promtool read 2,000 samples per step and take
// minutes over a month; a 7-day window keeps the test to seconds.)
func testSLO() *slo.SLO {
	s := slo.TestTwin(&slo.SLO{Name: "availability", Service: "checkout", Objective: 99.9,
		Window: slo.Window{Duration: 7 * 24 * time.Hour}, Format: slo.FormatNative})
	s.Alerting.Name = "CheckoutAvailability"
	return s
}

// TestReplayMatchesPromtool is the differential test: a synthetic month
// with known incidents runs through the generated rules in promtool and
// through Replay; every replayed alert's start and end must match what
// Prometheus's rule evaluation fires within one evaluation interval, and
// Prometheus must fire nothing where the replay is quiet.
func TestReplayMatchesPromtool(t *testing.T) {
	bin := promtool(t)
	start := time.Unix(0, 0).UTC()
	c, incs := Synth(SynthOptions{Start: start, Days: 30, Seed: 7, Interval: 3 * time.Minute})
	s := testSLO()
	series := SeriesFromCounters(c)
	res, err := Evaluate(s, SpecPolicy(s), series, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages < 4 || res.Tickets < 1 {
		t.Fatalf("the synthetic month should page at least 4 times and ticket once, got %d pages %d tickets: %+v", res.Pages, res.Tickets, res.Alerts)
	}
	for _, in := range incs {
		found := false
		for _, a := range res.Alerts {
			if a.Start.Before(in.End.Add(6*time.Hour)) && in.Start.Before(a.End) {
				found = true
			}
		}
		if !found && in.Ratio >= 0.015 {
			t.Errorf("incident %s–%s at %g errors raised no alert", in.Start, in.End, in.Ratio)
		}
	}

	dir := t.TempDir()
	// The rules, less the SLO window's ratio, the budget and the metadata
	// series: they raise no alert, and the window's ratio would make
	// promtool read a week of samples at every step.
	rf := slo.Rules([]*slo.SLO{s}, slo.GenerateOptions{PlainAnnotations: true})
	var kept []slo.Rule
	for _, r := range rf.Groups[0].Rules {
		switch r.Record {
		case slo.RecordErrorRatio + "7d", slo.RecordBudgetRemaining, slo.RecordObjective, slo.RecordErrorBudget,
			slo.RecordWindowSeconds, slo.RecordCurrentBurnRate:
			continue
		}
		kept = append(kept, r)
	}
	rf.Groups[0].Rules = kept
	rb, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rb, 0o644); err != nil {
		t.Fatal(err)
	}

	iv := c.Interval
	at := func(tm time.Time) string { return slo.FormatDuration(tm.Sub(start)) }
	var checks []slo.PromQLExprTest
	firing := func(sev slo.Severity) string {
		return fmt.Sprintf(`count(ALERTS{alertname=%q,alertstate="firing",vane_severity=%q})`, s.Alerting.Name, sev)
	}
	expect := func(sev slo.Severity, tm time.Time, on bool) {
		if tm.Before(start) || !tm.Before(series.At(series.Len()-1)) {
			return
		}
		ck := slo.PromQLExprTest{Expr: firing(sev), EvalTime: at(tm)}
		if on {
			ck.ExpSamples = []slo.ExpSample{{Labels: "{}", Value: 1}}
		}
		checks = append(checks, ck)
	}
	for _, a := range res.Alerts {
		// Prometheus's alert must start within one interval of the replay's
		// start and end within one interval of its end.
		expect(a.Severity, a.Start.Add(-2*iv), false)
		expect(a.Severity, a.End.Add(iv), false)
		if a.End.Sub(a.Start) > 3*iv {
			expect(a.Severity, a.Start.Add(iv), true)
			expect(a.Severity, a.End.Add(-2*iv), true)
		}
	}
	// Quiet stretches stay quiet: a check every 30 minutes away from alerts.
	for _, sev := range []slo.Severity{slo.SeverityPage, slo.SeverityTicket} {
		for tm := start.Add(time.Hour); tm.Before(series.At(series.Len() - 1)); tm = tm.Add(30 * time.Minute) {
			quiet := true
			for _, a := range res.Alerts {
				if a.Severity == sev && tm.After(a.Start.Add(-3*iv)) && tm.Before(a.End.Add(2*iv)) {
					quiet = false
				}
			}
			if quiet {
				expect(sev, tm, false)
			}
		}
	}

	var req, errs strings.Builder
	for i := range c.Requests {
		if i > 0 {
			req.WriteByte(' ')
			errs.WriteByte(' ')
		}
		req.WriteString(strconv.FormatFloat(c.Requests[i], 'f', -1, 64))
		errs.WriteString(strconv.FormatFloat(c.Errors[i], 'f', -1, 64))
	}
	pt := slo.PromtoolTests{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: slo.FormatDuration(iv),
		Tests: []slo.PromtoolTest{{Name: "synthetic month", Interval: slo.FormatDuration(iv),
			InputSeries: []slo.InputSeries{{Series: slo.TestRequestsMetric, Values: req.String()}, {Series: slo.TestErrorsMetric, Values: errs.String()}},
			PromQLTest:  checks}}}
	f, err := os.Create(filepath.Join(dir, "tests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := slo.WriteTests(f, pt); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t0 := time.Now()
	cmd := exec.Command(bin, "test", "rules", "tests.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("promtool evaluated %d steps with %d checks over %d alerts in %s", series.Len(), len(checks), len(res.Alerts), time.Since(t0).Round(time.Millisecond))
	if err != nil {
		o := string(out)
		if len(o) > 8000 {
			o = o[:8000]
		}
		t.Fatalf("promtool test rules disagrees with the replay: %v\n%s", err, o)
	}
}
