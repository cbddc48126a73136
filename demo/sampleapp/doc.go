// Package sampleapp is the demo's sample service: a real gRPC server
// (grpc.testing.TestService's UnaryCall and the standard health service) on a
// loopback port, one instance per version, whose error ratio and added
// latency can be changed while it runs. Each instance serves its own
// Prometheus metrics on HTTP /metrics, labelled with its version:
//
//	demo_requests_total{version,code}            counter
//	demo_request_duration_seconds{version}       histogram
//	demo_requests_in_flight{version}             gauge
//
// so that a canary-vs-stable judge can compare versions from real scrapes.
// With Config.Concurrency an instance serves a bounded rate
// (Concurrency/Latency calls per second): beyond it calls queue, and the
// latency users see grows with the load, as a real replica's would.
// Every answer carries the version in the response's server_id and in the
// "x-demo-version" trailer, so clients can tell which version served them,
// failed calls included.
//
// It must not import Vane's controller packages (rollout, analysis, xds,
// prom): it plays the user's service, not part of Vane.
//
// Usage:
//
//	app, err := sampleapp.Start(sampleapp.Config{Version: "v2", ErrorRatio: 0.2, Latency: 50 * time.Millisecond})
//	if err != nil { ... }
//	defer app.Close()
//	fmt.Println(app.Addr(), app.MetricsURL())
//	app.SetErrorRatio(0) // heal it
package sampleapp
