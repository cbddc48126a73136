package promtest

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAlertmanagerStartsAndStops(t *testing.T) {
	am := StartAlertmanager(t, AlertmanagerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alerts, err := am.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 0 {
		t.Fatalf("a new Alertmanager lists %d alerts", len(alerts))
	}
	// Its own metrics are served; clustering is off.
	if v, err := am.Metric(ctx, "alertmanager_cluster_enabled"); err != nil || v != 0 {
		t.Fatalf("alertmanager_cluster_enabled = %v, %v; want 0", v, err)
	}
	am.Stop()
	if _, err := am.Alerts(ctx); err == nil {
		t.Fatal("a stopped Alertmanager still answers")
	}
	am.Stop() // twice is fine
}

func TestGenerateAlertmanagerConfig(t *testing.T) {
	b, err := GenerateAlertmanagerConfig(AlertmanagerConfig{WebhookURL: "http://127.0.0.1:1/hook"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"receiver: " + AlertmanagerReceiver, "url: http://127.0.0.1:1/hook", "send_resolved: true", "group_wait: 100ms"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %q:\n%s", want, b)
		}
	}
	if _, err := GenerateAlertmanagerConfig(AlertmanagerConfig{WebhookURL: "127.0.0.1:1"}); err == nil {
		t.Error("a webhook URL without scheme was accepted")
	}
}
