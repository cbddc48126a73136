package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/prom"
)

// CheckJudges verifies, for vane run --check, every service's judges on
// its stable version's live series (analysis.Preflight) when
// prometheus.url is set and answers. A judge that could never see a
// failure is an error; an unreachable Prometheus is reported and verified
// again before each rollout starts.
func CheckJudges(ctx context.Context, cfg *config.Config, out io.Writer) error {
	var specs int
	for _, s := range cfg.Services {
		specs += len(s.Rollout.Analysis.Specs())
	}
	if specs == 0 {
		return nil
	}
	if cfg.Prometheus.URL == "" {
		_, err := fmt.Fprintln(out, "judges: not verified now (the embedded Prometheus starts with vane run); each rollout verifies them before it starts")
		return err
	}
	q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: cfg.Prometheus.URL, Timeout: time.Duration(cfg.Prometheus.Timeout), Client: PromHTTPClientConfig(cfg)})
	if err != nil {
		return err
	}
	now := time.Now()
	var errs []error
	for _, s := range cfg.Services {
		a := s.Rollout.Analysis
		vars := analysis.Vars{Service: s.Name, Stable: a.LabelValue(s.Stable.Version)}
		for _, spec := range a.Specs() {
			err := analysis.Preflight(ctx, q, spec.WithProtocol(string(s.Protocol)), vars, now)
			var pe *analysis.PreflightError
			switch {
			case err == nil:
				if _, err := fmt.Fprintf(out, "service %s: judge %s: verified on %s's live series\n", s.Name, spec.WithDefaults().Common().Name, s.Stable.Version); err != nil {
					return err
				}
			case errors.As(err, &pe):
				errs = append(errs, fmt.Errorf("service %s: %w", s.Name, err))
			default:
				if _, err := fmt.Fprintf(out, "service %s: judges not verified: %v (each rollout verifies them before it starts)\n", s.Name, err); err != nil {
					return err
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", cfg.File, errors.Join(errs...))
	}
	return nil
}
