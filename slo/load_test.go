package slo

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func readFile(t testing.TB, path string) File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return File{Name: filepath.ToSlash(path), Data: b}
}

func loadExample(t testing.TB, name string) []*SLO {
	t.Helper()
	slos, err := Load(readFile(t, filepath.Join("..", "examples", "slos", name)))
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return slos
}

func TestLoadSlothSpecUnchanged(t *testing.T) {
	slos := loadExample(t, "sloth-checkout.yaml")
	if len(slos) != 1 {
		t.Fatalf("got %d SLOs", len(slos))
	}
	s := slos[0]
	if s.Service != "checkout" || s.Name != "requests-availability" || s.Objective != 99.9 || s.Target() != 0.999 {
		t.Errorf("got %+v", s)
	}
	if s.Window.Duration != 30*day || s.Format != FormatSloth || s.SLI.Kind != SLIEvents {
		t.Errorf("window %v format %s kind %s", s.Window, s.Format, s.SLI.Kind)
	}
	if s.Labels["owner"] != "payments-team" || s.Alerting.Name != "CheckoutHighErrorRate" || s.Alerting.PageAlert.Labels["routing_key"] != "payments" {
		t.Errorf("labels/alerting lost: %+v %+v", s.Labels, s.Alerting)
	}
	e, tot := s.SLI.Queries(time.Hour)
	if !strings.Contains(e, "[1h]") || !strings.Contains(tot, "[1h]") {
		t.Errorf("queries not rendered: %s / %s", e, tot)
	}
	if !strings.HasSuffix(s.Source, "sloth-checkout.yaml:8") {
		t.Errorf("source = %s", s.Source)
	}
	if got := s.Tiers(); len(got) != 4 || got[0].BurnRate != 14.4 {
		t.Errorf("tiers = %v", got)
	}
}

func TestLoadNativeSpec(t *testing.T) {
	slos := loadExample(t, "native-api.yaml")
	if len(slos) != 2 {
		t.Fatalf("got %d SLOs", len(slos))
	}
	a, l := slos[0], slos[1]
	if a.Window.Duration != 28*day || a.Alerting.MinEvents != 100 || a.Alerting.RunbookURL == "" {
		t.Errorf("availability: %+v", a)
	}
	if l.Window.Calendar != CalendarMonth || l.SLI.Kind != SLILatency || l.SLI.Latency.Threshold != 0.3 {
		t.Errorf("latency: %+v", l)
	}
	if !strings.Contains(l.SLI.ErrorQuery, `le="0.3"`) || !strings.Contains(l.SLI.TotalQuery, "http_request_duration_seconds_count") {
		t.Errorf("latency queries: %s / %s", l.SLI.ErrorQuery, l.SLI.TotalQuery)
	}
	tiers := l.Tiers()
	want := []Tier{
		{SeverityPage, time.Hour, 5 * time.Minute, 0.02, 14.4},
		{SeverityPage, 6 * time.Hour, 30 * time.Minute, 0.05, 6},
		{SeverityTicket, 3 * day, 6 * time.Hour, 0.1, 1},
	}
	for i := range want {
		if tiers[i] != want[i] {
			t.Errorf("tier %d = %v, want %v", i, tiers[i], want[i])
		}
	}
}

