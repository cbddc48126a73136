package rollout

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/traffic"
)

// Phase is where a rollout is in its life.
type Phase string

// The phases: Pending → Progressing (step i) ⇄ Paused → Promoting →
// Succeeded, or → RollingBack → Aborted.
const (
	Pending     Phase = "Pending"
	Progressing Phase = "Progressing"
	Paused      Phase = "Paused"
	Promoting   Phase = "Promoting"
	Succeeded   Phase = "Succeeded"
	RollingBack Phase = "RollingBack"
	Aborted     Phase = "Aborted"
)

// Phases lists every phase, in order.
var Phases = []Phase{Pending, Progressing, Paused, Promoting, Succeeded, RollingBack, Aborted}

// Terminal reports whether p is Succeeded or Aborted.
func (p Phase) Terminal() bool { return p == Succeeded || p == Aborted }

// State is one rollout's complete, persisted state. Step is its only
// writer; it is plain data so that the store can save it as JSON.
type State struct {
	// Name is the rollout's name (the service's name).
	Name string `json:"name"`
	// Service holds the stable and the canary backends; after promotion the
	// canary is the stable backend.
	Service traffic.Service `json:"service"`
	// Original is the service as it was before the rollout started, the
	// routing restored by a rollback.
	Original traffic.Service `json:"original"`
	// ConfigStable is the stable backend the configuration named when the
	// rollout started; while the configuration still names it, the
	// rollout's outcome is what the service serves.
	ConfigStable traffic.Backend `json:"config_stable,omitzero"`
	// Drift, set on the states Manager.Get and List return (not stored),
	// says how the served stable version differs from the configured one
	// (after a promotion, until vane.yaml is edited to name it).
	Drift string `json:"drift,omitempty"`
	// Plan is the plan with its defaults applied.
	Plan Plan `json:"plan"`
	// Force skips the error-budget gate.
	Force bool `json:"force,omitempty"`

	Phase Phase `json:"phase"`
	// Step indexes Plan.Steps (from 0); everything a person reads (CLI,
	// UI, events, reasons, webhooks, the vane_rollout_step metric) counts
	// steps from 1, as Step+1 of len(Plan.Steps).
	Step int `json:"step"`
	// StepStarted is when the current step began.
	StepStarted time.Time `json:"step_started"`
	// AnalysisStarted is when the judges started counting: the ACK of the
	// weight they judge. Zero while no analysis runs.
	AnalysisStarted time.Time `json:"analysis_started,omitzero"`
	// Routing is the routing the rollout wants served.
	Routing traffic.Routing `json:"routing"`
	// Applied reports whether every proxy ACKed Routing (and Service).
	Applied bool `json:"applied"`
	// ApplyError is the last failure to apply Routing, cleared by an ACK.
	ApplyError string `json:"apply_error,omitempty"`
	// AppliedAt is when Routing was last ACKed.
	AppliedAt time.Time `json:"applied_at,omitzero"`
	// ManualPause is set while paused by an operator (not by a pause step).
	ManualPause bool `json:"manual_pause,omitempty"`
	// Hook is the webhook whose result the rollout waits for.
	Hook HookName `json:"hook,omitempty"`
	// HooksDone lists the hooks that succeeded.
	HooksDone []HookName `json:"hooks_done,omitempty"`
	// Inconclusive counts inconclusive looks in a row.
	Inconclusive int `json:"inconclusive"`
	// Conclusive is how long the judges of the current analysis have been
	// looking conclusively: the time from one look to the next counts only
	// when the earlier look (or the start of the analysis) was conclusive.
	// An analysis window ends after its duration of conclusive looking, so
	// time during which the judges were Inconclusive (a Prometheus outage,
	// stale samples) never counts, and after an outage the first
	// conclusive look cannot complete a step by itself.
	Conclusive model.Duration `json:"conclusive,omitempty"`
	// CountFrom is when the next conclusive look starts counting from: the
	// last conclusive look, or the start of the analysis; zero after an
	// inconclusive look or a restart of the controller.
	CountFrom time.Time `json:"count_from,omitzero"`
	// Blocked names the cause that blocks the rollout (the error-budget
	// gate, too little traffic), empty when nothing does. A block is
	// recorded and notified once, and again only when its cause changes;
	// Reason carries its live details.
	Blocked BlockCause `json:"blocked,omitempty"`
	// Results are the judges' latest results.
	Results []analysis.Result `json:"results,omitempty"`
	// Reason explains the latest decision.
	Reason string `json:"reason"`
	// Created and Updated are when the rollout was started and last changed.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Finished is when the rollout reached Succeeded or Aborted.
	Finished time.Time `json:"finished,omitzero"`
	// Seq counts the changes of this state.
	Seq uint64 `json:"seq"`
}

// NewState is a Pending rollout of svc's canary with plan p (defaults
// applied), created at now.
func NewState(svc traffic.Service, p Plan, force bool, now time.Time) State {
	stable := svc
	stable.Canary.Endpoints = nil
	return State{
		Name:     svc.Name,
		Service:  svc,
		Original: svc,
		Plan:     p.WithDefaults(),
		Force:    force,
		Phase:    Pending,
		Routing:  traffic.AllStable(),
		Created:  now,
		Updated:  now,
		Reason:   "rollout created",
	}
}

