package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/traffic"
)

// Errors returned (wrapped) by the Manager; the API maps them to HTTP
// statuses.
var (
	ErrNotFound   = errors.New("rollout: not found")
	ErrConflict   = errors.New("rollout: conflict")
	ErrInvalid    = errors.New("rollout: invalid request")
	ErrNotRunning = errors.New("rollout: controller not running")
)

// StoreKind is the kind under which rollouts are stored.
const StoreKind = "rollout"

// Store persists rollout states and their events (see package store).
// Save writes the state and appends the events in one durable transaction.
type Store interface {
	Save(kind, name string, state any, events ...any) error
	Load(kind string) (map[string]json.RawMessage, error)
	History(kind, name string, limit int) ([]json.RawMessage, error)
}

// BudgetFunc returns the error budget remaining, as a ratio, of the named
// SLO at now.
type BudgetFunc func(ctx context.Context, slo string, now time.Time) (float64, error)

// Hooks posts webhook bodies; HTTPHooks is the implementation.
type Hooks interface {
	Post(ctx context.Context, w Webhook, body any) error
}

// ServiceConfig is a configured service and its rollout plan.
type ServiceConfig struct {
	// Service is the service as configured: its stable backend and, when
	// set, the canary to roll out.
	Service traffic.Service
	// Plan is the service's plan (defaults are applied at start).
	Plan Plan
	// DynamicEndpoints is set when the endpoints come from service
	// discovery (Kubernetes) and change without a new version: a rollout
	// is then identified by the canary's version alone.
	DynamicEndpoints bool
}

// Options configures a Manager.
type Options struct {
	// Router applies routings (the xDS server). Required.
	Router traffic.Router
	// Querier is where judges read their SLIs. Required when a plan has judges.
	Querier analysis.Querier
	// Store persists states. Required.
	Store Store
	// Budget reads SLO budgets for the error-budget gate; nil means unknown
	// (a gated rollout then waits, unless forced).
	Budget BudgetFunc
	// Hooks posts webhooks; nil means HTTPHooks{}.
	Hooks Hooks
	// Metrics; nil means unregistered metrics.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// ApplyTimeout bounds one Router.Apply (default 10s); a timed-out
	// apply is retried on the next tick.
	ApplyTimeout time.Duration
	// OnEvent, when set, is called with every event after it was persisted.
	OnEvent func(Event)
	// Preflight, when true, checks every judge's queries against the stable
	// version's live series before a rollout leaves Pending
	// (analysis.Preflight): a judge that could never see a failure, or a
	// Prometheus that cannot be asked, keeps the rollout Pending with the
	// reason in its status and a blocked event. vane run sets it.
	Preflight bool
	// MinProxies is how many proxies (xDS nodes) must have ACKed a routing
	// change for it to count as applied (0: no minimum). With fewer, the
	// change is "waiting for a proxy": retried every tick, and no analysis
	// starts, since no user's traffic follows the weights yet.
	MinProxies int
}

// ErrWaitingForProxy is the apply error while fewer than
// Options.MinProxies proxies have ACKed a routing change.
var ErrWaitingForProxy = errors.New("waiting for a proxy")

// StartRequest asks for a rollout of a service's new version.
type StartRequest struct {
	Service   string   `json:"service"`
	Version   string   `json:"version"`
	Endpoints []string `json:"endpoints"`
	// Force ignores the error-budget gate.
	Force bool `json:"force,omitempty"`
}

// Manager runs one rollout loop per service with a rollout in progress. It
// is safe for concurrent use.
type Manager struct {
	o        Options
	log      *slog.Logger
	mu       sync.Mutex
	services map[string]ServiceConfig
	states   map[string]State
	ctrls    map[string]*controller
	ctx      context.Context
	wg       sync.WaitGroup
	notify   chan Notification
	ready    atomic.Bool
}

