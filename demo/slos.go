package demo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

// sloSpec is the demo service's SLO spec.
//
//go:embed demo-slos.yaml
var sloSpec []byte

// SLOSpecName is the name the demo's SLO spec is loaded under.
const SLOSpecName = "demo-slos.yaml"

// loadSLOs loads the demo's SLOs and writes their generated Prometheus rules
// to dir, returning the SLOs and the rule file's path.
func loadSLOs(dir string) ([]*slo.SLO, string, error) {
	slos, err := slo.Load(slo.File{Name: SLOSpecName, Data: sloSpec})
	if err != nil {
		return nil, "", fmt.Errorf("demo: %w", err)
	}
	var b bytes.Buffer
	if err := slo.GenerateRules(&b, slos, slo.GenerateOptions{Sources: []string{SLOSpecName}, MinCoverage: prom.EmbeddedMinCoverage}); err != nil {
		return nil, "", fmt.Errorf("demo: generate rules: %w", err)
	}
	path := filepath.Join(dir, "demo-rules.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return nil, "", fmt.Errorf("demo: write rules: %w", err)
	}
	return slos, path, nil
}

// sloBurnRates describes each SLO's burn rate over its shortest alert
// window, as Vane's SLO status (the API's /api/v1/slos) computes it.
func sloBurnRates(ctx context.Context, ev *slo.Evaluator, now time.Time) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	sts, err := ev.Status(ctx, now)
	if err != nil {
		return ""
	}
	var parts []string
	for _, st := range sts {
		if len(st.BurnRates) == 0 {
			continue
		}
		br := st.BurnRates[0] // sorted: the shortest window first
		if br.BurnRate != nil {
			parts = append(parts, fmt.Sprintf("%s %.1f× (%s)", st.Name, *br.BurnRate, br.Window))
		} else {
			parts = append(parts, fmt.Sprintf("%s n/a (%s)", st.Name, br.Window))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "SLO burn " + strings.Join(parts, ", ")
}
