package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/slo"
	"github.com/vaneproj/vane/traffic"
)

// Service is the demo service's name: users dial xds:///demo.
const Service = "demo"

// The demo's SLO, which the judges, the load generator's idea of a bad
// call and the burn rate shown all use: 99% of calls succeed, and a call
// is slow when it takes longer than 100 ms.
const (
	Objective        = 0.99
	LatencyThreshold = 100 * time.Millisecond
)

// badCodes are the gRPC codes that count against the service: server
// faults, not the caller's mistakes.
const badCodes = "Unknown|DeadlineExceeded|ResourceExhausted|Unimplemented|Internal|Unavailable|DataLoss"

// Options configure Run. Zero fields take the defaults named on them.
type Options struct {
	// Fast shortens every duration (scrapes, looks, analysis steps) so the
	// whole demo takes well under a minute; for tests and impatient users.
	Fast bool
	// Keep leaves the HTTP endpoints (Vane's web UI and API, its metrics,
	// the embedded Prometheus's query API) and the world up after the
	// scenario, until ctx ends.
	Keep bool
	// HTTPListen is the HTTP address; default 127.0.0.1:0 (a free port).
	HTTPListen string
	// BadErrorRatio is the share of v2's calls that fail (default 0.1).
	BadErrorRatio float64
	// BadLatency is the latency v2 adds to every call (default 150ms).
	BadLatency time.Duration
	// Rate is the users' steady rate in calls per second (default 50, or
	// 100 with Fast).
	Rate float64
	// Out receives the narration; nil discards.
	Out io.Writer
	// Live redraws a status line in place (for a terminal); otherwise the
	// progress is written as plain lines.
	Live bool
	// Width is the terminal's width in columns for the live status line
	// (default 120).
	Width int
	// Logger receives the components' logs; nil discards.
	Logger *slog.Logger
}

// timings are the durations of one run.
type timings struct {
	scrape, interval, analysis, progress, partLimit time.Duration
}

func timingsFor(fast bool) timings {
	if fast {
		return timings{scrape: 500 * time.Millisecond, interval: time.Second, analysis: 5 * time.Second,
			progress: 2 * time.Second, partLimit: 90 * time.Second}
	}
	return timings{scrape: time.Second, interval: 2 * time.Second, analysis: 20 * time.Second,
		progress: 4 * time.Second, partLimit: 10 * time.Minute}
}

// Outcome is how one part of the demo ended.
type Outcome string

// The outcomes.
const (
	RolledBack   Outcome = "rolled back"
	Promoted     Outcome = "promoted"
	NotAvailable Outcome = "not available yet"
	Unfinished   Outcome = "unfinished"
)

// Part is what one part of the scenario did, as measured.
type Part struct {
	// Title says what the part shows.
	Title string `json:"title"`
	// Stable and Canary are the versions involved.
	Stable string `json:"stable,omitempty"`
	Canary string `json:"canary,omitempty"`
	// Expected and Outcome are the outcome the part is meant to show and
	// the one it got.
	Expected Outcome `json:"expected"`
	Outcome  Outcome `json:"outcome"`
	// Phase is the rollout's final phase; Reason its last decision.
	Phase  rollout.Phase `json:"phase,omitempty"`
	Reason string        `json:"reason,omitempty"`
	// Duration is the time from the rollout's start to its end.
	Duration time.Duration `json:"duration"`
	// Steps counts the plan steps completed; MaxWeight is the highest
	// canary weight served before any promotion.
	Steps     int `json:"steps"`
	MaxWeight int `json:"max_weight"`
	// Calls is what users sent during the part; CanaryCalls how many the
	// canary answered; Bad how many calls users got that failed or were
	// slow (any version), CanaryBad those of the canary.
	Calls       uint64 `json:"calls"`
	CanaryCalls uint64 `json:"canary_calls"`
	Bad         uint64 `json:"bad"`
	CanaryBad   uint64 `json:"canary_bad"`
	// FirstBad is when the first bad call the canary answered was sent.
	FirstBad time.Time `json:"first_bad,omitzero"`
	// RollbackDecided is when the controller decided to roll back;
	// WeightZero is when weight 0 had been ACKed by every xDS client.
	RollbackDecided time.Time `json:"rollback_decided,omitzero"`
	WeightZero      time.Time `json:"weight_zero,omitzero"`
	// TimeToRollback is WeightZero − FirstBad: from the first bad call
	// users got from the canary until no client would send it another one.
	TimeToRollback time.Duration `json:"time_to_rollback,omitempty"`
	// CanaryServedAfterZero is how long after WeightZero the canary still
	// answered a call (0 when it answered none).
	CanaryServedAfterZero time.Duration `json:"canary_served_after_zero,omitempty"`
	// Judges holds the last verdict of each judge.
	Judges []analysis.Result `json:"judges,omitempty"`
	// Autoscale is what the autoscaling part measured.
	Autoscale *AutoscaleResult `json:"autoscale,omitempty"`
}