// NewManager checks the options and the configured services.
func NewManager(o Options, services []ServiceConfig) (*Manager, error) {
	if o.Router == nil {
		return nil, errors.New("rollout: Options.Router is required")
	}
	if o.Store == nil {
		return nil, errors.New("rollout: Options.Store is required")
	}
	if o.Hooks == nil {
		o.Hooks = HTTPHooks{}
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ApplyTimeout <= 0 {
		o.ApplyTimeout = 10 * time.Second
	}
	m := &Manager{o: o, log: o.Logger, states: map[string]State{}, ctrls: map[string]*controller{},
		notify: make(chan Notification, 256)}
	if err := m.setServices(services); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) setServices(services []ServiceConfig) error {
	byName := map[string]ServiceConfig{}
	var errs []error
	for _, s := range services {
		if err := s.Service.Validate(); err != nil {
			errs = append(errs, err)
		}
		if err := s.Plan.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("service %q: rollout: %w", s.Service.Name, err))
		}
		if len(s.Plan.Analysis.Specs()) > 0 && m.o.Querier == nil {
			errs = append(errs, fmt.Errorf("service %q: rollout: judges need a Prometheus querier", s.Service.Name))
		}
		if _, dup := byName[s.Service.Name]; dup {
			errs = append(errs, fmt.Errorf("service %q: configured twice", s.Service.Name))
		}
		byName[s.Service.Name] = s
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m.mu.Lock()
	m.services = byName
	m.mu.Unlock()
	return nil
}

// Ready reports whether Run has resumed the stored rollouts and published
// every service's routing.
func (m *Manager) Ready() bool { return m.ready.Load() }

// Run resumes the stored rollouts, publishes every service's current
// routing, starts the rollouts that the configuration asks for, and runs
// until ctx ends; it returns once every loop has stopped.
func (m *Manager) Run(ctx context.Context) error {
	raw, err := m.o.Store.Load(StoreKind)
	if err != nil {
		return fmt.Errorf("rollout: resume: %w", err)
	}
	m.mu.Lock()
	m.ctx = ctx
	for name, b := range raw {
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			m.mu.Unlock()
			return fmt.Errorf("rollout: resume %q: %w", name, err)
		}
		m.states[name] = st
		m.o.Metrics.observe(st)
		if _, ok := m.services[name]; !ok && !st.Phase.Terminal() {
			m.log.Warn("Stored rollout of a service that is no longer configured; it stays as it is", "rollout", name, "phase", st.Phase)
		}
	}
	m.mu.Unlock()

	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.notifyLoop(ctx) }()

	names := m.serviceNames()
	for _, name := range names {
		m.mu.Lock()
		st, ok := m.states[name]
		m.mu.Unlock()
		if ok && !st.Phase.Terminal() {
			if err := m.spawn(st, true); err != nil {
				m.log.Error("Could not resume rollout", "rollout", name, "err", err)
			}
			continue
		}
		svc, r := m.served(name)
		actx, cancel := context.WithTimeout(ctx, m.o.ApplyTimeout)
		if _, err := m.o.Router.Apply(actx, svc, r); err != nil {
			m.log.Error("Could not publish service routing", "service", name, "routing", r.String(), "err", err)
		}
		cancel()
	}
	for _, name := range names {
		if d := m.Drift(name); d != "" {
			m.log.Warn("Configuration and state differ", "service", name, "drift", d)
		}
	}
	m.reconcile()
	m.ready.Store(true)
	<-ctx.Done()
	m.ready.Store(false)
	m.wg.Wait()
	return nil
}

func (m *Manager) serviceNames() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.services))
	for n := range m.services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// served returns what a service without a rollout in progress serves:
// the outcome of its last rollout while the configuration's stable version
// is the one it had when that rollout started (so a promotion survives a
// restart, and later rollouts start from the promoted version), else the
// configured stable version (an operator changed it).
func (m *Manager) served(name string) (traffic.Service, traffic.Routing) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.servedLocked(name)
}

