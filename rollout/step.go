package rollout

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/traffic"
)

// Step is the rollout state machine: from the state, what was observed and
// the time now it returns the next state and the actions to carry out, in
// order. It is pure: no I/O, no clock, no randomness; the Controller runs it.
//
// A failing judge, an abort or an exceeded progress deadline yields
// RollingBack with an ActApply of weight 0 first, then the event with the
// reason. Analysis counts from the ACK of the weight it judges. Like
// Flagger's scheduler (fluxcd/flagger pkg/controller/scheduler.go) a step
// advances only on evidence, but here the evidence is each judge's verdict
// and an inconclusive look is never a pass.
func Step(s State, o Observation, now time.Time) (State, []Action) {
	before := s
	m := &machine{s: s, now: now, o: o}
	m.step()
	if !reflect.DeepEqual(before, m.s) || len(m.acts) > 0 {
		m.s.Seq++
		m.s.Updated = now
	}
	return m.s, m.acts
}

type machine struct {
	s       State
	now     time.Time
	o       Observation
	acts    []Action
	applied bool // an ActApply was emitted by this call
	// counted is set when this call's look counted toward the analysis
	// window: it was conclusive, and so was the look (or start) before it.
	counted bool
}

func (m *machine) step() {
	s := &m.s
	if s.Phase.Terminal() {
		return
	}
	if m.o.Resumed {
		s.CountFrom = time.Time{}
	}
	if m.o.Ack != nil {
		m.onAck(*m.o.Ack)
	}
	if m.o.Hook != nil && m.o.Hook.Name == s.Hook {
		m.onHook(*m.o.Hook)
	}
	if m.o.Command != "" && s.CheckCommand(m.o.Command) == nil {
		m.onCommand(m.o.Command)
	}
	if m.o.Results != nil && s.Analyzing() {
		m.onResults()
	}
	m.advance()
}

func (m *machine) event(t EventType, reason string, evidence []analysis.Result) {
	m.acts = append(m.acts, Action{Kind: ActEvent, Event: Event{
		At: m.now, Rollout: m.s.Name, Type: t, Phase: m.s.Phase, Step: m.s.Step,
		Weight: m.s.Routing.Weights.Canary, Reason: reason, Evidence: evidence,
	}})
}

func (m *machine) apply(svc traffic.Service, r traffic.Routing) {
	m.s.Service, m.s.Routing, m.s.Applied = svc, r, false
	m.acts = append(m.acts, Action{Kind: ActApply, Service: svc, Routing: r})
	m.applied = true
}

func (m *machine) hook(n HookName) {
	m.s.Hook = n
	m.acts = append(m.acts, Action{Kind: ActHook, Hook: n})
}

func (m *machine) onAck(a Ack) {
	s := &m.s
	if s.Applied || !reflect.DeepEqual(a.Routing, s.Routing) || !reflect.DeepEqual(a.Service, s.Service) {
		return // stale
	}
	if a.Err != "" {
		msg := fmt.Sprintf("applying %s: %s (retrying)", s.Routing, a.Err)
		if msg != s.ApplyError { // one event per distinct failure, not one per retry
			m.event(EvApplyFailed, msg, nil)
		}
		s.ApplyError = msg
		return
	}
	s.Applied, s.AppliedAt, s.ApplyError = true, m.now, ""
	what := s.Routing.String()
	if s.Phase == Promoting {
		what += fmt.Sprintf(" (stable cluster: %s, canary cluster: %s)", backendName(s.Service.Stable), backendName(s.Service.Canary))
	}
	m.event(EvApplied, "every proxy ACKed "+what, nil)
	if s.Phase == Progressing || s.Phase == Paused {
		if s.Routing.Weights.Canary > 0 || len(s.Routing.CanaryHeaders) > 0 {
			m.resetAnalysis()
		}
	}
}

func backendName(b traffic.Backend) string {
	if len(b.Endpoints) == 0 {
		return "no endpoints"
	}
	return b.Version
}

