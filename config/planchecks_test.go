package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDoubtfulPlans checks that a fractional weight and an analysis step
// shorter than the look interval are rejected with their line, and that a
// decreasing weight and a promote without analysis pass with warnings.
func TestDoubtfulPlans(t *testing.T) {
	load := func(steps, interval string) (*Config, error) {
		dir := t.TempDir()
		f := filepath.Join(dir, "vane.yaml")
		y := "services:\n  - name: checkout\n    stable: {version: v1, endpoints: [\"127.0.0.1:9001\"]}\n    rollout:\n      steps:\n" +
			steps + "      analysis: {interval: " + interval + ", requests_metric: demo_requests_total}\n"
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load(f, nil)
	}
	if _, err := load("        - weight: 10.5\n        - analysis: {duration: 1m}\n", "10s"); err == nil || !strings.Contains(err.Error(), `vane.yaml:6:19: services[0].rollout.steps[0].weight: "10.5" is not a whole percentage`) {
		t.Errorf("weight 10.5: %v", err)
	}
	if _, err := load("        - weight: 10\n        - analysis: {duration: 10s}\n", "30s"); err == nil ||
		!strings.Contains(err.Error(), "vane.yaml:7:22: services[0].rollout.steps[1].analysis.duration: 10s is shorter than analysis.interval 30s") {
		t.Errorf("interval > duration: %v", err)
	}
	cfg, err := load("        - weight: 50\n        - analysis: {duration: 1m}\n        - weight: 20\n        - promote\n", "10s")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(cfg.Warnings, "\n")
	if !strings.Contains(w, "vane.yaml:8:11: services[0].rollout.steps[2].weight: 20% is below the 50% of steps[0]") ||
		!strings.Contains(w, "vane.yaml:9:11: services[0].rollout.steps[3]: promote right after the weight 20% of steps[2] with no analysis") {
		t.Errorf("warnings:\n%s", w)
	}
	cfg, err = load("        - weight: 10\n        - analysis: {duration: 1m}\n        - promote\n", "10s")
	if err != nil || len(cfg.Warnings) != 0 {
		t.Errorf("a sound plan: %v, warnings %q", err, cfg.Warnings)
	}
}

// TestServiceWithoutRolloutSection checks that a service configured only
// to be routed or autoscaled loads with a warning that its rollouts are
// refused, while a canary given in the file still needs a judge.
func TestServiceWithoutRolloutSection(t *testing.T) {
	load := func(svc string) (*Config, error) {
		f := filepath.Join(t.TempDir(), "vane.yaml")
		y := "services:\n  - name: checkout\n    stable: {version: v1, endpoints: [\"127.0.0.1:9001\"]}\n" + svc
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load(f, nil)
	}
	cfg, err := load("    autoscale:\n      max: 4\n      actuator: {kind: exec, exec: {set: [./s, set], get: [./s, get]}}\n" +
		"      metrics: [{name: rps, query: 'sum(rate(demo_requests_total[1m]))', target: {type: AverageValue, averageValue: 80}}]\n")
	if err != nil {
		t.Fatalf("an autoscaled service without a rollout section: %v", err)
	}
	if w := strings.Join(cfg.Warnings, "\n"); !strings.Contains(w, "vane.yaml:2:5: services[0]: no rollout section: rollouts of checkout are refused") {
		t.Errorf("warnings: %q", w)
	}
	if _, err := load("    canary: {version: v2, endpoints: [\"127.0.0.1:9002\"]}\n"); err == nil ||
		!strings.Contains(err.Error(), "services[0].rollout.analysis: the plan has analysis steps but no judge") {
		t.Errorf("a canary without a judge: %v", err)
	}
	if _, err := load("    rollout: {steps: [{weight: 10}, {analysis: {duration: 1m}}]}\n"); err == nil ||
		!strings.Contains(err.Error(), "services[0].rollout.analysis: the plan has analysis steps but no judge") {
		t.Errorf("a rollout section without a judge: %v", err)
	}
}
