// Package backtest replays the history of an SLO's SLI through alert
// policies and reports how they would have paged: pages and tickets per
// week, each alert's start, end, detection time, budget spent before it
// fired and reset time, flapping, the time spent burning faster than the
// budget allows with no alert, and, against labelled incidents, precision
// and recall. Tune searches tiers, burn factors and min_events for the
// policies that meet stated constraints.
//
// The replay uses the slo package's budget math (thresholds, burn rates,
// min_events, tier scaling) so that the rules Prometheus evaluates, the live
// status and the replay agree; a differential test runs the generated rules
// in a real promtool over a synthetic month and checks every alert's start
// and end against Replay.
//
// Replay, Evaluate, Tune, Synth and the report writers (output.go,
// plot.go, writing to an io.Writer) are a pure core: no I/O of their own,
// no clock, no logging. Fetch reads the SLI through a Querier the caller
// supplies (prom.HTTPQuerier, or cmd/vane's read-only TSDB directory), the
// cache (cache.go) and Report.WriteDir read and write files, and Run
// prints progress; the cmd/vane backtest command wires them. The package
// may import the standard library, the slo and analysis packages, the
// YAML library and gonum/plot; it must not import the servers' packages
// (prom, api, rollout), prometheus/prometheus or client_golang.
//
//	ser := backtest.SeriesFromCounters(counters) // or backtest.Fetch(ctx, q, s, opts)
//	res, err := backtest.Evaluate(s, backtest.SpecPolicy(s), ser, incidents)
//	tuned, err := backtest.Tune(s, ser, backtest.SpecPolicy(s), backtest.Candidates(s, backtest.SpecPolicy(s)), constraints, nil)
package backtest
