package slo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCoverageGuardRules runs the rules with and without MinCoverage in
// promtool on a Prometheus that starts empty: 60 s of healthy traffic,
// then a 5 s outage. Without the guard the 1h window, holding a minute of
// data, pages at once; with it nothing pages. A full outage from the
// first minute still pages once its window is half covered (30 minutes
// of data), within the tier's detection time of that.
func TestCoverageGuardRules(t *testing.T) {
	promtool := tool(t, "promtool")
	dir := t.TempDir()
	slos, err := Load(File{Name: "slo.yaml", Data: []byte(evalSpec)})
	if err != nil {
		t.Fatal(err)
	}
	twin := OutageTwin(slos[0])
	writeRules(t, filepath.Join(dir, "plain.yaml"), []*SLO{twin}, GenerateOptions{PlainAnnotations: true})
	writeRules(t, filepath.Join(dir, "guarded.yaml"), []*SLO{twin}, GenerateOptions{PlainAnnotations: true, MinCoverage: 0.5})
	b, _ := os.ReadFile(filepath.Join(dir, "guarded.yaml"))
	if !strings.Contains(string(b), "(time() - "+RecordDataSince) {
		t.Fatalf("guarded rules lack the coverage guard:\n%s", b)
	}
	page := firingAlerts(twin, SeverityPage)
	fires := []ExpSample{{Labels: "{}", Value: 1}}
	// 5 s scrapes: requests +100 each; errors +100 in one scrape at 65 s.
	blip := []InputSeries{{Series: TestRequestsMetric, Values: "0+100x500"}, {Series: TestErrorsMetric, Values: "0x12 100x500"}}
	outage := []InputSeries{{Series: TestRequestsMetric, Values: "0+100x500"}, {Series: TestErrorsMetric, Values: "0x12 100+100x480"}}
	var quiet []PromQLExprTest
	for m := 2; m <= 30; m += 2 {
		quiet = append(quiet, PromQLExprTest{Expr: page, EvalTime: dur(time.Duration(m) * time.Minute)})
	}
	cases := []struct {
		name  string
		rules string
		tests []PromtoolTest
	}{
		{"plain", "plain.yaml", []PromtoolTest{{Name: "without the guard a 5 s outage on an empty TSDB pages", Interval: "5s", InputSeries: blip,
			PromQLTest: []PromQLExprTest{{Expr: page, EvalTime: "2m", ExpSamples: fires}}}}},
		{"guarded", "guarded.yaml", []PromtoolTest{
			{Name: "with the guard a 5 s outage on an empty TSDB does not page", Interval: "5s", InputSeries: blip, PromQLTest: quiet},
			{Name: "with the guard a full outage pages once the 1h window is half covered", Interval: "5s", InputSeries: outage,
				PromQLTest: []PromQLExprTest{{Expr: page, EvalTime: "29m"}, {Expr: page, EvalTime: "31m", ExpSamples: fires}}},
		}},
	}
	for _, c := range cases {
		pt := PromtoolTests{RuleFiles: []string{c.rules}, EvaluationInterval: "5s", GroupEvalOrder: []string{GroupName(twin)}, Tests: c.tests}
		f, err := os.Create(filepath.Join(dir, c.name+"_test.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteTests(f, pt); err != nil {
			t.Fatal(err)
		}
		f.Close()
		run(t, dir, promtool, "test", "rules", c.name+"_test.yaml")
	}
}
