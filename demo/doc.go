// Package demo is Vane's embedded demo world and its scenario, what
// `vane demo` runs: in one process, on loopback ports it picks, the sample
// service's versions v1 (healthy), v2 (bad: an error ratio and added
// latency) and v3 (healthy) as real gRPC servers (demo/sampleapp), the
// embedded Prometheus scraping them (prom), Vane's xDS server (xds), and
// users reaching the service through gRPC's real xDS client
// (demo/loadgen). The controller (store, embedded Prometheus, xDS server,
// rollout loops, HTTP API) is the one vane run runs, built by
// internal/controller from a configuration that names the demo's apps. The scenario drives the real rollout controller
// (rollout.Manager) with the real sequential judges (analysis): a canary
// to v2 that is rolled back, and a canary to v3 that is promoted, narrated
// with live progress and summed up in a table.
//
// The demo measures what users got from the load generator's side: the
// time from the first bad call answered by the bad canary to weight 0
// being acknowledged by every xDS client, and the bad calls users got.
//
// demo sits at the top of the import graph: it may import every Vane
// package (internal/controller included), and no Vane package but
// cmd/vane may import it.
//
// Usage:
//
//	sum, err := demo.Run(ctx, demo.Options{Fast: true, Out: os.Stdout})
//	if err != nil { ... }
//	fmt.Println(sum.Parts[0].TimeToRollback)
//
// StartWorld alone gives tests the running world (apps, controller, load)
// to drive themselves.
package demo