// CurrentStep returns the current plan step, or a zero step when past the end.
func (s State) CurrentStep() PlanStep {
	if s.Step >= 0 && s.Step < len(s.Plan.Steps) {
		return s.Plan.Steps[s.Step]
	}
	return PlanStep{}
}

// Analyzing reports whether the judges should look at now: the canary takes
// traffic that every proxy has ACKed, and the rollout is progressing or
// paused (an operator's pause does not stop a failing canary from being
// rolled back).
func (s State) Analyzing() bool {
	return (s.Phase == Progressing || s.Phase == Paused) && s.Applied && !s.AnalysisStarted.IsZero() &&
		(s.Routing.Weights.Canary > 0 || len(s.Routing.CanaryHeaders) > 0)
}

// LastLook reports whether a conclusive look at now would complete the
// current analysis step's window: the rollout is progressing in an
// analysis step, the previous look was conclusive (so this one counts, as
// Step counts it), and the conclusive looking so far plus the time since
// that look reaches the step's duration. The judges may then spend the
// share of their error probability they keep for the window's end
// (analysis.LastLooker). If the look turns out inconclusive, the window
// goes on and that share is not spent again.
func (s State) LastLook(now time.Time) bool {
	if s.Phase != Progressing || !s.Analyzing() || s.CountFrom.IsZero() || now.Before(s.CountFrom) {
		return false
	}
	st := s.CurrentStep()
	if st.Analysis == nil {
		return false
	}
	return time.Duration(s.Conclusive)+now.Sub(s.CountFrom) >= time.Duration(st.Analysis.Duration)
}

// NeedsBudget reports whether the next Step needs the remaining error
// budget in its Observation: whenever it may check the gate, that is
// before the start, while progressing, and when a timed pause ends.
func (s State) NeedsBudget() bool {
	return s.Plan.BudgetGate.Enabled() && !s.Force && (s.Phase == Pending || s.Phase == Progressing || s.Phase == Paused)
}

// WakeAt is when the rollout must be stepped even if no look is due: the
// end of a timed pause (a pause ends when its duration ends, not on the
// next look). Zero when there is no such time.
func (s State) WakeAt() time.Time {
	st := s.CurrentStep()
	if s.Phase != Paused || s.ManualPause || st.Pause == nil || st.Pause.Duration <= 0 {
		return time.Time{}
	}
	return s.StepStarted.Add(time.Duration(st.Pause.Duration))
}

// BlockCause names what blocks a rollout.
type BlockCause string

// The block causes.
const (
	// BlockBudgetUnknown: the gate's SLO budget could not be read.
	BlockBudgetUnknown BlockCause = "budget-unknown"
	// BlockBudgetLow: the gate's SLO budget is below the floor.
	BlockBudgetLow BlockCause = "budget-below-floor"
	// BlockMinTraffic: the analysis window ended with too few canary
	// requests, or with their count unknown.
	BlockMinTraffic BlockCause = "min-traffic"
	// BlockPreflight: a judge cannot see failures on the stable version's
	// live series (Observation.Preflight); its reason names the judge and
	// the finding, and a new finding is a new block.
	BlockPreflight BlockCause = "judges-unverified"
)

// NeedsTraffic reports whether the next Step needs the canary's request
// count in its Observation.
func (s State) NeedsTraffic() bool {
	return s.Plan.MinTraffic.Requests > 0 && s.Analyzing() && s.CurrentStep().Analysis != nil
}

// Command is an operator's request.
type Command string

// The commands.
const (
	CmdPromote     Command = "promote"      // skip the current step
	CmdPromoteFull Command = "promote-full" // go straight to promotion
	CmdAbort       Command = "abort"
	CmdPause       Command = "pause"
	CmdResume      Command = "resume"
)

// ParseCommand parses a command name as used by the API's paths.
func ParseCommand(s string) (Command, error) {
	switch c := Command(s); c {
	case CmdPromote, CmdPromoteFull, CmdAbort, CmdPause, CmdResume:
		return c, nil
	}
	return "", fmt.Errorf("unknown command %q (one of promote, promote-full, abort, pause, resume)", s)
}

// CheckCommand reports why c cannot apply to s, or nil.
func (s State) CheckCommand(c Command) error {
	if s.Phase.Terminal() {
		return fmt.Errorf("rollout %q is %s", s.Name, s.Phase)
	}
	if s.Phase == Pending && c != CmdAbort {
		return fmt.Errorf("rollout %q has not started yet; only abort applies (then start again, with --force to override the error-budget gate)", s.Name)
	}
	switch c {
	case CmdPause:
		if s.Phase == Paused && s.ManualPause {
			return fmt.Errorf("rollout %q is already paused", s.Name)
		}
		if s.Phase == RollingBack || s.Phase == Promoting {
			return fmt.Errorf("rollout %q is %s and cannot be paused", s.Name, s.Phase)
		}
	case CmdResume:
		if s.Phase != Paused {
			return fmt.Errorf("rollout %q is %s, not Paused", s.Name, s.Phase)
		}
	case CmdPromote, CmdPromoteFull:
		if s.Phase == RollingBack || s.Phase == Promoting {
			return fmt.Errorf("rollout %q is %s and cannot be promoted", s.Name, s.Phase)
		}
	case CmdAbort:
		if s.Phase == RollingBack {
			return fmt.Errorf("rollout %q is already rolling back", s.Name)
		}
	default:
		return fmt.Errorf("unknown command %q", c)
	}
	return nil
}

