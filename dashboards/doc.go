// Package dashboards generates, from SLO specs, the Grafana dashboards and
// the runbooks an SRE team needs around Vane: an executive dashboard (each
// SLO's compliance and budget, rollouts of the week), an on-call dashboard
// (burn rate per tier window against the tiers' thresholds, firing alerts,
// rollouts in flight, autoscalers), a debug dashboard (canary against
// stable per SLI, judge verdicts, Prometheus query errors and latency, rule
// evaluation, xDS streams, ACK latency and NACKs, store errors), an SLO
// detail dashboard templated on service and SLO, and one Markdown runbook
// per SLO.
//
// Dashboards are built with Grafana's own schema library
// (github.com/grafana/grafana-foundation-sdk/go, Apache-2.0) rather than
// hand-written JSON. Every query reads only series that slo.Rules records,
// the metrics Vane registers (vane_* and the embedded Prometheus's
// prometheus_*), the ALERTS series of the generated alerts, or the series
// the specs' SLI queries read; the package's tests check this with
// Prometheus's PromQL parser.
//
// The package is pure: it takes SLOs and returns files. It must not import
// the controller's runtime packages (rollout, xds, prom, api, store).
package dashboards
