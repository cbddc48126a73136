package api

import "github.com/vaneproj/vane/slo"

// SLOStatus is one SLO's live status as GET /api/v1/slos serves it; the
// evaluation (budget remaining, burn per window) is slo.Evaluator's.
type SLOStatus = slo.Status

// WindowBurnRate is the burn rate over one window (see slo.WindowBurnRate).
type WindowBurnRate = slo.WindowBurnRate
