package demo

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/autoscale/actuator"
	"github.com/vaneproj/vane/traffic"
)

// The third part's load and replicas: each replica serves at most
// ratePerReplica calls per second (slots of serviceTime each); the users'
// rate ramps from rampLow to rampHigh and back.
const (
	ratePerReplica = 100.0
	serviceTime    = 20 * time.Millisecond
	rampLow        = 50.0
	rampHigh       = 400.0
	// targetPerReplica is the autoscaler's target: calls per second per
	// replica (70% of what one serves).
	targetPerReplica = 70.0
	// inFlightPerReplica is its second target: calls in flight per
	// replica. At the first target a replica holds about 1.7 (Little's
	// law: 70 calls/s × 20 ms, plus the queueing of two slots at 70%
	// load); above 2 calls queue: this one catches overload, which the
	// calls served (capped at what the replicas serve) understate.
	inFlightPerReplica = 2.0
	maxReplicas        = 8
)

// ScaledUpAndDown is the third part's expected outcome.
const ScaledUpAndDown Outcome = "scaled up and down"

// autoscaleTimings are the third part's durations.
type autoscaleTimings struct {
	look, window, startup, hold, rampUp, peak, rampDown, settle time.Duration
	downWindow                                                  int32 // scale-down stabilization, seconds
}

func autoscaleTimingsFor(fast bool) autoscaleTimings {
	if fast {
		return autoscaleTimings{look: time.Second, window: 2 * time.Second, startup: 200 * time.Millisecond,
			hold: time.Second, rampUp: 4 * time.Second, peak: 3 * time.Second, rampDown: 2 * time.Second,
			settle: 12 * time.Second, downWindow: 3}
	}
	return autoscaleTimings{look: 2 * time.Second, window: 4 * time.Second, startup: 2 * time.Second,
		hold: 6 * time.Second, rampUp: 30 * time.Second, peak: 20 * time.Second, rampDown: 20 * time.Second,
		settle: 90 * time.Second, downWindow: 15}
}

// AutoscaleResult is what the third part measured.
type AutoscaleResult struct {
	// Initial, Peak and Final are the ready replicas at the start, at
	// most, and at the end.
	Initial int32 `json:"initial"`
	Peak    int32 `json:"peak"`
	Final   int32 `json:"final"`
	// PeakRate is the highest rate users sent, in calls per second.
	PeakRate float64 `json:"peak_rate"`
	// Failed and Slow split the users' bad calls: failed ones and those
	// slower than LatencyThreshold.
	Failed uint64 `json:"failed"`
	Slow   uint64 `json:"slow"`
	// ScaleUps and ScaleDowns count the autoscaler's confirmed changes.
	ScaleUps   int `json:"scale_ups"`
	ScaleDowns int `json:"scale_downs"`
	// ViolationMinutes is the time, in minutes, during which more than
	// 1 − Objective of the users' calls (over one-second windows) failed
	// or were slower than LatencyThreshold.
	ViolationMinutes float64 `json:"violation_minutes"`
	// ReplicaMinutes is the ready replicas integrated over the part;
	// StaticReplicaMinutes what running Peak replicas throughout would
	// have cost.
	ReplicaMinutes       float64 `json:"replica_minutes"`
	StaticReplicaMinutes float64 `json:"static_replica_minutes"`
}

