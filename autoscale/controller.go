package autoscale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/store"
)

// StoreKind is the kind under which autoscaler states are stored.
const StoreKind = "autoscaler"

// Errors returned (wrapped) by controllers and the Manager; the API maps
// them to HTTP statuses.
var (
	ErrNotFound = errors.New("autoscale: not found")
	ErrConflict = errors.New("autoscale: conflict")
)

// Store persists autoscaler states and their events (see package store):
// Save writes the state and appends the events in one durable transaction.
type Store interface {
	Save(kind, name string, state any, events ...any) error
	Get(kind, name string, into any) error
	History(kind, name string, limit int) ([]json.RawMessage, error)
}

// SLOReader reads an SLO's page-tier burn rates and remaining budget.
type SLOReader interface {
	SLOSignal(ctx context.Context, slo string, now time.Time) (SLOSignal, error)
}

// RolloutFunc reports the rollout in progress for the service, or nil.
type RolloutFunc func(service string) *RolloutInput

// Event is an autoscaler event: a scale change, a hold, a fight, an
// actuator failure, a pause or resume.
type Event struct {
	At         time.Time `json:"at"`
	Autoscaler string    `json:"autoscaler"`
	// Type is one of scaled, hold, fight, actuator_error, paused, resumed, started.
	Type   string `json:"type"`
	From   int32  `json:"from"`
	To     int32  `json:"to"`
	Reason string `json:"reason"`
	// Recommendations are every recommender's proposal and reason at a
	// scaled, hold or fight event, the winner's and the others': why the
	// count is what it is, and what each recommender would have done.
	Recommendations []Recommendation `json:"recommendations,omitempty"`
}

// Options configures a Controller.
type Options struct {
	// Spec is the autoscaler's configuration. Required.
	Spec Spec
	// Actuator reads and sets the scale. Required.
	Actuator Actuator
	// Querier reads the metrics. Required when the spec has metrics or a
	// queue recommender.
	Querier analysis.Querier
	// SLO reads SLO signals. Required when the spec has an slo recommender.
	SLO SLOReader
	// Rollout reports a rollout in progress; nil means none.
	Rollout RolloutFunc
	// Store persists the state. Required.
	Store Store
	// Metrics; nil means unregistered metrics.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Interval between looks (default 15s, the HPA's sync period).
	Interval time.Duration
	// Timeout bounds each query and each actuator call (default 10s).
	Timeout time.Duration
	// Retries is how many times a failed SetScale is retried (default 3),
	// with exponential backoff from Backoff (default 1s).
	Retries int
	Backoff time.Duration
	// OnEvent, when set, is called with every event after it was persisted.
	OnEvent func(Event)
}

// Status is an autoscaler's state as the API shows it.
type Status struct {
	Name    string `json:"name"`
	Paused  bool   `json:"paused"`
	Reason  string `json:"pause_reason,omitempty"`
	Fight   string `json:"fight,omitempty"`
	Min     int32  `json:"min"`
	Max     int32  `json:"max"`
	Current int32  `json:"current"`
	Ready   int32  `json:"ready"`
	Desired int32  `json:"desired"`
	// Recommendations are each recommender's last proposal.
	Recommendations []Recommendation `json:"recommendations"`
	// Last is the last decision.
	Last *Decision `json:"last,omitempty"`
	// Recent are the latest events, oldest first.
	Recent []Event `json:"recent"`
	// Decisions are the latest decisions of this process, oldest first.
	Decisions []Decision `json:"decisions"`
	// Observations are the load the same looks read, oldest first: what
	// the replicas are drawn against.
	Observations []Observation `json:"observations"`
	// Error is the last error (actuator, store), if any.
	Error   string    `json:"error,omitempty"`
	Updated time.Time `json:"updated"`
}

// Observation is the load one look read: the values of the metrics it
// could read, and the queue recommender's offered rate.
type Observation struct {
	At time.Time `json:"at"`
	// Metrics are the hpa recommender's metrics that were read, each with
	// its target; a metric that could not be read is left out.
	Metrics []ObservedMetric `json:"metrics,omitempty"`
	// Arrivals is the queue recommender's offered load in requests per
	// second (its throughput when arrivals are not read); 0 without one.
	Arrivals float64 `json:"arrivals,omitempty"`
}