func (m *Manager) servedLocked(name string) (traffic.Service, traffic.Routing) {
	cfg := m.services[name].Service
	st, ok := m.states[name]
	if ok && st.Phase.Terminal() {
		base := st.ConfigStable
		if len(base.Endpoints) == 0 {
			base = st.Original.Stable // states written before ConfigStable existed
		}
		if reflect.DeepEqual(base, cfg.Stable) {
			// The versions are the rollout's outcome; the service's own
			// settings are the configuration's.
			svc := st.Service
			svc.ListenerPort, svc.Protocol = cfg.ListenerPort, cfg.Protocol
			return svc, st.Routing
		}
	}
	svc := cfg
	svc.Canary = traffic.Backend{}
	return svc, traffic.AllStable()
}

// Reconcile replaces the configured services (a changed vane.yaml) and
// starts a rollout for every service whose configured canary differs from
// the one its last rollout was about.
func (m *Manager) Reconcile(services []ServiceConfig) error {
	if err := m.setServices(services); err != nil {
		return err
	}
	m.reconcile()
	return nil
}

func (m *Manager) reconcile() {
	for _, name := range m.serviceNames() {
		m.mu.Lock()
		cfg := m.services[name]
		st, had := m.states[name]
		running := m.ctrls[name] != nil
		m.mu.Unlock()
		c := cfg.Service.Canary
		if c.Version == "" || len(c.Endpoints) == 0 {
			continue
		}
		if had && (reflect.DeepEqual(st.Original.Canary, c) || cfg.DynamicEndpoints && st.Original.Canary.Version == c.Version) {
			continue // this canary was (or is being) rolled out
		}
		if running {
			m.log.Warn("Configured canary waits for the rollout in progress", "rollout", name, "canary", c.Version)
			continue
		}
		if _, err := m.Start(context.Background(), StartRequest{Service: name, Version: c.Version, Endpoints: c.Endpoints}); err != nil {
			m.log.Error("Could not start the configured canary", "rollout", name, "canary", c.Version, "err", err)
		}
	}
}

// List returns every known rollout's state, by name.
func (m *Manager) List() []State {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]State, 0, len(m.states))
	for _, s := range m.states {
		s.Drift = m.driftLocked(s.Name)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns one rollout's state.
func (m *Manager) Get(name string) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[name]
	if !ok {
		if _, svc := m.services[name]; svc {
			return State{}, fmt.Errorf("service %q has no rollout yet: %w", name, ErrNotFound)
		}
		return State{}, fmt.Errorf("no rollout or service named %q: %w", name, ErrNotFound)
	}
	s.Drift = m.driftLocked(name)
	return s, nil
}

