package slo

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// tool finds a test tool through VANE_TOOLS_DIR, PATH or the repository's
// .tools/bin, and fails the test (never skips) when it is missing.
func tool(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv("VANE_TOOLS_DIR"); dir != "" {
		if p := filepath.Join(dir, name); isExec(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	if p := filepath.Join(filepath.Dir(file), "..", ".tools", "bin", name); isExec(p) {
		return p
	}
	t.Fatalf("%s not found in VANE_TOOLS_DIR, PATH or .tools/bin: run `make test-tools` (scripts/install-test-tools.sh)", name)
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func run(t testing.TB, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeRules(t testing.TB, path string, slos []*SLO, opts GenerateOptions) {
	t.Helper()
	var b bytes.Buffer
	if err := GenerateRules(&b, slos, opts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeTests(t testing.TB, path string, pt PromtoolTests) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTests(&b, pt); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPromtoolTierSuites runs the generated rule unit tests through the
// real promtool for the example SLOs with distinct tiers: the Workbook's 30d
// tiers (Sloth spec), tiers scaled to 28d with min_events, and custom tiers
// on a calendar month. (The OpenSLO example has the 30d tiers again.)
func TestPromtoolTierSuites(t *testing.T) {
	promtool := tool(t, "promtool")
	var slos []*SLO
	for _, f := range []string{"sloth-checkout.yaml", "native-api.yaml"} {
		slos = append(slos, loadExample(t, f)...)
	}
	for _, s := range slos {
		t.Run(s.ID(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			twin := TestTwin(s)
			writeRules(t, filepath.Join(dir, "rules.yaml"), []*SLO{twin}, GenerateOptions{PlainAnnotations: true})
			files, times := TierTests(twin, "rules.yaml")
			args := []string{"test", "rules"}
			for i, pt := range files {
				name := fmt.Sprintf("tiers-%d.test.yaml", i)
				writeTests(t, filepath.Join(dir, name), pt)
				args = append(args, name)
			}
			outage := OutageTwin(s)
			writeRules(t, filepath.Join(dir, "outage.rules.yaml"), []*SLO{outage}, GenerateOptions{PlainAnnotations: true})
			writeTests(t, filepath.Join(dir, "outage.test.yaml"), OutageTests(outage, "outage.rules.yaml"))
			args = append(args, "outage.test.yaml")
			start := time.Now()
			run(t, dir, promtool, args...)
			for _, c := range times {
				t.Logf("%v: detection at 1.05x %v, reset %v (evaluated every %v)", c.Tier, c.Detection, c.Reset, c.Interval)
			}
			t.Logf("promtool test rules: %d files passed in %v", len(args)-2, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestAlertAnnotationsExpand checks, in promtool, that the page alert's
// templated annotations name the firing tier with its burn rate and the
// budget remaining.
func TestAlertAnnotationsExpand(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	twin := OutageTwin(loadExample(t, "sloth-checkout.yaml")[0])
	writeRules(t, filepath.Join(dir, "rules.yaml"), []*SLO{twin}, GenerateOptions{})
	exp := expAlert(twin, SeverityPage, tiersOf(twin, SeverityPage))
	// One minute of errors after an hour of history: the 1h tier burns at
	// (1/60)/0.001 = 16.67x, the 6h tier (61 minutes of data) at 16.39x.
	exp.ExpAnnotations["firing_tiers"] = "1h-5m at 16.67x; 6h-30m at 16.39x; "
	// The budget window sums the recorded 5m rates, in which the newest
	// minute is so far counted once and older minutes four times: the
	// budget reads -239% here rather than the exact -1539%. Over a 30d
	// window that leading edge weighs a few minutes in a month.
	exp.ExpAnnotations["budget_remaining"] = "-239%"
	exp.ExpAnnotations["runbook_url"] = "https://runbooks.example.com/checkout/availability"
	pt := PromtoolTests{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1m", GroupEvalOrder: []string{GroupName(twin)},
		Tests: []PromtoolTest{{
			Name: "annotations", Interval: "1m",
			InputSeries:   counterSeries([]segment{{60, 0}, {5, 1}}),
			AlertRuleTest: []AlertRuleTest{{EvalTime: "61m", Alertname: twin.Alerting.Name, ExpAlerts: []ExpAlert{exp}}},
		}},
	}
	writeTests(t, filepath.Join(dir, "ann.test.yaml"), pt)
	run(t, dir, promtool, "test", "rules", "ann.test.yaml")
}

// TestOutageTestsRenderTemplates runs the generated outage test of an SLO
// whose annotations are templates: promtool renders them, and the test
// expects the rendered text (an annotation on the alert's value is left
// out of the test twin).
func TestOutageTestsRenderTemplates(t *testing.T) {
	promtool := tool(t, "promtool")
	slos, err := Load(File{Name: "tmpl.yaml", Data: []byte(`
version: "prometheus/v1"
service: checkout
labels: {team: payments}
slos:
  - name: availability
    objective: 95
    sli: {events: {error_query: "sum(rate(e[{{.window}}]))", total_query: "sum(rate(t[{{.window}}]))"}}
    alerting:
      name: CheckoutBurn
      labels: {service: checkout-routing}
      annotations:
        summary: "{{ $labels.vane_service }} of {{ $labels.team | toUpper }} burns its budget"
        value: "{{ $value | humanize }}"
`)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outage := OutageTwin(slos[0])
	writeRules(t, filepath.Join(dir, "rules.yaml"), []*SLO{outage}, GenerateOptions{PlainAnnotations: true})
	pt := OutageTests(outage, "rules.yaml")
	if got := pt.Tests[0].AlertRuleTest[1].ExpAlerts[0].ExpAnnotations["summary"]; got != "checkout of PAYMENTS burns its budget" {
		t.Fatalf("expected summary %q", got)
	}
	writeTests(t, filepath.Join(dir, "outage.test.yaml"), pt)
	run(t, dir, promtool, "test", "rules", "outage.test.yaml")
}