// ObservedMetric is one metric's value as the hpa recommender compares it
// with its target: the metric's single value, or for per-pod metrics the
// average over the pods that have one.
type ObservedMetric struct {
	Name   string       `json:"name"`
	Value  float64      `json:"value"`
	Target MetricTarget `json:"target"`
}

// observation summarizes in for the status.
func observation(in Inputs, now time.Time) Observation {
	o := Observation{At: now, Arrivals: in.Queue.Arrivals}
	if o.Arrivals == 0 {
		o.Arrivals = in.Queue.Throughput
	}
	if math.IsNaN(o.Arrivals) || math.IsInf(o.Arrivals, 0) {
		o.Arrivals = 0
	}
	for _, m := range in.Metrics {
		if m.Err != "" {
			continue
		}
		v := m.Value
		if len(m.Pods) > 0 {
			sum, n := 0.0, 0
			for _, p := range m.Pods {
				if p.HasValue && !p.Ignored {
					sum, n = sum+p.Value, n+1
				}
			}
			if n == 0 {
				continue
			}
			v = sum / float64(n)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		o.Metrics = append(o.Metrics, ObservedMetric{Name: m.Name, Value: v, Target: m.Target})
	}
	return o
}

// Controller runs one autoscaler: each Interval it queries the metrics,
// runs Step, sets the scale through the Actuator with retries, reads the
// scale back, persists the state and emits events and metrics.
type Controller struct {
	o    Options
	spec Spec
	log  *slog.Logger

	mu      sync.Mutex
	st      State
	gen     uint64 // incremented by Pause/Resume: a look in flight drops its result
	recent  []Event
	decs    []Decision
	obs     []Observation
	lastErr string
	started bool
	// scale is the last count read or confirmed (known is false before).
	scale Scale
	known bool
}

const recentEvents = 20

// New checks the options and loads the stored state.
func New(o Options) (*Controller, error) {
	if o.Actuator == nil {
		return nil, errors.New("autoscale: Options.Actuator is required")
	}
	if o.Store == nil {
		return nil, errors.New("autoscale: Options.Store is required")
	}
	spec := o.Spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("autoscaler %q: %w", o.Spec.Name, err)
	}
	if (len(spec.Metrics) > 0 || spec.Queue != nil) && o.Querier == nil {
		return nil, fmt.Errorf("autoscaler %q: metrics need a Prometheus querier", spec.Name)
	}
	if spec.Queue != nil && (spec.QueueQueries == nil || spec.QueueQueries.Throughput == "" || spec.QueueQueries.Latency == "" && spec.QueueQueries.Concurrency == "") {
		return nil, fmt.Errorf("autoscaler %q: the queue recommender needs a throughput query and a latency or concurrency query", spec.Name)
	}
	if spec.SLO != nil && o.SLO == nil {
		return nil, fmt.Errorf("autoscaler %q: the slo recommender needs an SLO reader", spec.Name)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = 15 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Retries <= 0 {
		o.Retries = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	c := &Controller{o: o, spec: spec, log: o.Logger.With("autoscaler", spec.Name), st: NewState(spec.Name)}
	var st State
	switch err := o.Store.Get(StoreKind, spec.Name, &st); {
	case err == nil:
		st.Name = spec.Name
		c.st = st
	case errors.Is(err, store.ErrNotFound):
	default:
		return nil, fmt.Errorf("autoscaler %q: load state: %w", spec.Name, err)
	}
	if raw, err := o.Store.History(StoreKind, spec.Name, recentEvents); err == nil {
		for _, r := range raw {
			var e Event
			if json.Unmarshal(r, &e) == nil {
				c.recent = append(c.recent, e)
			}
		}
	}
	var names []string
	if len(spec.Metrics) > 0 {
		names = append(names, RecommenderHPA)
	}
	if spec.SLO != nil {
		names = append(names, RecommenderSLO)
	}
	if spec.Queue != nil {
		names = append(names, RecommenderQueue)
	}
	o.Metrics.init(spec.Name, names)
	return c, nil
}

// Name returns the autoscaler's name.
func (c *Controller) Name() string { return c.spec.Name }

// Spec returns the autoscaler's spec with its defaults.
func (c *Controller) Spec() Spec { return c.spec }

// Run looks every Interval until ctx ends. It returns ctx's error.
func (c *Controller) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return fmt.Errorf("autoscaler %q: %w: already running", c.spec.Name, ErrConflict)
	}
	c.started = true
	c.mu.Unlock()
	c.look(ctx)
	t := time.NewTicker(c.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			c.look(ctx)
		}
	}
}

