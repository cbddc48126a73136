// Package analysis turns SLIs read from Prometheus into verdicts: Pass, Fail,
// Inconclusive or Continue, each with a human-readable reason and its
// evidence. The judges are pure functions of their inputs and `now`; the
// Querier interface is the only way the package reaches Prometheus, and the
// prom package implements it.
//
// Fail-safe rule: no data, NaN, an empty result, a query error or a timeout
// is Inconclusive, never Pass.
//
// It imports the slo package for budget and burn-rate math and gonum for
// statistics; it must not import prom, xds, rollout or anything that does
// I/O, logging or metrics, and it never reads the wall clock.
package analysis
