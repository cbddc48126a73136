package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/slo"
)

func TestSLORuleFile(t *testing.T) {
	b, err := os.ReadFile("../../examples/slos/sloth-checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	slos, err := slo.Load(slo.File{Name: "sloth-checkout.yaml", Data: b})
	if err != nil {
		t.Fatal(err)
	}
	path, remove, err := sloRuleFile(slos, []string{"sloth-checkout.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(path)
	remove()
	if err != nil || !strings.Contains(string(rules), "slo:current_burn_rate:ratio") {
		t.Fatalf("rule file: %v\n%s", err, rules)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("remove left the file")
	}
}

// TestRunSendsAlertsToAlertmanager runs the controller with the embedded
// Prometheus and alertmanager.url set: an alert of its rule files reaches
// a real Alertmanager.
func TestRunSendsAlertsToAlertmanager(t *testing.T) {
	am := promtest.StartAlertmanager(t, promtest.AlertmanagerConfig{})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.yaml"), `groups:
- name: vane-run
  rules:
  - alert: VaneRunTestAlert
    expr: vector(1)
    labels: {severity: ticket}
    annotations: {summary: "always firing"}
`, 0o644)
	cfgFile := filepath.Join(dir, "vane.yaml")
	cfg, err := config.Parse(cfgFile, []byte(fmt.Sprintf(`prometheus:
  rule_files: [rules.yaml]
xds:
  listen: %s
http:
  listen: %s
store:
  path: vane.db
alertmanager:
  url: %s
`, freeAddr(t), freeAddr(t), am.URL)), nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := startController(t, cfg)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		alerts, err := am.Alerts(ctx)
		if err == nil && len(alerts) == 1 && alerts[0].Labels["alertname"] == "VaneRunTestAlert" &&
			alerts[0].Labels["severity"] == "ticket" && alerts[0].Annotations["summary"] == "always firing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager has %v (%v)\nvane log:\n%s", alerts, err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "Alert firing") {
		t.Errorf("the firing alert was not logged:\n%s", logs.String())
	}
}