// Pause freezes scaling until Resume; the state is persisted, so a paused
// autoscaler stays paused across restarts.
func (c *Controller) Pause(reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Paused {
		return fmt.Errorf("autoscaler %q: %w: already paused", c.spec.Name, ErrConflict)
	}
	if reason == "" {
		reason = "paused by an operator"
	}
	c.st.Paused, c.st.PauseReason = true, reason
	c.gen++
	return c.persistLocked(Event{At: time.Now(), Autoscaler: c.spec.Name, Type: "paused", From: c.st.LastSet, To: c.st.LastSet, Reason: reason})
}

// Resume ends a pause or a fight: the autoscaler adopts the count it reads
// on its next look as its own.
func (c *Controller) Resume() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.st.Paused && c.st.Fight == "" {
		return fmt.Errorf("autoscaler %q: %w: not paused", c.spec.Name, ErrConflict)
	}
	why := "resumed by an operator"
	if c.st.Fight != "" {
		why += " after: " + c.st.Fight
	}
	c.st.Paused, c.st.PauseReason, c.st.Fight, c.st.LastSet = false, "", "", 0
	c.gen++
	// An actuator that remembers its own writes to refuse a fight
	// (actuator.Kubernetes) adopts the target as it is, too.
	if r, ok := c.o.Actuator.(interface{ Reset() }); ok {
		r.Reset()
	}
	return c.persistLocked(Event{At: time.Now(), Autoscaler: c.spec.Name, Type: "resumed", Reason: why})
}

// Status returns the autoscaler's current status.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Name: c.spec.Name, Paused: c.st.Paused, Reason: c.st.PauseReason, Fight: c.st.Fight,
		Min: c.spec.Min, Max: c.spec.Max, Last: c.st.Last, Recent: append([]Event{}, c.recent...),
		Error: c.lastErr, Updated: c.st.Updated, Recommendations: []Recommendation{}, Decisions: append([]Decision{}, c.decs...),
		Observations: append([]Observation{}, c.obs...)}
	if l := c.st.Last; l != nil {
		s.Current, s.Ready, s.Desired = l.Current, l.Ready, l.Desired
		s.Recommendations = append(s.Recommendations, l.Recommendations...)
	}
	if c.known {
		s.Current, s.Ready = c.scale.Desired, c.scale.Ready
	}
	return s
}

// persistLocked saves the state with events; c.mu is held.
func (c *Controller) persistLocked(events ...Event) error {
	evs := make([]any, len(events))
	for i, e := range events {
		evs[i] = e
	}
	if err := c.o.Store.Save(StoreKind, c.spec.Name, c.st, evs...); err != nil {
		c.o.Metrics.storeErrors.Inc()
		c.lastErr = err.Error()
		c.log.Error("Could not persist autoscaler state", "err", err)
		return fmt.Errorf("autoscaler %q: %w", c.spec.Name, err)
	}
	c.recent = append(c.recent, events...)
	if n := len(c.recent) - recentEvents; n > 0 {
		c.recent = append([]Event(nil), c.recent[n:]...)
	}
	if c.st.Paused || c.st.Fight != "" {
		c.o.Metrics.paused.WithLabelValues(c.spec.Name).Set(1)
	} else {
		c.o.Metrics.paused.WithLabelValues(c.spec.Name).Set(0)
	}
	for _, e := range events {
		if c.o.OnEvent != nil {
			c.o.OnEvent(e)
		}
	}
	return nil
}