func (m *machine) resetAnalysis() {
	m.s.AnalysisStarted = m.now
	m.s.Results = nil
	m.s.Inconclusive = 0
	m.s.Conclusive, m.s.CountFrom = 0, m.now
	m.acts = append(m.acts, Action{Kind: ActResetAnalysis, Start: m.now})
}

func (m *machine) onHook(h HookResult) {
	s := &m.s
	s.Hook = ""
	if h.Err == "" {
		s.HooksDone = append(s.HooksDone, h.Name)
		m.event(EvHook, fmt.Sprintf("%s webhook succeeded", h.Name), nil)
		return
	}
	switch h.Name {
	case HookPreRollout:
		s.Phase, s.Finished = Aborted, m.now
		s.Reason = fmt.Sprintf("%s webhook failed: %s; no traffic was moved", h.Name, h.Err)
		m.event(EvAborted, s.Reason, nil)
		m.postHook()
	case HookPrePromote:
		s.Phase, s.ManualPause = Paused, true
		s.Reason = fmt.Sprintf("%s webhook failed: %s; resume to retry it, or abort", h.Name, h.Err)
		m.event(EvPaused, s.Reason, nil)
	}
}

func (m *machine) postHook() {
	if m.s.Plan.Webhooks.PostRollout != nil {
		m.acts = append(m.acts, Action{Kind: ActHook, Hook: HookPostRollout})
	}
}

func (m *machine) onCommand(c Command) {
	s := &m.s
	switch c {
	case CmdAbort:
		m.rollback("aborted by an operator", nil)
	case CmdPause:
		s.Phase, s.ManualPause = Paused, true
		s.Reason = fmt.Sprintf("paused by an operator at step %d/%d (%s)", s.Step+1, len(s.Plan.Steps), s.CurrentStep())
		m.event(EvPaused, s.Reason, nil)
	case CmdResume:
		s.ManualPause = false
		s.Inconclusive = 0
		s.Reason = "resumed by an operator"
		m.event(EvResumed, s.Reason, nil)
		if s.CurrentStep().Pause != nil {
			m.enterStep(s.Step + 1)
			return
		}
		s.Phase = Progressing
	case CmdPromote:
		s.ManualPause = false
		s.Reason = fmt.Sprintf("step %d/%d (%s) skipped by an operator", s.Step+1, len(s.Plan.Steps), s.CurrentStep())
		m.event(EvStep, s.Reason, nil)
		s.Phase = Progressing
		m.enterStep(s.Step + 1)
	case CmdPromoteFull:
		s.ManualPause = false
		s.Reason = "full promotion requested by an operator"
		m.event(EvStep, s.Reason, nil)
		m.enterStep(len(s.Plan.Steps) - 1)
	}
}

func (m *machine) onResults() {
	s := &m.s
	prev := s.Results
	s.Results = slices.Clone(m.o.Results)
	var failed, inconclusive []analysis.Result
	for _, r := range s.Results {
		switch r.Verdict {
		case analysis.Fail:
			failed = append(failed, r)
		case analysis.Inconclusive:
			inconclusive = append(inconclusive, r)
		}
	}
	if len(failed) > 0 {
		m.rollback(fmt.Sprintf("%s at step %d/%d (canary %d%%)", describe(failed), s.Step+1, len(s.Plan.Steps), s.Routing.Weights.Canary), s.Results)
		return
	}
	if len(inconclusive) == 0 {
		if !s.CountFrom.IsZero() && !m.now.Before(s.CountFrom) {
			s.Conclusive += model.Duration(m.now.Sub(s.CountFrom))
			m.counted = true
		}
		s.CountFrom = m.now
		if s.Inconclusive > *s.Plan.InconclusiveLimit {
			s.Reason = fmt.Sprintf("judges have data again; the analysis window (%s of conclusive looking so far) goes on from this look", model.Duration(time.Duration(s.Conclusive).Round(time.Second)))
			m.event(EvAnalysis, s.Reason, s.Results)
		}
		s.Inconclusive = 0
		if !sameVerdicts(prev, s.Results) {
			m.event(EvAnalysis, verdictSummary(s.Results), s.Results)
		}
		return
	}
	s.Inconclusive++
	s.CountFrom = time.Time{}
	limit := *s.Plan.InconclusiveLimit
	if s.Inconclusive <= limit {
		if !sameVerdicts(prev, s.Results) {
			m.event(EvAnalysis, verdictSummary(s.Results), s.Results)
		}
		return
	}
	why := fmt.Sprintf("%d inconclusive looks in a row (limit %d): %s", s.Inconclusive, limit, describe(inconclusive))
	if s.Plan.OnInconclusive == Rollback {
		m.rollback(why, s.Results)
		return
	}
	if s.Inconclusive == limit+1 {
		s.Reason = "holding: " + why
		m.event(EvInconclusive, s.Reason, s.Results)
	}
}

