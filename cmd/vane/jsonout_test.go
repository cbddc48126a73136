package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestJSONOutputs checks that --json gives parseable JSON with the
// expected content for version, slo validate and run --check.
func TestJSONOutputs(t *testing.T) {
	decode := func(args ...string) map[string]any {
		t.Helper()
		out, _, err := runVane(t, args...)
		if err != nil {
			t.Fatalf("vane %v: %v", args, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("vane %v: not JSON: %v\n%s", args, err, out)
		}
		return m
	}
	if m := decode("version", "--json"); m["version"] == "" || m["go"] == "" {
		t.Errorf("version --json: %v", m)
	}
	m := decode("slo", "validate", "--json", "-f", filepath.Join("..", "..", "examples", "slos"))
	if slos, _ := m["slos"].([]any); len(slos) != 4 {
		t.Errorf("slo validate --json: %d SLOs, want 4: %v", len(slos), m)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vane.yaml")
	y := "services:\n  - name: checkout\n    stable: {version: v1, endpoints: [\"127.0.0.1:9001\"]}\n    rollout:\n      steps: [{weight: 10}, promote]\n      analysis: {requests_metric: demo_requests_total}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	m = decode("run", "-c", cfg, "--check", "--json")
	if svcs, _ := m["services"].([]any); m["ok"] != true || len(svcs) != 1 {
		t.Errorf("run --check --json: %v", m)
	}
	if w, _ := m["warnings"].([]any); len(w) != 1 {
		t.Errorf("run --check --json: warnings %v, want the promote-without-analysis one", m["warnings"])
	}
}
