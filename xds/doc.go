// Package xds is Vane's xDS control plane: a state-of-the-world ADS server
// on go-control-plane that serves each service's routing to Envoy and to
// proxyless gRPC clients, tracks every stream's ACKs and NACKs, and
// implements traffic.Router.
//
// It imports traffic, go-control-plane, gRPC and client_golang. It must not
// import rollout, analysis, slo or any package above it: the rollout
// controller drives it through the traffic.Router interface.
//
// # Resources
//
// For a service "checkout" the server publishes:
//
//   - RouteConfiguration "checkout": one virtual host (domains "*"); a route
//     per canary header (exact match → checkout-canary), then a warm-up route
//     that can never match (header x-vane-warmup both present and absent)
//     referencing both clusters, then the default route with
//     weighted_clusters checkout-stable / checkout-canary;
//   - EDS clusters "checkout-stable" and "checkout-canary" (EDS over ADS,
//     round robin);
//   - a ClusterLoadAssignment per cluster: one locality (region "vane", zone
//     = version) with weight 1, endpoints of weight 1;
//   - API listener "checkout" (HttpConnectionManager: RDS over ADS, router
//     filter) for gRPC clients dialing xds:///checkout;
//   - when the service has a listener port, Envoy listener "checkout-envoy"
//     on 0.0.0.0:<port> with the same HttpConnectionManager.
//
// Every resource passes ValidateAll. A weight change is RDS-only. gRPC drops
// weight-0 clusters from a route and applies a route only when all its
// clusters are resolved (gRFC A74); the warm-up route keeps both clusters
// resolved on every client, so no shift waits for CDS or EDS.
//
// # Caches and tracking
//
// Each resource type has its own LinearCache behind a MuxCache: a changed
// resource is serialised once for all streams and only the changed type is
// pushed. The choice is measured by `vane bench xds --streams N --json`
// (each server in its own process, N gRPC ADS streams with one connection
// each on loopback in another process, 40 weight changes after 3 warm-up
// changes), against a plain SnapshotCache server holding one snapshot for
// the whole fleet, which re-pushes all four types on every version and
// marshals per stream. Both get the same gRPC transport options. On the
// 2-core machine, shared with other work (load average 1.7–5.6):
//
//	streams  server         p50 ms  p99 ms  CPU s/change  streams CPU s/change  pushes/change  heap B/stream  RSS B/stream
//	    100  vane              3.3     7.8        0.0036                0.0026            100          36912        110756
//	    100  snapshotcache     5.9    14.3        0.0081                0.0040            400          37005        116204
//	   1000  vane             40.9    69.5        0.0474                0.0341           1000          21744         56644
//	   1000  snapshotcache    93.2   154.0        0.1283                0.0601           4000          21235         58241
//	  10000  vane            497.2  1208.7        0.6073                0.3863          10000          20141         50792
//	  10000  snapshotcache  1776.5  3405.0        2.1124                1.1332          40000          19615         51394
//
// Per change, the LinearCache server sends a quarter of the pushes and uses
// 29–44% of the CPU; its heap per stream is within 3% of the baseline's.
// With 40 changes, p99 is the slowest change. "streams CPU" is the process
// that decodes and ACKs for all N streams; it shares the two cores.
//
// # Cost of a push at 10,000 streams
//
// CPU profiles of both processes during the timed changes (`vane bench xds
// --profile-dir DIR`, then `go tool pprof -top`) showed, before the changes
// below (p50 610 ms, p99 1,316 ms, 0.70 server CPU s and about 0.48 streams
// CPU s per change, in a quiet run): 26% of the server's CPU in system
// calls (write 21%), 8% in reflect.Select (go-control-plane's unordered
// stream loop rebuilds a select over one channel per type for every
// message), 9.5% in the ACK tracker (maps keyed by type URL, per-message
// label lookups), 4% in GC; the streams process spent 32% in write. So:
//
//   - the gRPC server uses a fixed 64 KiB flow-control window, which turns
//     off its BDP estimator: it answered every ACK with a window update and
//     a PING, i.e. one more write on the server and a PING ACK write on the
//     client per push (the streams process's write time fell from 6.2 s to
//     3.5 s over 40 changes); clients only send small requests;
//   - the ADS server runs go-control-plane's ordered ADS loop (one channel,
//     a plain select), which also keeps a stream's responses in order;
//   - the pooled write buffer is 8 KiB instead of 32 KiB: every connection
//     holds one while a push is written, which was 320 MB of transient heap
//     at 10,000 streams, re-allocated after each GC emptied the pool (the
//     server's live heap during the changes fell from about 400 to 255 MB);
//   - the tracker keeps per-type state in arrays and a bit set per stream,
//     and resolves its per-type counters once (7% of the server's CPU).
//
// Same command, before and after, minutes apart: at 10,000 streams p50
// 1,332 → 497 ms, p99 2,408 → 1,209 ms, server CPU 0.82 → 0.61 s per change;
// at 1,000 p50 44.9 → 40.9 ms, CPU 0.053 → 0.047 s; at 100 the difference
// is within run-to-run noise (p50 2–3.3 ms, p99 5.4–9.6 ms in repeated runs
// of both). One run of the server alone at 10,000 streams, with all but the
// write-buffer change and a quieter machine, gave p50 461 ms and p99 816 ms.
//
// What is left is the gRPC transport's cost per message. At 10,000 streams
// a change costs about 0.6 CPU s in the server (61 µs per push: 26% write
// system calls, about 10% goroutine hand-offs in select) plus 0.39 CPU s in
// the streams process, about 1 CPU s on 2 cores, so p50 cannot go much
// below 0.5 s on this machine, and a change that shares the cores with any
// other busy process takes up to twice as long: in the run above, changes
// 24–27 took 1.0–1.2 s while other work ran, the other 36 under 1 s. The
// server still writes twice per push: the response, and the PING ACK for
// the PING (with a window update) that a gRPC-Go client sends on every
// message it receives (strace over 5 s at 1,000 streams: 56,555 writes in
// the server, 28,476 in the streams process).
// Raising GOGC to 200 saved about 5% CPU in both processes at 1,000 streams
// (within noise of a single run); the benchmark and `vane run` use the Go
// defaults, and GOGC can be set in the environment of a large deployment.
//
// Versions carry a per-start prefix so clients of a restarted server always
// get a full state. Server callbacks map each response nonce to the version
// sent; a request carrying that nonce is its ACK (or NACK with
// error_detail). Apply waits until every stream subscribed to a changed
// resource has ACKed a version that carries it; an Apply that changes
// nothing reports the streams' latest answer for the current version.
//
// gRPC-Go ACKs a response once it has validated it and hands the update to
// its resolver on another goroutine, so its channel switches to a new route
// shortly after the ACK, not before it. Measured in the integration tests
// under -race (8 concurrent callers right after Apply returned): up to 14 of
// 2,000 RPCs, all started within 3.3 ms of the return, still followed the
// previous weights. A confirming second push does not close the gap, since
// the resolver runs independently of the xDS stream (stray RPCs in 3 of 24
// runs with it, 5 of 24 without), so Vane sends none: a change costs one
// push per subscribed stream. Instead Apply returns Options.Handoff
// (DefaultHandoff, 50 ms) after the last ACK, so that when it returns the
// clients route by the change; the integration tests assert that no RPC
// started after Apply(weight 0) returned reaches the canary.
//
// # Clients
//
// A proxyless gRPC client (the demo's load generator, tests) gets its own
// xDS client and node id from a bootstrap:
//
//	bs, _ := xds.Bootstrap(xds.BootstrapConfig{ServerURI: srv.Addr(), NodeID: "loadgen-1"})
//	rb, _ := grpcxds.NewXDSResolverWithConfigForTesting(bs) // google.golang.org/grpc/xds
//	cc, _ := grpc.NewClient("xds:///checkout", grpc.WithResolvers(rb),
//		grpc.WithTransportCredentials(insecure.NewCredentials()))
//
// A separate process may instead set GRPC_XDS_BOOTSTRAP_CONFIG to the same
// JSON, import google.golang.org/grpc/xds and dial "xds:///checkout".
//
// # Usage
//
//	srv, err := xds.New(xds.Options{Listen: "127.0.0.1:0", Logger: log, Registerer: reg})
//	addr, err := srv.Listen() // learn the port
//	go srv.Run(ctx)           // returns nil once ctx ends and streams are closed
//	applied, err := srv.Apply(ctx, svc, traffic.Routing{Weights: traffic.Weights{Stable: 95, Canary: 5}})
package xds
