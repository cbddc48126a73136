// Package slocost measures what Vane's SLO rules cost: loading and
// generating the rules of many SLOs (Measure), and, on a real Prometheus
// server, the rules' evaluation time next to Sloth's for the same SLOs
// (Prometheus). `vane bench slo` wires it to flags.
//
// It may start the prometheus and sloth binaries (found like the tests find
// them); it must not import cmd/vane, rollout, xds or api.
package slocost