// look is one evaluation: observe, decide, act, confirm, persist.
func (c *Controller) look(ctx context.Context) {
	c.mu.Lock()
	st, gen := c.st, c.gen
	c.mu.Unlock()
	name := c.spec.Name

	in := c.observe(ctx, st)
	now := time.Now()
	if in.ScaleErr == "" {
		c.o.Metrics.current.WithLabelValues(name).Set(float64(in.Scale.Desired))
		if st.LastSet == 0 && st.Fight == "" && !st.Paused {
			st = Adopt(st, in.Scale.Desired, now)
		}
	}
	next, d := Step(c.spec, st, in, now)
	for _, r := range d.Recommendations {
		v := math.NaN()
		if r.Valid {
			v = float64(r.Replicas)
		}
		c.o.Metrics.recommendation.WithLabelValues(name, r.Recommender).Set(v)
	}
	var events []Event
	switch {
	case d.Event == "fight":
		events = append(events, Event{At: now, Autoscaler: name, Type: "fight", From: st.LastSet, To: d.Current, Reason: d.Reason,
			Recommendations: d.Recommendations})
		c.log.Warn("Autoscaler stopped: someone else scales the target", "from", st.LastSet, "to", d.Current)
	case d.Action == ActionHold:
		c.o.Metrics.holds.WithLabelValues(name).Inc()
		if st.Last == nil || st.Last.Action != ActionHold || st.Last.Reason != d.Reason {
			events = append(events, Event{At: now, Autoscaler: name, Type: "hold", From: d.Current, To: d.Current, Reason: d.Reason,
				Recommendations: d.Recommendations})
		}
	}
	c.o.Metrics.desired.WithLabelValues(name).Set(float64(d.Desired))

	var actErr error
	confirmedSet := Scale{Desired: -1}
	if d.Action == ActionScaleUp || d.Action == ActionScaleDown {
		c.mu.Lock()
		stale := gen != c.gen
		c.mu.Unlock()
		if stale {
			return // paused or resumed meanwhile: that command wins
		}
		var err error
		confirmedSet, err = c.act(ctx, d)
		confirmed := confirmedSet.Desired
		now = time.Now()
		switch {
		case err != nil:
			actErr = err
			events = append(events, Event{At: now, Autoscaler: name, Type: "actuator_error", From: d.Current, To: d.Desired,
				Reason: fmt.Sprintf("could not scale to %d: %v", d.Desired, err)})
			c.log.Error("Could not scale", "from", d.Current, "to", d.Desired, "err", err)
			// Nothing confirmed: the state keeps the last confirmed count;
			// a later read that differs counts as a fight only if we did
			// not ask for it.
			if confirmed >= 0 && confirmed != d.Current {
				next = Confirm(c.spec, next, d.Current, confirmed, now)
			}
		default:
			next = Confirm(c.spec, next, d.Current, confirmed, now)
			dir := "up"
			if confirmed < d.Current {
				dir = "down"
			}
			c.o.Metrics.actions.WithLabelValues(name, dir).Inc()
			c.o.Metrics.current.WithLabelValues(name).Set(float64(confirmed))
			events = append(events, Event{At: now, Autoscaler: name, Type: "scaled", From: d.Current, To: confirmed, Reason: d.Reason,
				Recommendations: d.Recommendations})
			c.log.Info("Scaled", "from", d.Current, "to", confirmed, "reason", d.Reason)
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		// A pause or resume came in during the look: keep its state, but
		// record what the actuator confirmed.
		c.st.UpEvents, c.st.DownEvents = next.UpEvents, next.DownEvents
		if next.LastSet != st.LastSet && c.st.LastSet != 0 {
			c.st.LastSet, c.st.LastSetAt = next.LastSet, next.LastSetAt
		}
		next = c.st
	}
	c.st = next
	c.decs = append(c.decs, d)
	if n := len(c.decs) - recentEvents; n > 0 {
		c.decs = append([]Decision(nil), c.decs[n:]...)
	}
	c.obs = append(c.obs, observation(in, d.At))
	if n := len(c.obs) - recentEvents; n > 0 {
		c.obs = append([]Observation(nil), c.obs[n:]...)
	}
	if in.ScaleErr == "" {
		c.scale, c.known = in.Scale, true
		if confirmedSet.Desired >= 0 {
			c.scale = confirmedSet
		}
	}
	switch {
	case actErr != nil:
		c.lastErr = actErr.Error()
	case in.ScaleErr != "":
		c.lastErr = "read scale: " + in.ScaleErr
	default:
		c.lastErr = ""
	}
	_ = c.persistLocked(events...)
}

// observe reads the scale, the metrics, the SLOs and the rollout.
func (c *Controller) observe(ctx context.Context, st State) Inputs {
	var in Inputs
	sc, err := c.getScale(ctx)
	if err != nil {
		in.ScaleErr = err.Error()
	}
	in.Scale = sc
	now := time.Now()
	for _, m := range c.spec.Metrics {
		in.Metrics = append(in.Metrics, c.metric(ctx, m, sc, now))
	}
	if s := c.spec.SLO; s != nil {
		for _, name := range s.SLOs {
			sig, err := c.readSLO(ctx, name, now)
			if err != nil {
				sig = SLOSignal{SLO: name, Err: err.Error(), Budget: math.NaN(), BurnLong: math.NaN(), BurnShort: math.NaN()}
			}
			in.SLO = append(in.SLO, sig)
		}
	}
	if q := c.spec.QueueQueries; c.spec.Queue != nil && q != nil {
		in.Queue = c.queueInput(ctx, *q, sc, now)
	}
	if c.o.Rollout != nil {
		in.Rollout = c.o.Rollout(c.spec.Name)
	}
	in.ObservedAt = time.Now()
	if q := c.spec.FreshnessQuery; q != "" {
		v, err := c.query(ctx, q, now)
		if err != nil {
			stale := "freshness unknown: " + err.Error()
			for i := range in.Metrics {
				in.Metrics[i].Err = stale
			}
			in.Queue.Err = stale
			for i := range in.SLO {
				in.SLO[i].Err = stale
			}
		} else {
			age := 0.0
			for _, s := range v.Samples {
				age = math.Max(age, s.Value)
			}
			in.ObservedAt = now.Add(-time.Duration(age * float64(time.Second)))
		}
	}
	return in
}

func (c *Controller) readSLO(ctx context.Context, name string, now time.Time) (SLOSignal, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	return c.o.SLO.SLOSignal(ctx, name, now)
}

func (c *Controller) query(ctx context.Context, q string, now time.Time) (analysis.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	v, err := c.o.Querier.Query(ctx, q, now)
	if err != nil {
		return v, err
	}
	if len(v.Samples) == 0 {
		return v, fmt.Errorf("query %s: %w", q, analysis.ErrNoData)
	}
	for _, s := range v.Samples {
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return v, fmt.Errorf("query %s: %w", q, analysis.ErrNaN)
		}
	}
	return v, nil
}