// runAutoscalePart ramps the users' load against replicas of stable that
// a local actuator runs and publishes over xDS, while the real autoscale
// controller scales them.
func runAutoscalePart(ctx context.Context, w *World, db autoscale.Store, reg prometheus.Registerer, n *narrator, api *laterAutoscalers,
	fast bool, stable string, logger *slog.Logger) (Part, error) {
	at := autoscaleTimingsFor(fast)
	part := Part{Title: "the autoscaler follows a load ramp", Stable: stable, Expected: ScaledUpAndDown, Outcome: Unfinished}
	// The users go back to the base rate first.
	_ = w.Load.SetRate(rampLow)
	started := time.Now()
	before := w.Load.Stats()

	loc, err := actuator.NewLocal(ctx, actuator.LocalConfig{
		Service:      w.Service(stable, ""),
		Router:       w.XDS,
		Start:        actuator.SampleApp(stable, "", ratePerReplica, serviceTime, logger.With("component", "replica")),
		StartupDelay: at.startup,
		Drain:        300 * time.Millisecond,
		OnChange: func(rs []actuator.Replica) {
			addrs := make([]string, len(rs))
			for i, r := range rs {
				addrs[i] = r.MetricsAddr()
			}
			if err := w.ScrapeAlso(addrs); err != nil {
				logger.Error("Could not scrape the replicas", "err", err)
			}
		},
		Logger: logger.With("component", "local-actuator"),
	})
	if err != nil {
		return part, fmt.Errorf("demo: autoscale: %w", err)
	}
	defer func() {
		// Hand the service back to the world's own instance of stable
		// before the replicas stop.
		actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := w.XDS.Apply(actx, w.Service(stable, ""), traffic.AllStable()); err != nil {
			logger.Error("Could not publish the stable instance again", "err", err)
		}
		_ = loc.Close()
	}()

	win := fmt.Sprintf("%dms", at.window.Milliseconds())
	sel := fmt.Sprintf(`service=%q,version=%q`, Service, stable)
	spec := autoscale.Spec{
		Name: Service, Min: 1, Max: maxReplicas,
		Metrics: []autoscale.MetricSpec{
			{Name: "calls_per_second", Query: fmt.Sprintf("sum(rate(demo_requests_total{%s}[%s]))", sel, win),
				Target: autoscale.MetricTarget{Type: autoscale.AverageValue, Value: targetPerReplica}},
			{Name: "calls_in_flight", Query: fmt.Sprintf("sum(avg_over_time(demo_requests_in_flight{%s}[%s]))", sel, win),
				Target: autoscale.MetricTarget{Type: autoscale.AverageValue, Value: inFlightPerReplica}},
		},
		Behavior: &autoscale.Behavior{
			ScaleUp: &autoscale.Rules{StabilizationWindowSeconds: ptr(int32(0)),
				Policies: []autoscale.Policy{{Type: autoscale.PercentPolicy, Value: 100, PeriodSeconds: 1}, {Type: autoscale.PodsPolicy, Value: 4, PeriodSeconds: 1}}},
			ScaleDown: &autoscale.Rules{StabilizationWindowSeconds: ptr(at.downWindow),
				Policies: []autoscale.Policy{{Type: autoscale.PercentPolicy, Value: 50, PeriodSeconds: 1}}},
		},
		StaleAfter: 4 * at.window,
	}
	var mu sync.Mutex
	res := AutoscaleResult{Initial: 1, Peak: 1}
	ctrl, err := autoscale.New(autoscale.Options{
		Spec:     spec,
		Actuator: actuator.Retrying(loc, actuator.RetryOptions{Name: Service, Attempts: 3, Initial: 100 * time.Millisecond, NoConfirm: true}),
		Querier:  w.Prom,
		Store:    db,
		Metrics:  autoscale.NewMetrics(reg),
		Logger:   logger.With("component", "autoscale"),
		Interval: at.look,
		Timeout:  at.look,
		Backoff:  100 * time.Millisecond,
		OnEvent: func(e autoscale.Event) {
			if e.Type == "scaled" {
				mu.Lock()
				if e.To > e.From {
					res.ScaleUps++
				} else {
					res.ScaleDowns++
				}
				mu.Unlock()
			}
			n.autoscaleEvent(e, w.Load.Rate())
		},
	})
	if err != nil {
		return part, fmt.Errorf("demo: autoscale: %w", err)
	}
	am, err := autoscale.NewManager(ctrl)
	if err != nil {
		return part, fmt.Errorf("demo: autoscale: %w", err)
	}
	api.set(am) // GET /api/v1/autoscalers shows it from now on
	n.line(fmt.Sprintf("%s %d replica of %s serves xds:///%s now (each serves at most %.0f calls/s: %d slots of %v); the autoscaler",
		n.stamp(time.Now()), 1, stable, Service, ratePerReplica, int(ratePerReplica*serviceTime.Seconds()), serviceTime))
	n.line(fmt.Sprintf("           looks every %v: HPA algorithm on %.0f calls/s and %.1f calls in flight per replica, min 1, max %d,",
		at.look, targetPerReplica, inFlightPerReplica, maxReplicas))
	n.line(fmt.Sprintf("           scale-up at once, scale-down after a %ds stabilization window; replicas take %v to start.", at.downWindow, at.startup))

	cctx, ccancel := context.WithCancel(ctx)
	cdone := make(chan struct{})
	go func() {
		defer close(cdone)
		_ = ctrl.Run(cctx)
	}()
	defer func() { ccancel(); <-cdone }()

	// Sample what users got and the ready replicas every 250 ms.
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan struct{})
	var replicaSeconds, violationSeconds float64
	var last int32 = 1
	go func() {
		defer close(sdone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		prevT, prevS := time.Now(), w.Load.Stats()
		winStart, winStats := prevT, prevS
		for {
			select {
			case <-sctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now()
			sc, err := loc.GetScale(ctx)
			mu.Lock()
			if err == nil {
				last = sc.Ready
			}
			replicaSeconds += float64(last) * now.Sub(prevT).Seconds()
			res.Peak = max(res.Peak, last)
			res.PeakRate = max(res.PeakRate, w.Load.Rate())
			if now.Sub(winStart) >= time.Second {
				s := w.Load.Stats()
				d := s.Sub(winStats)
				if c := d.Completed(); c > 0 && float64(d.Bad()) > (1-Objective)*float64(c) {
					violationSeconds += now.Sub(winStart).Seconds()
				}
				winStart, winStats = now, s
			}
			mu.Unlock()
			prevT = now
		}
	}()
	progress := func(what string) {
		mu.Lock()
		r := last
		mu.Unlock()
		n.line(fmt.Sprintf("%s %s: users at %.0f calls/s, %d replica(s) ready", n.stamp(time.Now()), what, w.Load.Rate(), r))
	}

	// The ramp.
	steps := []struct {
		what string
		to   float64 // 0: hold the rate
		over time.Duration
	}{
		{"steady", 0, at.hold},
		{fmt.Sprintf("ramping up to %.0f calls/s", rampHigh), rampHigh, at.rampUp},
		{"at the peak", 0, at.peak},
		{fmt.Sprintf("ramping down to %.0f calls/s", rampLow), rampLow, at.rampDown},
	}
	for _, st := range steps {
		progress(st.what)
		if st.to == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(st.over):
			}
		} else if err := w.Load.Ramp(ctx, st.to, st.over); err != nil {
			scancel()
			<-sdone
			return part, fmt.Errorf("demo: autoscale: %w", err)
		}
	}
	progress("back to the base load; waiting for the scale-down")
	_ = waitUntil(ctx, at.settle, func() bool {
		sc, err := loc.GetScale(ctx)
		return err == nil && sc.Desired == 1 && sc.Ready == 1
	})
	time.Sleep(250 * time.Millisecond) // one more sample
	scancel()
	<-sdone
	// The rest of the demo (and users) go back to the demo's rate.
	elapsed := time.Since(started)
	d := w.Load.Stats().Sub(before)

	mu.Lock()
	defer mu.Unlock()
	res.Final = last
	res.ReplicaMinutes = replicaSeconds / 60
	res.StaticReplicaMinutes = float64(res.Peak) * elapsed.Minutes()
	res.ViolationMinutes = violationSeconds / 60
	part.Duration = elapsed
	part.Calls, part.Bad = d.Completed(), d.Bad()
	for _, v := range d.ByVersion {
		res.Failed += v.Failed
		res.Slow += v.Slow
	}
	part.Autoscale = &res
	st := ctrl.Status()
	if st.Last != nil {
		part.Reason = st.Last.Reason
	}
	if res.Peak > res.Initial && res.Final < res.Peak && res.ScaleUps > 0 && res.ScaleDowns > 0 {
		part.Outcome = ScaledUpAndDown
	} else {
		part.Reason = fmt.Sprintf("peak %d replicas, final %d (%d scale-ups, %d scale-downs)", res.Peak, res.Final, res.ScaleUps, res.ScaleDowns)
	}
	return part, nil
}

