// Command vane is the SLO-driven progressive delivery and autoscaling
// controller: it serves xDS to shift traffic between a stable and a canary
// version, judges canaries from Prometheus SLIs, generates SLO rules and runs
// the benchmarks that measure all of it.
//
// Each command group lives in its own file (slo.go, run.go, rollout.go,
// demo.go, bench_*.go) and is registered in root.go. The commands wire the
// packages together; the logic lives in the packages.
package main