func describe(rs []analysis.Result) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s %s: %s", r.Judge, r.Verdict, r.Reason))
	}
	return strings.Join(parts, "; ")
}

func verdictSummary(rs []analysis.Result) string {
	if len(rs) == 0 {
		return "no judges configured"
	}
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		parts = append(parts, r.Judge+"="+r.Verdict.String())
	}
	return "verdicts: " + strings.Join(parts, ", ")
}

func sameVerdicts(a, b []analysis.Result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Judge != b[i].Judge || a[i].Verdict != b[i].Verdict {
			return false
		}
	}
	return true
}

func (m *machine) rollback(reason string, evidence []analysis.Result) {
	s := &m.s
	s.Phase = RollingBack
	s.ManualPause, s.Hook, s.Blocked = false, "", ""
	s.AnalysisStarted = time.Time{}
	s.Reason = "rolling back: " + reason
	// Weight 0 first, then the reason.
	m.apply(s.Original, traffic.AllStable())
	m.event(EvRollback, s.Reason, evidence)
}

// gateBlocked reports whether the error-budget gate freezes the rollout,
// with the cause and the reason.
func (m *machine) gateBlocked() (BlockCause, string, bool) {
	s := &m.s
	if !s.NeedsBudget() {
		return "", "", false
	}
	b, g := m.o.BudgetRemaining, s.Plan.BudgetGate
	if math.IsNaN(b) {
		return BlockBudgetUnknown, fmt.Sprintf("deploy freeze: the error budget remaining of SLO %q is unknown (start with --force to override)", g.SLO), true
	}
	if b < g.Floor {
		return BlockBudgetLow, fmt.Sprintf("deploy freeze: SLO %q has %.1f%% of its error budget left, below the floor of %.1f%% (start with --force to override)", g.SLO, 100*b, 100*g.Floor), true
	}
	return "", "", false
}

// blocked holds the rollout for cause. The reason is kept up to date;
// the event (and its notification) is emitted only when the cause changes.
func (m *machine) blocked(cause BlockCause, why string) {
	s := &m.s
	changed := s.Blocked != cause || (cause == BlockPreflight && s.Reason != why)
	s.Reason = why
	if changed {
		s.Blocked = cause
		m.event(EvBlocked, why, nil)
	}
}

