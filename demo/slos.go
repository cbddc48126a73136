package demo

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"github.com/vaneproj/vane/slo"
)

// sloSpec is the demo service's SLO spec.
//
//go:embed demo-slos.yaml
var sloSpec []byte

// SLOSpecName is the name the demo's SLO spec is loaded under.
const SLOSpecName = "demo-slos.yaml"

// loadSLOs loads the demo's SLOs.
func loadSLOs() ([]*slo.SLO, error) {
	slos, err := slo.Load(slo.File{Name: SLOSpecName, Data: sloSpec})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return slos, nil
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
