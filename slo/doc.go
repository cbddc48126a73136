// Package slo is Vane's SLO engine: the SLO model, loading of specs (Sloth
// "prometheus/v1" files and "sloth.slok.dev/v1" Kubernetes resources with
// Sloth's embedded SLO plugins and common SLI plugins, native "vane/v1",
// OpenSLO v1 and v1alpha), validation with file:line errors (strict by
// default; LoadOptions.Lenient makes unknown fields warnings), error-budget
// and burn-rate math, multi-window multi-burn-rate alert tiers, Prometheus
// rule generation and promtool rule tests of the alerts.
//
// The package is a pure core: it does no network I/O, no logging, no metrics
// and never reads the wall clock (functions that need a time take now). It
// may import only the standard library, the YAML library, prometheus/common
// and the PromQL parser (for validation). It must not import other Vane
// packages, client_golang or anything that talks to a server.
//
// Budget math (budget.go) is the single source of truth for burn rates,
// tiers, detection, budget spent and reset times:
//
//	tiers := slo.DefaultTiers(30 * 24 * time.Hour) // page 1h/5m 14.4x, ...
//	rate, ok := slo.BurnRate(bad, total, 0.999)
//	d, ok := slo.DetectionTime(tiers[0], 0.999, 1.0) // 51.84s
//
// Specs and rules:
//
//	slos, err := slo.Load(slo.File{Name: "checkout.yaml", Data: data}) // validated; errors name file:line
//	err = slo.GenerateRules(w, slos, slo.GenerateOptions{})
//	tests, _ := slo.TierTests(slo.TestTwin(slos[0]), "rules.yaml")   // promtool rule tests
//
// SLO evaluation (evaluate.go): an Evaluator computes each SLO's budget
// remaining and its burn rate per alert window from the SLO's own SLI
// queries, read through a Querier that the caller supplies
// (analysis.SLOQuerier over Prometheus); the API's /api/v1/slos, the demo
// and the rollout error-budget gate all use it:
//
//	ev := &slo.Evaluator{SLOs: slos, Querier: analysis.SLOQuerier(q)}
//	remaining, err := ev.Budget(ctx, "checkout-availability", now)
//
// History (history.go) computes the same burn rates and budget at every
// step of a time range, with range queries of the same SLI queries, when
// the Querier also implements RangeQuerier (analysis.SLOQuerier's does):
//
//	h, err := ev.History(ctx, ev.Find("checkout", "availability"), now.Add(-6*time.Hour), now, 30*time.Second)
//
// An error query that selects no series (Sloth-style, before the first
// error) counts zero errors when the total can be read; the budget is
// unknown only when the total cannot be read.
//
// Reading files is left to callers (cmd/vane reads them), so that the
// package does no I/O of its own.
package slo