// History returns up to limit of a rollout's latest events, oldest first.
func (m *Manager) History(name string, limit int) ([]Event, error) {
	if _, err := m.Get(name); err != nil {
		return nil, err
	}
	raw, err := m.o.Store.History(StoreKind, name, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(raw))
	for _, r := range raw {
		var e Event
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("rollout %q: history: %w", name, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Start begins a rollout of req.Version on req.Endpoints. It fails with
// ErrNotFound for an unknown service, ErrInvalid for a bad request and
// ErrConflict while another rollout of the service is in progress;
// nothing changes then.
func (m *Manager) Start(ctx context.Context, req StartRequest) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil {
		return State{}, ErrNotRunning
	}
	cfg, ok := m.services[req.Service]
	if !ok {
		return State{}, fmt.Errorf("unknown service %q (configured: %v): %w", req.Service, m.namesLocked(), ErrNotFound)
	}
	if c := m.ctrls[req.Service]; c != nil {
		st := m.states[req.Service]
		return State{}, fmt.Errorf("a rollout of %s %s is already %s at step %d/%d; abort it first: %w",
			req.Service, st.Service.Canary.Version, st.Phase, st.Step+1, len(st.Plan.Steps), ErrConflict)
	}
	svc, _ := m.servedLocked(req.Service)
	svc.Canary = traffic.Backend{Version: req.Version, Endpoints: req.Endpoints}
	var errs []error
	if req.Version == "" {
		errs = append(errs, errors.New("version: required"))
	}
	if len(req.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: at least one host:port is required"))
	}
	if req.Version != "" && req.Version == svc.Stable.Version {
		errs = append(errs, fmt.Errorf("version: %q is already the stable version", req.Version))
	}
	if err := svc.Validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Plan.JudgeMissing() {
		errs = append(errs, fmt.Errorf("service %s has analysis steps but no judge: set its rollout.analysis.requests_metric or judges in the configuration (a rollout would promote on evidence no judge saw)", req.Service))
	}
	if err := errors.Join(errs...); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	st := NewState(svc, cfg.Plan, req.Force, time.Now())
	st.ConfigStable = cfg.Service.Stable
	checks, err := buildChecks(st)
	if err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ev := Event{At: st.Created, Rollout: st.Name, Type: "created", Phase: st.Phase,
		Reason: fmt.Sprintf("rollout of %s from %s to %s requested", st.Name, svc.Stable.Version, req.Version)}
	if req.Force {
		ev.Reason += " (forced: the error-budget gate is off)"
	}
	if err := m.o.Store.Save(StoreKind, st.Name, st, ev); err != nil {
		return State{}, fmt.Errorf("rollout %q: %w", st.Name, err)
	}
	m.states[st.Name] = st
	m.o.Metrics.observe(st)
	m.startLocked(st, checks, false)
	return st, nil
}

func (m *Manager) namesLocked() []string {
	names := make([]string, 0, len(m.services))
	for n := range m.services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// judgeVars are the query variables of st's judges: the versions as the
// metrics label them.
func judgeVars(st State) analysis.Vars {
	a := st.Plan.Analysis
	return analysis.Vars{Service: st.Name, Version: a.LabelValue(st.Original.Canary.Version), Stable: a.LabelValue(st.Original.Stable.Version)}
}

// judgeSpecs are st's judges with the service protocol's defaults.
func judgeSpecs(st State) []analysis.Spec {
	specs := st.Plan.Analysis.Specs()
	out := make([]analysis.Spec, len(specs))
	for i, s := range specs {
		out[i] = s.WithProtocol(string(st.Original.Protocol))
	}
	return out
}

func buildChecks(st State) ([]analysis.Check, error) {
	var out []analysis.Check
	for i, spec := range judgeSpecs(st) {
		c, err := spec.Build(judgeVars(st))
		if err != nil {
			return nil, fmt.Errorf("analysis.judges[%d]: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func (m *Manager) spawn(st State, resumed bool) error {
	checks, err := buildChecks(st)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.startLocked(st, checks, resumed)
	return nil
}

func (m *Manager) startLocked(st State, checks []analysis.Check, resumed bool) {
	c := &controller{m: m, st: st, checks: checks, cmds: make(chan cmdReq), done: make(chan struct{}),
		log: m.log.With("rollout", st.Name), budget: math.NaN(), traffic: math.NaN(), republish: resumed}
	m.ctrls[st.Name] = c
	m.o.Metrics.initRollout(st.Name)
	m.wg.Add(1)
	go c.run(m.ctx)
}

// Command sends an operator's command to a rollout in progress and
// returns the state once the command and its effects (such as weight 0
// after an abort) were carried out. A command that does not apply to the
// rollout's phase fails with ErrConflict and changes nothing.
func (m *Manager) Command(ctx context.Context, name string, cmd Command) (State, error) {
	if _, err := ParseCommand(string(cmd)); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	m.mu.Lock()
	st, ok := m.states[name]
	c := m.ctrls[name]
	m.mu.Unlock()
	if !ok {
		return State{}, fmt.Errorf("no rollout named %q: %w", name, ErrNotFound)
	}
	if err := st.CheckCommand(cmd); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	if c == nil {
		return State{}, fmt.Errorf("rollout %q is not running: %w", name, ErrConflict)
	}
	r := cmdReq{cmd: cmd, reply: make(chan cmdReply, 1)}
	select {
	case c.cmds <- r:
	case <-c.done:
		return m.Get(name)
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
	select {
	case rep := <-r.reply:
		return rep.st, rep.err
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
}

func (m *Manager) notifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-m.notify:
			m.mu.Lock()
			st := m.states[n.Event.Rollout]
			m.mu.Unlock()
			w := st.Plan.Webhooks.Notify
			if w == nil {
				continue
			}
			if err := m.o.Hooks.Post(ctx, *w, n); err != nil {
				m.o.Metrics.hookErrors.WithLabelValues("notify").Inc()
				m.log.Warn("Notification failed", "rollout", n.Event.Rollout, "err", err)
			}
		}
	}
}

type cmdReq struct {
	cmd   Command
	reply chan cmdReply
}

type cmdReply struct {
	st  State
	err error
}

// controller is one rollout's loop. Its fields are owned by its goroutine.
type controller struct {
	m         *Manager
	st        State
	checks    []analysis.Check
	cmds      chan cmdReq
	done      chan struct{}
	log       *slog.Logger
	budget    float64
	traffic   float64
	republish bool
	// resumed is set until the first look after resuming a stored state.
	resumed   bool
	preflight string // why the judges cannot start; see Options.Preflight
}

func (c *controller) run(ctx context.Context) {
	defer c.m.wg.Done()
	defer close(c.done)
	defer func() {
		c.m.mu.Lock()
		if c.m.ctrls[c.st.Name] == c {
			delete(c.m.ctrls, c.st.Name)
		}
		c.m.mu.Unlock()
	}()
	interval := c.st.Plan.Analysis.LookInterval()
	if c.republish {
		c.resumed = true
		c.log.Info("Resuming rollout", "phase", c.st.Phase, "step", c.st.Step, "routing", c.st.Routing.String())
		if !c.st.AnalysisStarted.IsZero() {
			for _, chk := range c.checks {
				chk.Reset(c.st.AnalysisStarted)
			}
		}
	}
	last := time.Now()
	c.tick(ctx, last)
	t := time.NewTicker(interval)
	defer t.Stop()
	// wake steps the rollout when a timed pause ends, between looks.
	wake := time.NewTimer(time.Hour)
	wake.Stop()
	defer wake.Stop()
	lastStep := last
	for !c.st.Phase.Terminal() {
		select {
		case <-ctx.Done():
			return
		default:
		}
		var wakeC <-chan time.Time
		if at := c.st.WakeAt(); at.After(lastStep) {
			wake.Reset(time.Until(at))
			wakeC = wake.C
		}
		select {
		case <-ctx.Done():
			return
		case <-wakeC:
			lastStep = time.Now()
			c.tick(ctx, lastStep)
		case r := <-c.cmds:
			if err := c.st.CheckCommand(r.cmd); err != nil {
				r.reply <- cmdReply{st: c.st, err: fmt.Errorf("%w: %w", ErrConflict, err)}
				continue
			}
			obs := c.obs()
			obs.Command = r.cmd
			c.log.Info("Operator command", "command", r.cmd)
			cctx, cancel := graceful(ctx, 5*time.Second)
			c.process(cctx, obs, time.Now())
			cancel()
			r.reply <- cmdReply{st: c.st}
		case <-t.C:
			now := time.Now()
			if missed := int(now.Sub(last)/interval) - 1; missed > 0 {
				c.m.o.Metrics.missedTicks.WithLabelValues(c.st.Name).Add(float64(missed))
				c.log.Warn("Rollout evaluation missed ticks", "missed", missed, "interval", interval)
			}
			last, lastStep = now, now
			c.tick(ctx, now)
		}
		wake.Stop()
	}
}

func (c *controller) obs() Observation {
	o := Tick()
	o.BudgetRemaining, o.CanaryRequests = c.budget, c.traffic
	o.Preflight = c.preflight
	return o
}

// tick looks at the world (budget, judges, traffic) and steps. Work in
// flight is finished with a short grace period when ctx ends, so that a
// graceful shutdown leaves the state consistent.
func (c *controller) tick(parent context.Context, now time.Time) {
	start := time.Now()
	defer func() { c.m.o.Metrics.evalDuration.WithLabelValues(c.st.Name).Observe(time.Since(start).Seconds()) }()
	ctx, cancel := graceful(parent, 5*time.Second)
	defer cancel()
	if c.republish {
		svc, r := c.st.Service, c.st.Routing
		if _, err := c.apply(ctx, svc, r); err != nil {
			c.log.Error("Could not re-publish the stored routing; retrying on the next tick", "routing", r.String(), "err", err)
			return
		}
		c.republish = false
	}
	c.budget, c.traffic = math.NaN(), math.NaN()
	if c.st.NeedsBudget() && c.m.o.Budget != nil {
		b, err := c.m.o.Budget(ctx, c.st.Plan.BudgetGate.SLO, now)
		if err != nil {
			c.log.Warn("Could not read the error budget", "slo", c.st.Plan.BudgetGate.SLO, "err", err)
		} else {
			c.budget = b
		}
	}
	if c.m.o.Preflight && c.st.Phase == Pending && c.st.Hook == "" {
		c.preflight = c.checkJudges(ctx, now)
	} else {
		c.preflight = ""
	}
	obs := c.obs()
	obs.Resumed, c.resumed = c.resumed, false
	if c.st.Analyzing() {
		obs.Results = make([]analysis.Result, 0, len(c.checks))
		last := c.st.LastLook(now)
		for _, chk := range c.checks {
			var r analysis.Result
			if ll, ok := chk.(analysis.LastLooker); ok && last {
				r = ll.EvaluateLast(ctx, c.m.o.Querier, now)
			} else {
				r = chk.Evaluate(ctx, c.m.o.Querier, now)
			}
			if r.Judge == "" {
				r.Judge = chk.Name()
			}
			c.m.o.Metrics.verdicts.WithLabelValues(c.st.Name, r.Verdict.String()).Inc()
			c.log.Debug("Judge looked", "judge", r.Judge, "cached", !r.At.Equal(now), "verdict", r.Verdict, "reason", r.Reason)
			obs.Results = append(obs.Results, r)
		}
		if c.st.NeedsTraffic() {
			c.traffic = c.canaryRequests(ctx, now)
			obs.CanaryRequests = c.traffic
		}
	}
	c.process(ctx, obs, now)
}

// checkJudges runs analysis.Preflight for every judge and returns why the
// rollout cannot start, or "".
func (c *controller) checkJudges(ctx context.Context, now time.Time) string {
	vars := judgeVars(c.st)
	for _, spec := range judgeSpecs(c.st) {
		err := analysis.Preflight(ctx, c.m.o.Querier, spec, vars, now)
		if err == nil {
			continue
		}
		var pe *analysis.PreflightError
		if errors.As(err, &pe) {
			why := fmt.Sprintf("the judges were checked on %s's live series and %v (fix vane.yaml and start again, or abort)", c.st.Original.Stable.Version, err)
			if why != c.preflight {
				c.log.Warn("Judge cannot be trusted; the rollout waits", "judge", pe.Judge, "selector", pe.Selector, "problem", pe.Problem)
			}
			return why
		}
		why := fmt.Sprintf("the judges could not be checked on the stable version's live series: %v", err)
		if why != c.preflight {
			c.log.Warn("Could not check the judges; the rollout waits", "err", err)
		}
		return why
	}
	return ""
}

func graceful(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}

func (c *controller) canaryRequests(ctx context.Context, now time.Time) float64 {
	q, err := MinTrafficQuery(c.st.Plan.MinTraffic.Query, c.st.Name, judgeVars(c.st).Version, now.Sub(c.st.AnalysisStarted))
	if err != nil {
		return math.NaN()
	}
	v, err := c.m.o.Querier.Query(ctx, q, now)
	if err != nil || len(v.Samples) == 0 {
		c.log.Warn("Could not count the canary's requests", "query", q, "err", err)
		return math.NaN()
	}
	return v.Samples[0].Value
}

// process runs Step until it asks for nothing more, persisting each new
// state (with its events) before carrying out its actions.
func (c *controller) process(ctx context.Context, obs Observation, now time.Time) {
	for range 32 {
		next, acts := Step(c.st, obs, now)
		if next.Seq == c.st.Seq {
			return
		}
		var events []any
		for _, a := range acts {
			if a.Kind == ActEvent {
				events = append(events, a.Event)
			}
		}
		if err := c.m.o.Store.Save(StoreKind, next.Name, next, events...); err != nil {
			c.m.o.Metrics.storeErrors.Inc()
			c.log.Error("Could not persist the rollout state", "phase", next.Phase, "err", err)
			if next.Phase != RollingBack || fenced(err) {
				return // act only on persisted decisions; retried on the next tick
			}
			// A rollback still sets weight 0: safety first (unless another
			// replica leads: then the decision is its to make).
		}
		c.st = next
		c.m.mu.Lock()
		c.m.states[next.Name] = next
		c.m.mu.Unlock()
		c.m.o.Metrics.observe(next)

		obs = c.obs()
		more := false
		for _, a := range acts {
			switch a.Kind {
			case ActApply:
				_, err := c.apply(ctx, a.Service, a.Routing)
				ack := &Ack{Routing: a.Routing, Service: a.Service}
				if err != nil {
					ack.Err = err.Error()
				}
				obs.Ack, more = ack, true
			case ActResetAnalysis:
				for _, chk := range c.checks {
					chk.Reset(a.Start)
				}
			case ActHook:
				err := c.callHook(ctx, a.Hook)
				if a.Hook == HookPostRollout {
					continue
				}
				hr := &HookResult{Name: a.Hook}
				if err != nil {
					hr.Err = err.Error()
				}
				obs.Hook, more = hr, true
			case ActEvent:
				c.emit(a.Event)
			}
		}
		if !more {
			return
		}
		now = time.Now()
	}
	c.log.Error("Rollout step did not settle", "phase", c.st.Phase)
}

func (c *controller) apply(ctx context.Context, svc traffic.Service, r traffic.Routing) (traffic.Applied, error) {
	ctx, cancel := context.WithTimeout(ctx, c.m.o.ApplyTimeout)
	defer cancel()
	start := time.Now()
	a, err := c.m.o.Router.Apply(ctx, svc, r)
	waiting := 0.0
	if err == nil && len(a.Acked) < c.m.o.MinProxies {
		waiting = 1
		err = fmt.Errorf("%w: %d of the %d proxies needed (min_proxies) ACKed it", ErrWaitingForProxy, len(a.Acked), c.m.o.MinProxies)
	}
	c.m.o.Metrics.waitingForProxy.WithLabelValues(svc.Name).Set(waiting)
	if waiting == 0 {
		c.m.o.Metrics.applyLatency.WithLabelValues(svc.Name).Observe(time.Since(start).Seconds())
	}
	if err != nil {
		c.log.Warn("Routing not applied", "routing", r.String(), "err", err)
		return a, err
	}
	c.log.Info("Routing applied", "routing", r.String(), "version", a.Version, "acked", len(a.Acked), "took", time.Since(start))
	return a, nil
}

func (c *controller) callHook(ctx context.Context, h HookName) error {
	w := c.st.Plan.Webhooks.Hook(h)
	if w == nil {
		return nil
	}
	err := c.m.o.Hooks.Post(ctx, *w, HookPayload{Hook: h, Rollout: c.st.Name, Phase: c.st.Phase, Step: c.st.Step,
		Stable: c.st.Original.Stable.Version, Canary: c.st.Original.Canary.Version,
		Weight: c.st.Routing.Weights.Canary, Reason: c.st.Reason})
	if err != nil {
		c.m.o.Metrics.hookErrors.WithLabelValues(string(h)).Inc()
		c.log.Warn("Webhook failed", "hook", h, "err", err)
	}
	return err
}

func (c *controller) emit(e Event) {
	c.m.o.Metrics.events.WithLabelValues(e.Rollout, string(e.Type)).Inc()
	lvl := slog.LevelInfo
	if e.Type == EvRollback || e.Type == EvApplyFailed {
		lvl = slog.LevelWarn
	}
	c.log.Log(context.Background(), lvl, "Rollout "+string(e.Type), "phase", e.Phase, "step", e.Step, "weight", e.Weight, "reason", e.Reason)
	if c.m.o.OnEvent != nil {
		c.m.o.OnEvent(e)
	}
	if c.st.Plan.Webhooks.Notify != nil && e.Type != EvApplied {
		select {
		case c.m.notify <- Notification{Text: NotificationText(e), Event: e}:
		default:
			c.log.Warn("Notification queue full; dropped", "type", e.Type)
		}
	}
}

// fenced reports whether err says that this replica no longer leads (the
// etcd store's fenced write, store.ErrFenced): a deposed leader must not
// move a weight, not even to roll back.
func fenced(err error) bool {
	var f interface{ Fenced() bool }
	return errors.As(err, &f) && f.Fenced()
}

// Follow is what a follower replica runs instead of Run: until ctx ends it
// publishes what the leader's stored states say each configured service
// serves (the same routing the leader publishes), so that proxies connected
// to any replica see the same weights. It never steps a rollout and never
// writes. Every signal on changed (a watch on the store) and every
// retry interval reloads the stored states; a change is published once.
// Ready reports true once every service's routing is published.
func (m *Manager) Follow(ctx context.Context, changed <-chan struct{}, retry time.Duration) error {
	published := map[string]string{}
	t := time.NewTicker(retry)
	defer t.Stop()
	defer m.ready.Store(false)
	for {
		if m.follow(ctx, published) {
			m.ready.Store(true) // every service's routing is published
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

// follow publishes the stored routing; it reports whether every service's
// routing is published.
func (m *Manager) follow(ctx context.Context, published map[string]string) bool {
	raw, err := m.o.Store.Load(StoreKind)
	if err != nil {
		m.log.Warn("Could not read the stored rollouts; proxies keep the last routing", "err", err)
		return false
	}
	states := make(map[string]State, len(raw))
	for name, b := range raw {
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			m.log.Error("Stored rollout cannot be read", "rollout", name, "err", err)
			continue
		}
		states[name] = st
	}
	m.mu.Lock()
	m.states = states
	m.mu.Unlock()
	all := true
	for _, name := range m.serviceNames() {
		svc, r := m.served(name)
		if st, ok := states[name]; ok && !st.Phase.Terminal() {
			svc, r = st.Service, st.Routing
		}
		key := fmt.Sprintf("%+v %s", svc, r)
		if published[name] == key {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, m.o.ApplyTimeout)
		_, err := m.o.Router.Apply(actx, svc, r)
		cancel()
		if err != nil {
			m.log.Warn("Could not publish the leader's routing; retrying", "service", name, "routing", r.String(), "err", err)
			all = false
			continue
		}
		published[name] = key
		m.log.Info("Published the leader's routing", "service", name, "routing", r.String())
	}
	return all
}
