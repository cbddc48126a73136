package slo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestSlothSameFiringTimes runs Sloth v0.16's own rules and Vane's rules
// for the same Sloth spec over the same traffic in one promtool test, and
// checks that at every evaluation Vane's page (ticket) alert fires exactly
// when Sloth's does. Both read the raw series for every alert window when
// Vane's MaxRawWindow covers them (3d); with the default 6h, Vane's 1d and
// 3d windows sum recorded 5m rates, which lag the raw ones by about half
// the 5m base, so only the page alerts are compared there (in this
// scenario the ticket alerts then differ at one evaluation of 1,435).
func TestSlothSameFiringTimes(t *testing.T) {
	sloth := tool(t, "sloth")
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	spec := "testdata/sloth/compare.yaml"
	run(t, ".", sloth, "generate", "-i", spec, "-o", filepath.Join(dir, "sloth.yaml"))
	slos, err := Load(readFile(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	b, err := os.ReadFile(filepath.Join(dir, "sloth.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var sf struct {
		Groups []struct {
			Name string `yaml:"name"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &sf); err != nil {
		t.Fatal(err)
	}
	for _, g := range sf.Groups {
		groups = append(groups, g.Name)
	}
	// Traffic: healthy, a 100% outage, a fast burn, a slow burn.
	segs := []segment{
		{6 * 60, 0}, {5, 1}, {3 * 60, 0},
		{60, 0.02}, {2 * 60, 0}, // 20x the 0.1% budget for an hour
		{10 * 60, 0.004}, {4 * 60, 0}, // 4x for ten hours
	}
	total := 0
	for _, s := range segs {
		total += s.minutes
	}
	end := dur(time.Duration(total) * time.Minute)
	cases := map[string]struct {
		maxRaw     time.Duration
		severities []Severity
	}{
		"all windows raw": {3 * 24 * time.Hour, []Severity{SeverityPage, SeverityTicket}},
		"default 6h raw":  {0, []Severity{SeverityPage}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			sub := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			writeRules(t, filepath.Join(sub, "vane.yaml"), slos, GenerateOptions{MaxRawWindow: c.maxRaw})
			pt := PromtoolTests{
				RuleFiles:          []string{"vane.yaml", "../sloth.yaml"},
				EvaluationInterval: "1m",
				GroupEvalOrder:     append([]string{GroupName(slos[0])}, groups...),
			}
			test := PromtoolTest{Name: "same firing times as Sloth", Interval: "1m", InputSeries: counterSeries(segs)}
			for _, sev := range c.severities {
				vane := fmt.Sprintf(`count(ALERTS{alertname="CompareBudgetBurn",alertstate="firing",vane_severity=%q})`, sev)
				sl := fmt.Sprintf(`count(ALERTS{alertname="CompareBudgetBurn",alertstate="firing",sloth_severity=%q})`, sev)
				test.PromQLTest = append(test.PromQLTest,
					// No evaluation at which one fires and the other does not.
					PromQLExprTest{Expr: fmt.Sprintf("count_over_time(((%s or vector(0)) != (%s or vector(0)))[%s:1m])", vane, sl, end), EvalTime: end},
					// Both did fire.
					PromQLExprTest{Expr: fmt.Sprintf("count_over_time((%s)[%s:1m]) > bool 0", vane, end), EvalTime: end, ExpSamples: []ExpSample{{Labels: "{}", Value: 1}}},
					PromQLExprTest{Expr: fmt.Sprintf("count_over_time((%s)[%s:1m]) > bool 0", sl, end), EvalTime: end, ExpSamples: []ExpSample{{Labels: "{}", Value: 1}}},
				)
			}
			pt.Tests = []PromtoolTest{test}
			writeTests(t, filepath.Join(sub, "compare.test.yaml"), pt)
			run(t, sub, promtool, "test", "rules", "compare.test.yaml")
		})
	}
}