// metric reads one metric. An AverageValue or Utilization query with
// several series is read as one sample per pod; the pods the scale counts
// beyond them are missing (ready) or pending (not ready), as the HPA
// counts them. A Utilization query with one series is the ready replicas'
// average (a percentage).
func (c *Controller) metric(ctx context.Context, m MetricSpec, sc Scale, now time.Time) MetricInput {
	mi := MetricInput{Name: m.Name, Target: m.Target}
	v, err := c.query(ctx, m.Query, now)
	if err != nil {
		mi.Err = err.Error()
		return mi
	}
	if m.Target.Type == Value || len(v.Samples) == 1 && m.Target.Type == AverageValue {
		for _, s := range v.Samples {
			mi.Value += s.Value
		}
		return mi
	}
	if m.Target.Type == Utilization && len(v.Samples) == 1 {
		// One series is the ready replicas' average utilization: each
		// ready replica is taken at that average.
		for i := int32(0); i < max(1, sc.Ready); i++ {
			mi.Pods = append(mi.Pods, PodSample{Name: fmt.Sprintf("replica-%d", i), Ready: true, HasValue: true, Value: v.Samples[0].Value, Request: 1})
		}
	} else {
		for _, s := range v.Samples {
			mi.Pods = append(mi.Pods, PodSample{Name: podName(s.Labels), Ready: true, HasValue: true, Value: s.Value, Request: 1})
		}
	}
	if m.Target.Type == Utilization {
		// A utilization query returns each pod's usage as a percentage of
		// its request: request 1, value = percentage/100.
		for i := range mi.Pods {
			mi.Pods[i].Value /= 100
		}
	}
	n := int32(len(mi.Pods))
	for i := n; i < sc.Ready; i++ {
		mi.Pods = append(mi.Pods, PodSample{Name: fmt.Sprintf("missing-%d", i), Ready: true, Request: 1})
	}
	for i := max(sc.Ready, n); i < sc.Desired; i++ {
		mi.Pods = append(mi.Pods, PodSample{Name: fmt.Sprintf("pending-%d", i), Request: 1})
	}
	return mi
}

func podName(l map[string]string) string {
	for _, k := range []string{"pod", "instance", "replica"} {
		if v := l[k]; v != "" {
			return v
		}
	}
	return ""
}

