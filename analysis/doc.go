// Package analysis turns SLIs read from Prometheus into verdicts: Pass, Fail,
// Inconclusive or Continue, each with a human-readable reason and its
// evidence. The judges are pure functions of their inputs and `now`; the
// Querier interface is the only way the package reaches Prometheus, and the
// prom package implements it.
//
// Fail-safe rule: no data, NaN, an empty result, a query error or a timeout
// is Inconclusive, never Pass.
//
// The judges:
//
//   - RatioTest, the sequential canary-vs-stable judge: an anytime-valid
//     mixture likelihood-ratio test on the canary's share of bad events
//     (errors, requests slower than a latency threshold, or every latency
//     bucket), which fails early on clear regressions and passes early when
//     the canary is no worse than a tolerance, with its false-rollback
//     probability below alpha however often it looks; it estimates the
//     errors' overdispersion and asks a failure to hold without the
//     window most like a burst (capping that window only while the stable
//     version's looks leave overdispersion possible), and in a step of
//     known length keeps part of alpha for the look that completes it
//     (LastLooker);
//   - Threshold, Flagger/Argo Rollouts-compatible value checks with a failure
//     limit;
//   - BurnRateGate, the canary's own SLO burn rate over a short and a long
//     window (the slo package's math);
//   - MannWhitney with KayentaScore, Kayenta's fixed-horizon judge.
//
// Each kind of judge has its spec type (SequentialSpec, ThresholdSpec,
// BurnRateSpec, MannWhitneySpec: a Judge), which completes itself
// (Defaults), validates itself (Validate, every error a *FieldError naming
// its YAML field) and builds its Check bound to a service and versions
// (Build). Spec holds one judge in a rollout plan and reads and writes it
// as one YAML or JSON mapping whose `kind` field selects the type; a field
// of another kind is an error.
//
// Fail-safe rule: a judge whose failure side cannot be observed is an error,
// never a pass. Preflight renders a spec's queries for the stable version
// and checks them, matcher by matcher, against its live series (through the
// same Querier): the metric, service and version values exist, and the
// bad-code matcher can match a server error of the codes in use (HTTP
// statuses, gRPC names or numbers). WithProtocol gives a grpc service
// GRPCBadCodes as its default.
//
// It imports the slo package for budget and burn-rate math, gonum for
// statistics, and the PromQL parser to validate query templates; it must not
// import prom, xds, rollout or anything that does I/O, logging or metrics,
// and it never reads the wall clock.
//
// Usage:
//
//	spec := &analysis.SequentialSpec{Counters: analysis.Counters{RequestsMetric: "http_requests_total"}}
//	check, err := spec.Build(analysis.Vars{Service: "checkout", Version: "v2", Stable: "v1"})
//	if err != nil { … }
//	check.Reset(start)
//	for each tick {
//		r := check.Evaluate(ctx, querier, now) // r.Verdict, r.Reason, r.Evidence
//	}
package analysis