func ptr[T any](v T) *T { return &v }

// laterAutoscalers serves the API's autoscalers before the third part
// starts its autoscaler (none yet) and after (that one).
type laterAutoscalers struct {
	mu sync.Mutex
	m  *autoscale.Manager
}

func (l *laterAutoscalers) set(m *autoscale.Manager) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m = m
}

func (l *laterAutoscalers) get() *autoscale.Manager {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m
}

// List implements api.Autoscalers.
func (l *laterAutoscalers) List() []autoscale.Status {
	if m := l.get(); m != nil {
		return m.List()
	}
	return []autoscale.Status{}
}

// Get implements api.Autoscalers.
func (l *laterAutoscalers) Get(name string) (autoscale.Status, error) {
	if m := l.get(); m != nil {
		return m.Get(name)
	}
	return autoscale.Status{}, fmt.Errorf("autoscaler %q: %w (the demo starts it in its third part)", name, autoscale.ErrNotFound)
}

// Pause implements api.Autoscalers.
func (l *laterAutoscalers) Pause(name, reason string) error {
	if m := l.get(); m != nil {
		return m.Pause(name, reason)
	}
	return fmt.Errorf("autoscaler %q: %w", name, autoscale.ErrNotFound)
}

// Resume implements api.Autoscalers.
func (l *laterAutoscalers) Resume(name string) error {
	if m := l.get(); m != nil {
		return m.Resume(name)
	}
	return fmt.Errorf("autoscaler %q: %w", name, autoscale.ErrNotFound)
}
