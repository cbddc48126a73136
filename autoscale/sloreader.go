package autoscale

import (
	"context"
	"time"

	"github.com/vaneproj/vane/slo"
)

// EvaluatorSLO reads SLO signals through an slo.Evaluator: the same budget
// and burn-rate math as the rollouts' gate and GET /api/v1/slos.
type EvaluatorSLO struct {
	Evaluator *slo.Evaluator
}

// SLOSignal implements SLOReader. The burn "now" is read over the
// evaluator's NowWindow, so an urgent scale-up stops once the service is
// healthy again.
func (e EvaluatorSLO) SLOSignal(ctx context.Context, name string, now time.Time) (SLOSignal, error) {
	p, err := e.Evaluator.PageSignal(ctx, name, now)
	return SLOSignal{SLO: name, BurnLong: p.BurnLong, BurnShort: p.BurnShort, Budget: p.Budget, PageBurnRate: p.Threshold,
		BurnNow: p.BurnNow, HasNow: p.HasNow}, err
}
