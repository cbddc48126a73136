// Package autoscale scales services: pure recommenders, a pure decision
// step with the HPA's behavior (stabilization windows and rate limits),
// the Actuator interface the scale targets implement, and the Controller
// loop that runs one autoscaler.
//
// Three recommenders take their inputs and now and return a
// Recommendation with a human-readable Reason:
//
//   - hpa (RecommendHPA): a port of the Kubernetes HorizontalPodAutoscaler's
//     replica calculation: desired = ceil(current × value/target) with a
//     tolerance of 0.1, Value, AverageValue and Utilization targets, pods
//     that are not ready or have no metric treated as the HPA treats them,
//     and the highest proposal over several metrics.
//   - slo (RecommendSLO): a page-tier burn of a watched SLO scales up at
//     once, past the up-stabilization window, unless the burn is the
//     canary's and, when the signal carries a shortest window (BurnNow),
//     only while the service burns now; spare budget lets the metrics'
//     targets rise slowly and, with nothing burning now, lets Step release
//     a large drop after a shorter scale-down window (SpareDownWindow); a
//     nearly spent budget holds scale-down. Without metrics it abstains
//     from counting and only scales up on a burn or holds scale-down.
//   - queue (RecommendQueue): estimates the service time online from
//     throughput and latency by inverting the M/M/c mean response time, and
//     picks the fewest replicas that keep the SLO's latency percentile under
//     its threshold (Erlang C) for the load expected one start-up delay
//     ahead, with headroom set by the budget left; Step holds its count
//     at the current one when within the tolerance. A jump of the short
//     window's arrival rate (ArrivalsNow) is sized at once; far above the
//     ready replicas it is a panic, past the behavior's scale-up limits.
//     Its count also sizes the slo recommender's urgent scale-up. While
//     the arrival rate rises by more than its noise, or has risen by more
//     than a fifth from its low of the last two minutes, it holds
//     scale-down.
//
// Step's first look records the current count as a recommendation, as the
// HPA's recordInitialRecommendation does: a fresh autoscaler does not
// scale down on its first readings within its scale-down window.
//
// Step(spec, state, inputs, now) takes the highest valid recommendation,
// sizes stable and canary to their weights during a rollout, applies the
// Behavior (the HPA's schema and defaults; nil runs the HPA's legacy path)
// and min/max, and holds — changes nothing — when it cannot decide safely:
// no data, NaN or stale data, an unknown current scale, a pause, or a
// fight (the count changed by someone else). It never scales down while
// a recommender is blind, while the canary's analysis runs, or when the
// slo recommender says the budget is nearly spent. With the queue
// recommender it holds a scale-up that is neither urgent nor larger than
// the tolerance within the scale-down window of the last scale-down (the
// load estimate's noise, which would be a reversal).
//
// The Controller owns its ticker: each look it reads the scale and the
// metrics (through an analysis.Querier), runs Step, sets the scale through
// the Actuator with retries and backoff, reads it back (it never assumes a
// count it could not confirm), persists the state (the stabilization
// windows and rate-limit events survive a restart) and emits events and
// metrics; scaled, hold and fight events carry every recommender's
// proposal and reason. Step does no I/O, no logging and never reads the clock.
//
// autoscale imports analysis, slo (the page tiers), store (its not-found
// error) and the standard library; it must not import api, cmd, xds or the actuators'
// SDKs (those live in autoscale/actuator).
//
// Usage:
//
//	spec = spec.WithDefaults()
//	st, d := autoscale.Step(spec, st, inputs, now)
//	if d.Action == autoscale.ActionScaleUp || d.Action == autoscale.ActionScaleDown {
//		// SetScale(d.Desired), read back, then st = autoscale.Confirm(spec, st, d.Current, confirmed, now)
//	}
package autoscale