func (c *Controller) queueInput(ctx context.Context, q QueueQueries, sc Scale, now time.Time) QueueInput {
	in := QueueInput{Ready: sc.Ready, Budget: math.NaN()}
	sum := func(query string) (float64, error) {
		v, err := c.query(ctx, query, now)
		if err != nil {
			return 0, err
		}
		x := 0.0
		for _, s := range v.Samples {
			x += s.Value
		}
		return x, nil
	}
	var errs, nanErrs []string
	var err error
	if in.Throughput, err = sum(q.Throughput); err != nil {
		errs = append(errs, err.Error())
	}
	if q.Arrivals != "" {
		if in.Arrivals, err = sum(q.Arrivals); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if q.ArrivalsNow != "" {
		if in.ArrivalsNow, err = sum(q.ArrivalsNow); err != nil {
			errs = append(errs, err.Error())
		}
	}
	// A latency or concurrency query is a ratio of rates: with no request
	// in its window it is 0/0, NaN. That is no load, not blindness, when
	// the throughput (and the arrivals, when read) are a valid 0; with
	// arrivals and no throughput the service is stuck, and NaN stays an
	// error (scale-down is held).
	if q.Latency != "" {
		v, err := c.query(ctx, q.Latency, now)
		switch {
		case errors.Is(err, analysis.ErrNaN):
			nanErrs = append(nanErrs, err.Error())
		case err != nil:
			errs = append(errs, err.Error())
		default:
			// Several series (one per replica): their mean.
			for _, s := range v.Samples {
				in.Latency += s.Value / float64(len(v.Samples))
			}
		}
	}
	if q.Concurrency != "" {
		in.Concurrency, err = sum(q.Concurrency)
		switch {
		case errors.Is(err, analysis.ErrNaN):
			nanErrs = append(nanErrs, err.Error())
		case err != nil:
			errs = append(errs, err.Error())
		}
	}
	if idle := len(errs) == 0 && in.Throughput == 0 && in.Arrivals == 0 && in.ArrivalsNow == 0; !idle {
		errs = append(errs, nanErrs...)
	}
	if q.BudgetSLO != "" && c.o.SLO != nil {
		if sig, err := c.readSLO(ctx, q.BudgetSLO, now); err == nil && sig.Err == "" {
			in.Budget = sig.Budget
		}
	}
	if len(errs) > 0 {
		in.Err = strings.Join(errs, "; ")
	}
	return in
}

func (c *Controller) getScale(ctx context.Context) (Scale, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	sc, err := c.o.Actuator.GetScale(ctx)
	if err != nil {
		c.o.Metrics.actuatorErrors.WithLabelValues(c.spec.Name).Inc()
		return Scale{}, fmt.Errorf("get scale: %w", err)
	}
	if sc.Desired < 0 || sc.Ready < 0 {
		c.o.Metrics.actuatorErrors.WithLabelValues(c.spec.Name).Inc()
		return Scale{}, fmt.Errorf("get scale: negative counts %+v", sc)
	}
	return sc, nil
}

// act sets the scale with retries and reads it back. It returns the scale
// read back (Desired -1 when it could not be read) and an error unless the
// read count is the one asked for.
func (c *Controller) act(ctx context.Context, d Decision) (Scale, error) {
	backoff := c.o.Backoff
	var last error
	for attempt := 0; attempt <= c.o.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return Scale{Desired: -1}, errors.Join(last, ctx.Err())
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		if err := c.set(ctx, d); err != nil {
			c.o.Metrics.actuatorErrors.WithLabelValues(c.spec.Name).Inc()
			last = fmt.Errorf("set scale (attempt %d): %w", attempt+1, err)
			c.log.Warn("Actuator failed", "attempt", attempt+1, "err", err)
			continue
		}
		sc, err := c.getScale(ctx)
		if err != nil {
			last = fmt.Errorf("read back: %w", err)
			continue
		}
		if sc.Desired != d.Desired {
			last = fmt.Errorf("read back %d replicas after asking for %d", sc.Desired, d.Desired)
			continue
		}
		return sc, nil
	}
	// A last read: the count that holds now, if any.
	if sc, err := c.getScale(ctx); err == nil {
		return sc, last
	}
	return Scale{Desired: -1}, last
}

func (c *Controller) set(ctx context.Context, d Decision) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	if sa, ok := c.o.Actuator.(SplitActuator); ok && d.Split != nil {
		return sa.SetSplit(ctx, d.Split.Stable, d.Split.Canary)
	}
	return c.o.Actuator.SetScale(ctx, d.Desired)
}
