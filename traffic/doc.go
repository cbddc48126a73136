// Package traffic is Vane's pure model of how a service's requests are split
// between its stable and canary versions: services, their backends and
// endpoints, weights, header-match routes for A/B cohorts, validation, and
// the Router interface that the rollout controller drives.
//
// It imports only the standard library and does no I/O. The xds package
// implements Router by serving these settings over Envoy's xDS API.
//
// Usage:
//
//	svc := traffic.Service{Name: "checkout",
//		Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:8080"}},
//		Canary: traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.2:8080"}}}
//	r := traffic.Routing{Weights: traffic.Weights{Stable: 95, Canary: 5}}
//	res, err := router.Apply(ctx, svc, r) // returns once every proxy ACKed
package traffic
