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
// # Caches and transport
//
// Each resource type has its own LinearCache behind a MuxCache: a changed
// resource is serialised once for all streams and only the changed type is
// pushed (one push per subscribed stream per change). The ADS server runs
// go-control-plane's ordered ADS loop, which keeps a stream's responses in
// order. The gRPC server uses a fixed 64 KiB flow-control window (no BDP
// pings answered on every ACK) and 8 KiB pooled write buffers; the ACK
// tracker keeps per-type state in arrays indexed by typeIndex. Why, and what
// a change costs at 100 to 10,000 streams against a plain SnapshotCache
// server, is measured by `vane bench xds` and written up in the README's
// "Benchmark: vane bench xds" section, not here.
//
// # ACKs and when a change is applied
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
// shortly after the ACK, not before it (the README's xDS section gives the
// measurements). Apply therefore returns Options.Handoff (DefaultHandoff,
// 50 ms) after the last ACK, so that when it returns the clients route by
// the change; the integration tests assert that no RPC started after
// Apply(weight 0) returned reaches the canary. Vane sends no confirming
// second push: the resolver runs independently of the xDS stream, so it
// would not close the gap.
//
// Apply reports the nodes that ACKed (traffic.Applied.Acked); with no node
// subscribed it returns at once with none, and the rollout controller's
// min_proxies decides whether that counts as applied.
//
// Holding reports the same without waiting (which nodes hold a service's
// current state, which rejected it, how many are silent) and Changes
// signals when that may have changed: with several replicas each one
// publishes it for the leader (package ha).
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