func TestLoadNativeHistogramLatency(t *testing.T) {
	spec := `version: vane/v1
service: api
slos:
  - name: fast
    objective: 99
    sli:
      latency: {metric: rpc_duration_seconds, selector: 'job="rpc"', threshold: 0.25, native: true}
    alerting: {name: RPCSlow}
`
	slos, err := Load(File{Name: "n.yaml", Data: []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	e, tot := slos[0].SLI.Queries(time.Hour)
	if !strings.Contains(e, "histogram_fraction(0, 0.25, sum(rate(rpc_duration_seconds{job=\"rpc\"}[1h])))") || !strings.Contains(tot, "histogram_count(") {
		t.Errorf("native histogram queries: %s / %s", e, tot)
	}
	if err := parseQuery(e); err != nil {
		t.Error(err)
	}
}

func TestLoadOpenSLO(t *testing.T) {
	slos := loadExample(t, "openslo-search.yaml")
	if len(slos) != 1 {
		t.Fatalf("got %d SLOs", len(slos))
	}
	s := slos[0]
	if s.Service != "search" || s.Name != "search-availability" || s.Objective != 99.5 || s.Format != FormatOpenSLO {
		t.Errorf("got %+v", s)
	}
	if !strings.Contains(s.SLI.ErrorQuery, `code!~"5.."`) || !strings.HasPrefix(s.SLI.ErrorQuery, "(sum(rate(search_requests_total[{{.window}}]))) - (") {
		t.Errorf("bad = total - good, got %s", s.SLI.ErrorQuery)
	}
	if s.Alerting.Name != "SLOSearchAvailabilityBudgetBurn" {
		t.Errorf("alert name %q", s.Alerting.Name)
	}
}

func TestLoadReportsAllErrorsAndNoSLOs(t *testing.T) {
	slos, err := Load(
		File{Name: "a.yaml", Data: []byte("version: vane/v1\nservice: a\nslos:\n  - name: x\n    objective: 120\n    sli: {raw: {error_ratio_query: 'r{w=\"{{.window}}\"}'}}\n    alerting: {name: A}\n")},
		File{Name: "b.yaml", Data: []byte("version: vane/v1\nservice: b\nslos: []\n")},
	)
	if slos != nil {
		t.Errorf("got SLOs with errors: %v", slos)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	msg := err.Error()
	for _, want := range []string{"a.yaml:5:16: slos[0].objective: must be a percentage", "b.yaml:3:7: slos: must list at least one SLO"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

// TestBadSpecs loads every spec in testdata/bad: each must give exactly one
// error, naming the file and a line, that contains the text on its first
// line ("# want: ..."). All messages are pinned in errors.golden.
func TestBadSpecs(t *testing.T) {
	paths, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(paths) < 25 {
		t.Fatalf("only %d bad specs", len(paths))
	}
	var all strings.Builder
	for _, p := range paths {
		f := readFile(t, p)
		first, _, _ := strings.Cut(string(f.Data), "\n")
		want, ok := strings.CutPrefix(first, "# want: ")
		if !ok {
			t.Errorf("%s: first line must be '# want: <text>'", p)
			continue
		}
		slos, err := Load(f)
		if err == nil {
			t.Errorf("%s: loaded %d SLOs, want an error containing %q", p, len(slos), want)
			continue
		}
		var list []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		} else {
			list = []error{err}
		}
		if len(list) != 1 {
			t.Errorf("%s: %d errors, want 1:\n%v", p, len(list), err)
		}
		var e *Error
		if !errors.As(list[0], &e) || e.File != f.Name || e.Line < 1 {
			t.Errorf("%s: error %q does not name file:line", p, list[0])
		}
		if !strings.Contains(list[0].Error(), want) {
			t.Errorf("%s: error %q does not contain %q", p, list[0], want)
		}
		all.WriteString(err.Error() + "\n")
	}
	golden(t, "testdata/bad/errors.golden", []byte(all.String()))
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./slo -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the output (review, then go test ./slo -update):\n--- got\n%s", path, got)
	}
}

func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob("testdata/bad/*.yaml")
	ex, _ := filepath.Glob("../examples/slos/*.yaml")
	corpus, _ := filepath.Glob("testdata/corpus/*/*.y*ml")
	for _, p := range append(append(paths, ex...), corpus...) {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Lenient loading must not panic either, and accepts at least
		// what strict loading accepts.
		lslos, _, lerr := LoadOptions{Lenient: true}.Load(File{Name: "fuzz.yaml", Data: data})
		slos, err := Load(File{Name: "fuzz.yaml", Data: data})
		if err == nil && (lerr != nil || len(lslos) != len(slos)) {
			t.Fatalf("strict loads %d SLOs, lenient %d: %v", len(slos), len(lslos), lerr)
		}
		if err != nil {
			if slos != nil {
				t.Fatal("SLOs returned with an error")
			}
			return
		}
		// What loads must generate rules without panicking.
		var sb strings.Builder
		if err := GenerateRules(&sb, slos, GenerateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, s := range slos {
			TierTests(TestTwin(s), "rules.yaml")
			OutageTests(OutageTwin(s), "rules.yaml")
		}
	})
}

func TestLoadOpenSLOInlineIndicatorCalendarWindow(t *testing.T) {
	spec := `apiVersion: openslo/v1
kind: SLO
metadata:
  name: payments
  labels: {team: pay}
spec:
  service: payments
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar: {startTime: "2026-01-01 00:00:00", timeZone: UTC}
  indicator:
    metadata: {name: payments-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource: {type: Prometheus, spec: {query: 'sum(rate(pay_total{code=~"5.."}[{{.window}}]))'}}
        total:
          metricSource: {type: Prometheus, spec: {query: 'sum(rate(pay_total[{{.window}}]))'}}
  objectives:
    - targetPercent: 99.95
`
	slos, err := Load(File{Name: "o.yaml", Data: []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	s := slos[0]
	if s.Window.Calendar != CalendarMonth || s.Objective != 99.95 || s.Labels["team"] != "pay" || s.SLI.ErrorQuery != `sum(rate(pay_total{code=~"5.."}[{{.window}}]))` {
		t.Errorf("got %+v", s)
	}
}
