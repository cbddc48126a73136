// Package canary is the canary-judgement benchmark behind `vane bench
// canary`: every judge (Vane's, models of Flagger, Argo Rollouts and
// Kayenta, and reference tests) runs on the same seeded, simulated analyses
// over a grid of traffic, canary weight, error ratio or latency tail, and
// regression, and the package reports per judge and cell the false-rollback
// and detection rates, the time to rollback and the exposure.
//
// Each run's scrapes go into a Prometheus TSDB in a temporary directory
// (bench/promstore), and every judge but the oracles reads them through
// Prometheus's own PromQL engine: Vane as the product's analysis.Check,
// the peers through their documented queries.
//
// The peer models are pure functions of the values their queries return
// (no I/O, no time.Now). It must not import cmd/vane, rollout, xds or api.
package canary