// Observation is what the controller saw since the previous Step. Only the
// fields the state asks for are read.
type Observation struct {
	// Command is an operator's command, validated with CheckCommand.
	Command Command
	// Ack reports the outcome of the last ActApply.
	Ack *Ack
	// Results are the judges' results at now; set when State.Analyzing.
	Results []analysis.Result
	// Hook reports the outcome of the last ActHook awaited.
	Hook *HookResult
	// BudgetRemaining is the SLO's error budget remaining ratio (NaN when
	// unknown); read when State.NeedsBudget.
	BudgetRemaining float64
	// CanaryRequests is the canary's request count since the analysis
	// started (NaN when unknown); read when State.NeedsTraffic.
	CanaryRequests float64
	// Resumed is set on the first Step after the controller (re)started
	// with a stored state: the time since the last look was not watched,
	// so the next conclusive look does not count toward the window.
	Resumed bool
	// Preflight, when not empty, is why the judges cannot be trusted on
	// the stable version's live series (analysis.Preflight): a Pending
	// rollout does not start while it is set.
	Preflight string
}

// Tick is an Observation with nothing but the passing of time.
func Tick() Observation {
	return Observation{BudgetRemaining: math.NaN(), CanaryRequests: math.NaN()}
}

// Ack is the outcome of applying a routing.
type Ack struct {
	Routing traffic.Routing
	Service traffic.Service
	// Err is empty when every proxy ACKed, else the error (NACK, timeout).
	Err string
}

// HookResult is a webhook's outcome.
type HookResult struct {
	Name HookName
	Err  string // empty on success
}

// ActionKind names what the controller must do.
type ActionKind string

// The action kinds.
const (
	// ActApply applies Service and Routing through the traffic.Router; its
	// outcome comes back as Observation.Ack.
	ActApply ActionKind = "apply"
	// ActResetAnalysis resets every judge to count from Start.
	ActResetAnalysis ActionKind = "reset-analysis"
	// ActHook calls a webhook; for pre-hooks the result comes back as
	// Observation.Hook, post-hooks are fire and forget.
	ActHook ActionKind = "hook"
	// ActEvent records Event in the history and notifies it.
	ActEvent ActionKind = "event"
)

// Action is one thing for the controller to do, in order.
type Action struct {
	Kind    ActionKind      `json:"kind"`
	Service traffic.Service `json:"service,omitzero"`
	Routing traffic.Routing `json:"routing,omitzero"`
	Start   time.Time       `json:"start,omitzero"`
	Hook    HookName        `json:"hook,omitempty"`
	Event   Event           `json:"event,omitzero"`
}

// EventType classifies events.
type EventType string

// The event types.
const (
	EvStarted      EventType = "started"
	EvBlocked      EventType = "blocked"
	EvStep         EventType = "step"
	EvApplied      EventType = "applied"
	EvApplyFailed  EventType = "apply-failed"
	EvAnalysis     EventType = "analysis"
	EvPaused       EventType = "paused"
	EvResumed      EventType = "resumed"
	EvHook         EventType = "hook"
	EvRollback     EventType = "rollback"
	EvAborted      EventType = "aborted"
	EvPromoting    EventType = "promoting"
	EvSucceeded    EventType = "succeeded"
	EvInconclusive EventType = "inconclusive"
)

// Event is one transition with its time, reason and evidence.
type Event struct {
	At       time.Time         `json:"at"`
	Rollout  string            `json:"rollout"`
	Type     EventType         `json:"type"`
	Phase    Phase             `json:"phase"`
	Step     int               `json:"step"`
	Weight   int               `json:"weight"`
	Reason   string            `json:"reason"`
	Evidence []analysis.Result `json:"evidence,omitempty"`
}

// UnmarshalJSON reads a stored state. Its conclusive time is the one
// duration that a state stored by an earlier Vane holds as Go wrote it
// ("1m2.0345s"), which a Prometheus duration cannot be; it is read to the
// millisecond, so that such a store resumes.
func (s *State) UnmarshalJSON(b []byte) error {
	type plain State
	aux := struct {
		*plain
		Conclusive string `json:"conclusive,omitempty"`
	}{plain: (*plain)(s)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	s.Conclusive = 0
	if aux.Conclusive == "" {
		return nil
	}
	d, err := model.ParseDuration(aux.Conclusive)
	if err != nil {
		g, gerr := time.ParseDuration(aux.Conclusive)
		if gerr != nil || g < 0 {
			return fmt.Errorf("conclusive: %w", err)
		}
		d = model.Duration(g.Truncate(time.Millisecond))
	}
	s.Conclusive = d
	return nil
}
