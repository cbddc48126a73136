package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

// sloRuleFile writes the recording and alerting rules of slos to a
// temporary file for the embedded Prometheus; remove deletes it.
func sloRuleFile(slos []*slo.SLO, sources []string) (path string, remove func(), err error) {
	f, err := os.CreateTemp("", "vane-slo-rules-*.yaml")
	if err != nil {
		return "", nil, fmt.Errorf("slo rules: %w", err)
	}
	remove = func() { _ = os.Remove(f.Name()) }
	if err := slo.GenerateRules(f, slos, slo.GenerateOptions{Sources: sources}); err != nil {
		f.Close()
		remove()
		return "", nil, fmt.Errorf("slo rules: %w", err)
	}
	if err := f.Close(); err != nil {
		remove()
		return "", nil, fmt.Errorf("slo rules: %w", err)
	}
	return f.Name(), remove, nil
}

// postableAlert is an alert in Alertmanager's v2 API (POST /api/v2/alerts).
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// alertSender returns the embedded Prometheus's Notify function: alerts go
// to Alertmanager's v2 API when url is set, and are logged in any case
// (firing at warn, resolved at info).
func alertSender(url string, client *http.Client, log *slog.Logger) func(ctx context.Context, alerts []prom.Alert) {
	return func(ctx context.Context, alerts []prom.Alert) {
		out := make([]postableAlert, 0, len(alerts))
		for _, a := range alerts {
			lbl := map[string]string{"alertname": a.Name}
			for k, v := range a.Labels {
				lbl[k] = v
			}
			pa := postableAlert{Labels: lbl, Annotations: a.Annotations, StartsAt: a.ActiveAt}
			if !a.ResolvedAt.IsZero() {
				pa.EndsAt = a.ResolvedAt
				log.Info("Alert resolved", "alert", a.Name, "labels", lbl)
			} else if a.State == "firing" {
				log.Warn("Alert firing", "alert", a.Name, "labels", lbl, "value", a.Value)
			}
			out = append(out, pa)
		}
		if url == "" || len(out) == 0 {
			return
		}
		if err := postAlerts(ctx, client, url, out); err != nil {
			log.Error("Could not send alerts to Alertmanager", "url", url, "alerts", len(out), "err", err)
		}
	}
}

func postAlerts(ctx context.Context, client *http.Client, url string, alerts []postableAlert) error {
	b, err := json.Marshal(alerts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(url, "/")+"/api/v2/alerts", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