func (m *machine) advance() {
	s := &m.s
	switch s.Phase {
	case Pending:
		if s.Hook != "" {
			return
		}
		if why := m.o.Preflight; why != "" {
			m.blocked(BlockPreflight, "not started: "+why)
			return
		}
		if s.Plan.Webhooks.PreRollout != nil && !slices.Contains(s.HooksDone, HookPreRollout) {
			if cause, why, ok := m.gateBlocked(); ok {
				m.blocked(cause, why)
				return
			}
			m.hook(HookPreRollout)
			return
		}
		if !slices.Contains(s.HooksDone, HookPreRollout) {
			if cause, why, ok := m.gateBlocked(); ok {
				m.blocked(cause, why)
				return
			}
		}
		m.start()
	case Progressing:
		if !s.Applied {
			m.retryApply()
			if m.deadlineExceeded() {
				return
			}
			return
		}
		if m.deadlineExceeded() {
			return
		}
		st := s.CurrentStep()
		switch {
		case st.Weight != nil, st.Headers != nil:
			m.complete(fmt.Sprintf("step %d/%d (%s) applied", s.Step+1, len(s.Plan.Steps), st))
		case st.Analysis != nil:
			m.analysisStep(time.Duration(st.Analysis.Duration))
		case st.Pause != nil:
			s.Phase = Paused
		default:
			m.promote()
		}
	case Paused:
		st := s.CurrentStep()
		if !s.Applied {
			m.retryApply()
		}
		if end := s.WakeAt(); !end.IsZero() && !m.now.Before(end) {
			// The gate is checked before leaving the pause: a frozen
			// rollout stays Paused at the end of its pause.
			if cause, why, ok := m.gateBlocked(); ok {
				m.blocked(cause, why)
				return
			}
			s.Phase = Progressing
			m.complete(fmt.Sprintf("pause of %s ended", st.Pause.Duration))
		}
	case Promoting:
		m.promoting()
	case RollingBack:
		if !s.Applied {
			m.retryApply()
			return
		}
		s.Phase, s.Finished = Aborted, m.now
		s.Reason = strings.TrimPrefix(s.Reason, "rolling back: ")
		m.event(EvAborted, "rolled back: "+s.Reason, nil)
		m.postHook()
	}
}

func (m *machine) retryApply() {
	if m.applied || m.o.Ack != nil {
		return // applied by this call, or just failed: retry on the next tick
	}
	m.apply(m.s.Service, m.s.Routing)
}

func (m *machine) deadlineExceeded() bool {
	s := &m.s
	d := time.Duration(s.Plan.ProgressDeadline)
	if d <= 0 || s.Phase != Progressing || s.StepStarted.IsZero() || m.now.Sub(s.StepStarted) <= d {
		return false
	}
	if _, _, frozen := m.gateBlocked(); frozen {
		return false // a deploy freeze holds a healthy canary; it is not a failure
	}
	m.rollback(fmt.Sprintf("step %d/%d (%s) did not complete within the progress deadline of %s", s.Step+1, len(s.Plan.Steps), s.CurrentStep(), s.Plan.ProgressDeadline), s.Results)
	return true
}

func (m *machine) analysisStep(d time.Duration) {
	s := &m.s
	if s.AnalysisStarted.IsZero() {
		m.resetAnalysis()
		return
	}
	if !m.counted {
		// Judged only on looks that count: conclusive, after a conclusive
		// look. After an outage the first conclusive look only restarts
		// the count.
		return
	}
	elapsed := time.Duration(s.Conclusive)
	trafficOK, trafficWhy := true, ""
	if mt := s.Plan.MinTraffic; mt.Requests > 0 {
		n := m.o.CanaryRequests
		switch {
		case math.IsNaN(n):
			trafficOK, trafficWhy = false, "the canary's request count is unknown"
		case n < mt.Requests:
			trafficOK, trafficWhy = false, fmt.Sprintf("the canary served %.0f requests, fewer than the minimum of %.0f", n, mt.Requests)
		}
	}
	allPass := len(s.Results) > 0
	for _, r := range s.Results {
		allPass = allPass && r.Verdict == analysis.Pass
	}
	switch {
	case allPass && trafficOK:
		m.complete(fmt.Sprintf("every judge passed after %s of conclusive looking", model.Duration(elapsed.Round(time.Second))))
	case elapsed < d:
	case !trafficOK:
		m.blocked(BlockMinTraffic, fmt.Sprintf("analysis window of %s ended but %s; waiting", model.Duration(d), trafficWhy))
	default:
		m.complete(fmt.Sprintf("analysis window of %s of conclusive looking ended with no failure (%s)", model.Duration(d), verdictSummary(s.Results)))
	}
}

// complete finishes the current step and enters the next, unless the
// error-budget gate freezes the rollout.
func (m *machine) complete(why string) {
	if cause, frozen, ok := m.gateBlocked(); ok {
		m.blocked(cause, frozen)
		return
	}
	m.s.Blocked = ""
	m.s.Reason = why
	m.enterStep(m.s.Step + 1)
}

