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
// To run PromQL (and analysis Checks) on a World's scrapes, append them
// to a bench/promstore.Store: a real Prometheus TSDB queried by
// Prometheus's own engine.
//
// Noise departs from that model as production traffic does (pods with
// different error ratios, beta-binomial errors, bursts, restarts, failed
// scrapes, jitter); Overdispersed is the benchmark's setting.
//
// It may import gonum for random variates; it must not import analysis,
// prom, xds, rollout or anything doing I/O.
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
