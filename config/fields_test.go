package config

import (
	"strings"
	"testing"
)

// TestUnknownFieldsNamePlaceAndClosest checks that a misspelled field is
// reported as slo validate reports one: file:line:col, the field's path, the
// allowed fields and the closest match, not the Go type.
func TestUnknownFieldsNamePlaceAndClosest(t *testing.T) {
	y := "services:\n  - name: checkout\n    stable: {version: v1, endpoints: [\"127.0.0.1:9001\"]}\n    rollout:\n      stepz: []\nxds: {listn: \"127.0.0.1:1\"}\n"
	_, err := Parse("vane.yaml", []byte(y), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`vane.yaml:5:7: services[0].rollout.stepz: unknown field (allowed: analysis, budget_gate, `,
		`did you mean "steps"?`,
		`vane.yaml:6:7: xds.listn: unknown field (allowed: cert_file, client_ca_file, key_file, listen, min_proxies); did you mean "listen"?`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "rollout.Plan") || strings.Contains(err.Error(), "not found in type") {
		t.Errorf("error names a Go type: %v", err)
	}
}

// TestJudgeFieldsAreTheKinds checks that a judge is checked against its
// own kind's fields: a field of another kind is unknown there, with the
// kind's fields as the allowed ones, and an unknown kind is named at its
// place with the closest kind.
func TestJudgeFieldsAreTheKinds(t *testing.T) {
	y := "services:\n  - name: checkout\n    stable: {version: v1, endpoints: [\"127.0.0.1:9001\"]}\n    rollout:\n      analysis:\n        judges:\n" +
		"          - kind: threshold\n            query: up\n            max: 1\n            requests_metric: x\n" +
		"          - kind: burnrate\n            objective: 0.999\n" +
		"          - kind: sequential\n            requests_metric: x\n            latency_treshold: 0.3\n"
	_, err := Parse("vane.yaml", []byte(y), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`vane.yaml:10:13: services[0].rollout.analysis.judges[0].requests_metric: unknown field (allowed: failure_limit, interval, kind, max, max_sample_age, min, name, query, timeout, window)`,
		`vane.yaml:11:19: services[0].rollout.analysis.judges[1].kind: "burnrate" is not one of sequential, threshold, burn-rate, mann-whitney; did you mean "burn-rate"?`,
		`vane.yaml:15:13: services[0].rollout.analysis.judges[2].latency_treshold: unknown field (allowed: alpha, bad_codes, `,
		`did you mean "latency_threshold"?`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}
