// Package canary is the canary-judgement benchmark behind `vane bench
// canary`: every judge (Vane's, models of Flagger, Argo Rollouts and
// Kayenta, and reference tests) runs on the same seeded, simulated analyses
// over a grid of traffic, canary weight, error ratio and regression, and
// the package reports per judge and cell the false-rollback and detection
// rates, the time to rollback and the exposure.
//
// The peer models are pure functions of the observed series (no I/O, no
// time.Now). It must not import cmd/vane, rollout, xds or api.
package canary
