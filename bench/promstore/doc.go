// Package promstore holds simulated scrapes (package sim) in a real
// Prometheus TSDB and answers PromQL with Prometheus's own engine, so that
// analysis Checks and the peers' documented queries run on simulated
// releases exactly as they would on a Prometheus server: rate()'s
// extrapolation, irate(), the lookback, histogram_quantile and counter
// handling are the real ones.
//
// It does I/O (the TSDB lives in a directory the caller gives and
// removes); it must not import cmd/vane, rollout, xds or api.
package promstore
