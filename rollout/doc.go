// Package rollout runs canary and blue-green releases: the plan model read
// from vane.yaml, the pure state machine Step, and the Controller that
// drives one rollout per service.
//
// Step(state, observation, now) (state, []Action) is pure: it takes the
// current State, what the controller observed (the ACK of the last routing,
// the judges' results, an operator's command, a webhook's result, the
// remaining error budget, the canary's request count) and the time, and
// returns the next State and the Actions to carry out in order. The phases
// are Pending → Progressing (step i) ⇄ Paused → Promoting → Succeeded, or →
// RollingBack → Aborted. A failure always applies weight 0 before anything
// else; an inconclusive look is never a pass. An analysis window ends after
// its duration of conclusive looking (State.Conclusive): time while the
// judges were inconclusive does not count, and after an outage (or a
// restart of the controller) the first conclusive look only restarts the
// count. A block (the error-budget gate, too little traffic) is recorded
// once per cause (State.Blocked).
//
// The controller looks every Analysis.LookInterval (analysis.interval, or
// a judge's own shorter interval), reads the budget whenever the gate may
// be checked (State.NeedsBudget), and steps at State.WakeAt so that a
// timed pause ends when its duration ends.
//
// The Controller owns the ticker, evaluates the analysis.Checks through an
// analysis.Querier, applies routings through a traffic.Router and counts
// an analysis only from the ACK of the weight it judges, persists the state
// before it reports an action's effect, calls the webhooks and emits events
// and metrics. A restarted Controller resumes from the stored state: it
// re-publishes the stored routing and never moves weight by itself.
//
// With several replicas (package ha), the leader's Manager runs Run; a
// follower's runs Follow, which publishes the routing the leader stored and
// never steps or writes. A write the store refuses because this replica no
// longer leads (an error with a Fenced() method, store.ErrFenced) stops the
// loop from acting, rollbacks included.
//
// rollout imports analysis, traffic and the standard library; Step and the
// plan model do no I/O, no logging and never read the clock. It must not
// import xds, prom, api or cmd.
//
// Usage:
//
//	st := rollout.NewState(svc, plan, false, now)
//	st, acts := rollout.Step(st, rollout.Tick(), now)
//	for _, a := range acts { /* apply, reset-analysis, hook, event */ }
package rollout
