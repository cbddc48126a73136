package slo

import (
	"strings"
	"testing"
)

// TestRatioObjectiveAndUnknownTemplateVariable checks the two typos a
// Sloth user makes: an objective written as a ratio, a misspelled variable.
func TestRatioObjectiveAndUnknownTemplateVariable(t *testing.T) {
	spec := "version: prometheus/v1\nservice: x\nslos:\n  - name: a\n    objective: 0.9995\n    sli:\n      events:\n        error_query: sum(rate(e[{{.windw}}]))\n        total_query: sum(rate(t[{{.window}}]))\n    alerting: {name: A, page_alert: {}, ticket_alert: {}}\n"
	_, err := Load(File{Name: "s.yaml", Data: []byte(spec)})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"s.yaml:5:16: slos[0].objective: 0.9995 reads as 0.9995%: objectives are percentages; did you mean 99.95?",
		"s.yaml:8:22: slos[0].sli.events.error_query: unknown template variable {{.windw}}: the only one is {{.window}}",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}
