// Package api serves Vane's HTTP API and web UI for `vane run`: health
// (/healthz, /readyz), /metrics, the rollout endpoints under
// /api/v1/rollouts, the configured services at /api/v1/services (their
// versions, rollout phase and whether they autoscale; shell completion
// reads it), the SLO status under /api/v1/slos and each SLO's burn rates
// and budget over time under /api/v1/slos/{service}/{slo}/history (range
// queries through the SLO engine, bounded: 400 on a range over 7d or more
// than 1000 points per series), the active alerts at /api/v1/alerts (from
// an AlertSource: the embedded Prometheus, or a Prometheus server's own
// alerts API; 501 without one, 502 when it fails), handlers mounted
// under a prefix (Options.Mounts: vane run's /prometheus/ and /runbooks/)
// and the web page at / (ui/index.html, embedded: graphs as inline SVG,
// rollout history, action buttons that send the token). Errors are JSON, {"error": "...", "code": "..."}, with a fitting
// status; mutating calls need `Authorization: Bearer <token>` when a token
// file is configured (401 without a token, 403 with a wrong one).
//
// With several replicas (Options.Leader), a follower forwards the mutating
// calls and the autoscaler reads to the leader's API through a
// httputil.ReverseProxy, the caller's Authorization header intact (the
// leader authorizes them); 503 not_running when no leader is known, 502
// leader_unreachable when it does not answer. GET /api/v1/replicas lists
// the replicas (Options.Cluster).
//
// The package defines the interfaces it consumes (Rollouts, Services, SLOs,
// SLOHistories, Autoscalers, AlertSource); the rollout.Manager implements
// Rollouts and Services, slo.Evaluator SLOs and SLOHistories, and the
// controller adapts prom's alerts to AlertSource. It must not import xds,
// prom or cmd (it imports ha for the replicas' status type).
//
// Usage:
//
//	srv, err := api.New(api.Options{Rollouts: mgr, TokenFile: "/etc/vane/token", Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})})
//	err = srv.Run(ctx, "127.0.0.1:8080") // returns after a graceful shutdown
package api
