// Package sim is Vane's deterministic simulator: a stable and a canary
// version serving seeded random traffic with errors and latency on a virtual
// clock, their counters scraped at a fixed interval as Prometheus would. The
// canary benchmark (`vane bench canary`) and tests run judges on its scrapes.
//
// Everything is a pure function of the Config and its seed: the same seed
// gives the same scrapes on every machine. The package does no I/O, never
// reads the wall clock and starts no goroutines; callers run many Worlds in
// parallel themselves.
//
// Store keeps a World's scrapes as the series Prometheus would hold and
// implements analysis.Querier for the PromQL subset Vane's generated
// queries use, so analysis Checks run on simulated data exactly as live.
//
// Noise departs from that model as production traffic does (pods with
// different error ratios, beta-binomial errors, bursts, restarts, failed
// scrapes, jitter); Overdispersed is the benchmark's setting.
//
// It may import analysis, gonum for random variates and the PromQL parser;
// it must not import prom, xds, rollout or anything doing I/O.
//
// Usage:
//
//	w, err := sim.New(sim.Config{RPS: 50, CanaryWeight: 0.05,
//		Stable: sim.Version{ErrorRatio: 0.001, Latency: sim.DefaultLatency},
//		Canary: sim.Version{ErrorRatio: 0.002, Latency: sim.DefaultLatency}, Seed: 1})
//	for w.Now() < 30*time.Minute {
//		s := w.Step() // cumulative counters at the next scrape
//		_ = s.Canary.Requests
//	}
package sim
