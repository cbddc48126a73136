package controller

import (
	"context"
	"fmt"
	"os"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

// sloRuleFile writes the recording and alerting rules of slos to a
// temporary file for the embedded Prometheus; remove deletes it.
func sloRuleFile(slos []*slo.SLO, sources []string, runbookBaseURL string) (path string, remove func(), err error) {
	f, err := os.CreateTemp("", "vane-slo-rules-*.yaml")
	if err != nil {
		return "", nil, fmt.Errorf("slo rules: %w", err)
	}
	remove = func() { _ = os.Remove(f.Name()) }
	if err := slo.GenerateRules(f, slos, slo.GenerateOptions{Sources: sources, MinCoverage: prom.EmbeddedMinCoverage, RunbookBaseURL: runbookBaseURL}); err != nil {
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

// alertSource serves the API's alerts from the Prometheus that evaluates
// Vane's rules: the embedded one, or the server of prometheus.url.
type alertSource struct {
	from string // api.AlertsEmbedded or the server's URL
	list func(context.Context) ([]prom.Alert, error)
}

// Alerts implements api.AlertSource.
func (s alertSource) Alerts(ctx context.Context) ([]api.Alert, error) {
	in, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Alert, 0, len(in))
	for _, a := range in {
		out = append(out, api.Alert{Name: a.Name, State: a.State, Labels: a.Labels, Annotations: a.Annotations,
			ActiveAt: a.ActiveAt, Value: api.FiniteValue(a.Value), GeneratorURL: a.GeneratorURL})
	}
	return out, nil
}
