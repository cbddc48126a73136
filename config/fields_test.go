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