// Summary is the whole demo's outcome.
type Summary struct {
	Parts []Part `json:"parts"`
	// Wall is the demo's wall time, from start to the summary.
	Wall time.Duration `json:"wall"`
	// HTTP is the base URL of the demo's HTTP endpoints.
	HTTP string `json:"http"`
}

// ErrUnexpected is returned (wrapped) by Run when a part did not end as
// the demo expects (v2 rolled back, v3 promoted, the replicas scaled up
// and back down).
var ErrUnexpected = errors.New("demo: unexpected outcome")

// Run runs the demo: it starts the world, rolls out v2 (bad) and v3
// (good) with the real rollout controller and judges, narrates on o.Out
// and returns the measured summary. It returns an error wrapping
// ErrUnexpected if v2 was not rolled back or v3 not promoted, and the
// summary so far with any other error.
func Run(ctx context.Context, o Options) (Summary, error) {
	start := time.Now()
	if o.BadErrorRatio == 0 {
		o.BadErrorRatio = 0.1
	}
	if o.BadLatency == 0 {
		o.BadLatency = 150 * time.Millisecond
	}
	if o.Rate == 0 {
		o.Rate = 50
		if o.Fast {
			o.Rate = 100
		}
	}
	if o.HTTPListen == "" {
		o.HTTPListen = "127.0.0.1:0"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tm := timingsFor(o.Fast)
	n := newNarrator(o.Out, o.Live, o.Width, start)
	defer n.stop()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	slos, err := loadSLOs()
	if err != nil {
		return Summary{}, err
	}

	n.line("Starting the demo world on loopback…")
	router := &recordingRouter{}
	autoscalers := &laterAutoscalers{}
	w, err := StartWorld(ctx, WorldConfig{
		Service: Service,
		Versions: []sampleapp.Config{
			{Version: "v1"},
			{Version: "v2", ErrorRatio: o.BadErrorRatio, ErrorCode: codes.Unavailable, Latency: o.BadLatency},
			{Version: "v3"},
		},
		Stable:         "v1",
		Plan:           demoPlan(tm),
		SLOs:           slos,
		SLOSources:     []string{SLOSpecName},
		ScrapeInterval: tm.scrape,
		Rate:           o.Rate,
		SlowThreshold:  LatencyThreshold,
		HTTPListen:     o.HTTPListen,
		Registry:       reg,
		OnEvent:        n.event,
		WrapRouter:     func(next traffic.Router) traffic.Router { router.next = next; return router },
		Autoscalers:    autoscalers,
		Logger:         logger,
	})
	if err != nil {
		return Summary{}, err
	}
	defer w.Close()
	httpURL := w.HTTP
	mgr := w.Controller.Rollouts()
	sloStatus := w.Controller.SLOs()
	sum := Summary{HTTP: httpURL}

	n.world(w, o, tm, httpURL)

	parts := []struct {
		title, canary string
		expected      Outcome
	}{
		{"a bad canary is rolled back", "v2", RolledBack},
		{"a good canary is promoted", "v3", Promoted},
	}
	var unexpected []error
	for i, p := range parts {
		stable := "v1"
		if st, err := mgr.Get(Service); err == nil && st.Phase == rollout.Succeeded {
			stable = st.Service.Stable.Version
		}
		n.part(i+1, fmt.Sprintf("canary %s → %s: %s", stable, p.canary, p.title))
		part, err := runPart(ctx, w, mgr, router, n, sloStatus, tm, p.title, stable, p.canary, p.expected)
		sum.Parts = append(sum.Parts, part)
		if err != nil {
			return sum, err
		}
		n.partResult(part)
		if part.Outcome != p.expected {
			unexpected = append(unexpected, fmt.Errorf("%w: canary %s was %s, expected %s (%s)", ErrUnexpected, p.canary, part.Outcome, p.expected, part.Reason))
		}
	}

	stable := "v1"
	if st, err := mgr.Get(Service); err == nil && st.Phase == rollout.Succeeded {
		stable = st.Service.Stable.Version
	}
	n.part(3, fmt.Sprintf("a load ramp (%.0f → %.0f → %.0f calls/s) that the autoscaler follows with replicas of %s", rampLow, rampHigh, rampLow, stable))
	part, err := runAutoscalePart(ctx, w, w.Controller.Store(), reg, n, autoscalers, o.Fast, stable, logger)
	sum.Parts = append(sum.Parts, part)
	if err != nil {
		return sum, err
	}
	n.autoscaleResult(part)
	if part.Outcome != part.Expected {
		unexpected = append(unexpected, fmt.Errorf("%w: the autoscaler did not scale up and back down: %s", ErrUnexpected, part.Reason))
	}

	sum.Wall = time.Since(start)
	n.summary(sum)

	if o.Keep && ctx.Err() == nil {
		n.line(fmt.Sprintf("Keeping everything up (--keep): web UI %s/, API %s/api/v1/rollouts, metrics %s/metrics,", httpURL, httpURL, httpURL))
		n.line(fmt.Sprintf("Prometheus API %s/prometheus/api/v1/query, and alerts link to graphs such as", httpURL))
		n.line(fmt.Sprintf("%s — press Ctrl-C to stop.", w.Prom.GeneratorURL(fmt.Sprintf("sum by (version) (rate(demo_requests_total{service=%q}[1m]))", Service))))
		<-ctx.Done()
	} else if ctx.Err() == nil {
		n.line("What to look at next: run `vane demo --keep` to keep everything up after the summary and open")
		n.line("the web UI it prints (rollouts, judges' evidence, SLO budgets), or try the same on your terminal")
		n.line("with `vane run`, `vane sample-app` and `vane load` (README, \"Canary releases with vane run\").")
	}
	return sum, errors.Join(unexpected...)
}

// demoPlan is the rollout plan both canaries follow: 10% → 30% → 60% →
// promote, with an analysis step after each weight, judged by two
// sequential canary-vs-stable judges (errors, and calls slower than the
// SLO's threshold).
func demoPlan(tm timings) rollout.Plan {
	iv := model.Duration(tm.interval)
	judges := []analysis.Spec{
		{Judge: &analysis.SequentialSpec{CommonSpec: analysis.CommonSpec{Name: "errors", Interval: iv},
			Counters: analysis.Counters{SLI: analysis.SLIErrors, RequestsMetric: "demo_requests_total", BadCodes: badCodes}}},
		{Judge: &analysis.SequentialSpec{CommonSpec: analysis.CommonSpec{Name: "latency", Interval: iv},
			Counters: analysis.Counters{SLI: analysis.SLILatency, LatencyMetric: "demo_request_duration_seconds", LatencyThreshold: LatencyThreshold.Seconds()}}},
	}
	return rollout.Plan{
		Steps: []rollout.PlanStep{
			rollout.WeightStep(10), rollout.AnalysisFor(tm.analysis),
			rollout.WeightStep(30), rollout.AnalysisFor(tm.analysis),
			rollout.WeightStep(60), rollout.AnalysisFor(tm.analysis),
			rollout.PromoteStep(),
		},
		Analysis:         rollout.Analysis{Interval: model.Duration(tm.interval), Judges: judges},
		ProgressDeadline: model.Duration(4 * tm.analysis),
	}
}

// runPart rolls out canary and waits for the rollout to end, measuring
// what users got.
func runPart(ctx context.Context, w *World, mgr *rollout.Manager, router *recordingRouter, n *narrator, slos *slo.Evaluator, tm timings,
	title, stable, canary string, expected Outcome) (Part, error) {
	part := Part{Title: title, Stable: stable, Canary: canary, Expected: expected, Outcome: Unfinished}
	before := w.Load.Stats()
	started := time.Now()
	st, err := mgr.Start(ctx, rollout.StartRequest{Service: Service, Version: canary, Endpoints: w.Service(canary, "").Stable.Endpoints})
	if err != nil {
		return part, fmt.Errorf("demo: start the rollout of %s: %w", canary, err)
	}
	n.watch(w, mgr, slos, tm)
	err = waitUntil(ctx, tm.partLimit, func() bool {
		s, err := mgr.Get(Service)
		if err == nil {
			st = s
		}
		return err == nil && st.Phase.Terminal()
	})
	n.unwatch()
	if err != nil {
		part.Phase, part.Reason = st.Phase, st.Reason
		return part, fmt.Errorf("demo: rollout of %s did not end: %w", canary, err)
	}
	// Let the calls in flight land before counting (bounded by the
	// client's timeout).
	_ = waitUntil(ctx, 5*time.Second, w.Load.Barrier())
	d := w.Load.Stats().Sub(before)

	part.Phase, part.Reason, part.Judges = st.Phase, st.Reason, st.Results
	part.Duration = st.Finished.Sub(started)
	part.Steps = st.Step
	for _, a := range router.since(started) {
		if w := a.Routing.Weights.Canary; a.Err == nil && w < 100 && w > part.MaxWeight {
			part.MaxWeight = a.Routing.Weights.Canary
		}
	}
	switch st.Phase {
	case rollout.Aborted:
		part.Outcome = RolledBack
	case rollout.Succeeded:
		part.Outcome = Promoted
	}
	part.Calls = d.Completed()
	part.Bad = d.Bad()
	cv := d.ByVersion[canary]
	part.CanaryCalls, part.CanaryBad, part.FirstBad = cv.Total(), cv.Bad(), cv.FirstBad
	if part.Outcome == RolledBack {
		part.RollbackDecided = n.rollbackAt(started)
		if z, ok := router.lastCanaryZero(started); ok {
			part.WeightZero = z.At
			if !part.FirstBad.IsZero() {
				part.TimeToRollback = z.At.Sub(part.FirstBad)
			}
			if cv.LastServed.After(z.At) {
				part.CanaryServedAfterZero = cv.LastServed.Sub(z.At)
			}
		}
	}
	return part, nil
}

// waitUntil polls cond every 20 ms until it holds, ctx ends or limit passes.
func waitUntil(ctx context.Context, limit time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// baseURL is the demo's HTTP base URL at addr, with localhost for an
// unspecified host (as vane run's default prometheus.external_url).
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
