package controller

import (
	"fmt"
	"os"

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