func (m *machine) start() {
	s := &m.s
	s.Reason = fmt.Sprintf("rollout of %s %s started (%d steps)", s.Name, s.Service.Canary.Version, len(s.Plan.Steps))
	s.Phase, s.Blocked = Progressing, ""
	m.event(EvStarted, s.Reason, nil)
	m.enterStep(0)
}

func (m *machine) enterStep(i int) {
	s := &m.s
	if i >= len(s.Plan.Steps) {
		i = len(s.Plan.Steps) - 1
	}
	s.Step, s.StepStarted = i, m.now
	s.Phase, s.ManualPause = Progressing, false
	st := s.CurrentStep()
	m.event(EvStep, fmt.Sprintf("step %d/%d: %s", i+1, len(s.Plan.Steps), st), nil)
	switch {
	case st.Weight != nil:
		r := s.Routing
		r.Weights = traffic.Weights{Stable: 100 - *st.Weight, Canary: *st.Weight}
		m.setRouting(r, st)
	case st.Headers != nil:
		r := s.Routing
		r.CanaryHeaders = headerMatches(st.Headers)
		m.setRouting(r, st)
	case st.Pause != nil:
		s.Phase = Paused
		if st.Pause.Duration == 0 {
			s.Reason = fmt.Sprintf("paused at step %d/%d until promoted", i+1, len(s.Plan.Steps))
		}
		m.event(EvPaused, fmt.Sprintf("pause: %s", st), nil)
	case st.Analysis != nil:
		if s.Applied && !s.AnalysisStarted.Equal(m.now) {
			m.resetAnalysis()
		}
	default:
		m.promote()
	}
}

func (m *machine) setRouting(r traffic.Routing, st PlanStep) {
	s := &m.s
	if reflect.DeepEqual(r, s.Routing) && s.Applied {
		m.complete(fmt.Sprintf("step %d/%d (%s) already served", s.Step+1, len(s.Plan.Steps), st))
		return
	}
	m.apply(s.Service, r)
}

func (m *machine) promote() {
	s := &m.s
	if s.Phase != Promoting {
		s.Phase = Promoting
		s.Step = len(s.Plan.Steps) - 1
		s.AnalysisStarted = time.Time{}
		s.Reason = fmt.Sprintf("promoting %s", s.Service.Canary.Version)
		m.event(EvPromoting, s.Reason, s.Results)
	}
	m.promoting()
}

func (m *machine) promoting() {
	s := &m.s
	if s.Hook != "" {
		return
	}
	if s.Plan.Webhooks.PrePromote != nil && !slices.Contains(s.HooksDone, HookPrePromote) {
		m.hook(HookPrePromote)
		return
	}
	// Make before break, so that no proxy ever routes to a cluster whose
	// endpoints are not the canary's, whatever order it applies resource
	// types in: (1) 100% to the canary; (2) the stable cluster gets the
	// canary's endpoints (no traffic goes there); (3) 100% to the stable
	// cluster; (4) the canary cluster is emptied (no traffic goes there).
	full := traffic.Routing{Weights: traffic.Weights{Canary: 100}}
	canary := s.Original.Canary
	switch stableIsCanary := reflect.DeepEqual(s.Service.Stable, canary); {
	case !stableIsCanary && !reflect.DeepEqual(s.Routing, full):
		m.apply(s.Service, full)
	case !s.Applied:
		m.retryApply()
	case !stableIsCanary:
		svc := s.Service
		svc.Stable = canary
		m.apply(svc, full)
	case reflect.DeepEqual(s.Routing, full):
		m.apply(s.Service, traffic.AllStable())
	case len(s.Service.Canary.Endpoints) > 0:
		svc := s.Service
		svc.Canary = traffic.Backend{}
		m.apply(svc, traffic.AllStable())
	default:
		s.Phase, s.Finished = Succeeded, m.now
		s.Reason = fmt.Sprintf("%s promoted: it is the stable version", s.Service.Stable.Version)
		m.event(EvSucceeded, s.Reason, nil)
		m.postHook()
	}
}
