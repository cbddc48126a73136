// Package autoscale is the harness of `vane bench autoscale`: a
// request-level discrete-event simulation of a service under load traces,
// and the autoscaling policies compared on it side by side — Vane's
// autoscaler (package autoscale's Step with the slo and queue recommenders
// and the HPA's behavior), the Kubernetes HPA (the port in package
// autoscale, default behavior, 70% CPU), KEDA's Prometheus scaler
// (threshold as an AverageValue for the HPA it creates, activation,
// polling and cooldown), Knative's KPA (stable and panic windows), static
// provisioning for the peak and a clairvoyant oracle.
//
// The simulated service is deliberately not the queueing recommender's
// M/M/c model. Requests arrive from the trace's rate as a Poisson process
// modulated by a Gamma-distributed factor (burstier than Poisson); a
// two-choice least-request balancer (Envoy's and gRPC's) sends each to a
// ready replica; a replica serves Workers requests at once and queues up
// to QueueLimit more (past that it rejects, 503); service times are
// log-normal with a Pareto tail, divided by the replica's own speed
// (replicas differ by up to ±15%); a new replica is ready after a
// log-normal start-up delay (median 30 s); a stopped replica leaves the
// balancer at once and drains its requests. Every request is simulated —
// nothing is sampled.
//
// The policies see what they would see live: pods and readiness; CPU per
// pod as metrics-server reports it (the last 15 s); series scraped from
// every pod every 15 s and read with rate over 1 m, computed exactly as
// Prometheus' extrapolatedRate (a test checks it against Prometheus'
// engine); the load balancer's request counter; and, for the KPA, the
// pods' concurrency every second, as Knative's collector scrapes the
// queue-proxies. Only the oracle reads the trace.
//
// The score: a minute violates the latency SLO (99% within 1 s by
// default) when more of its requests are slower or rejected than the
// objective allows; the budget spent is the bad requests over what the
// objective allows for the trace's requests; replica-hours count every pod
// that exists, starting, ready or draining; an action is a change of the
// count asked for, a reversal an action opposite to the previous one
// within 5 minutes.
//
// Everything is a pure function of the Config and its seed: the same seed
// gives the same table on every machine. The package reads no clock and
// does no I/O but writing plots to the io.Writer it is given; Run starts
// one goroutine per worker and waits for them. It may import package
// autoscale, gonum and Prometheus' libraries; it must not import cmd, api,
// xds, prom or anything doing network I/O.
//
// Usage:
//
//	res, err := autoscale.Run(ctx, autoscale.Config{Service: autoscale.DefaultService(),
//		Traces: autoscale.BuiltinTraces(autoscale.DefaultBaseRPS), Peers: autoscale.DefaultPeers(), Seed: 1})
//	autoscale.WriteTable(os.Stdout, res)
package autoscale
