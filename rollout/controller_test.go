package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRouter ACKs every change at once and records it.
type fakeRouter struct {
	mu      sync.Mutex
	applied []string
	fail    bool
	delay   time.Duration // each Apply takes this long
}

func (r *fakeRouter) Apply(ctx context.Context, svc traffic.Service, rt traffic.Routing) (traffic.Applied, error) {
	r.mu.Lock()
	d := r.delay
	r.mu.Unlock()
	time.Sleep(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return traffic.Applied{}, fmt.Errorf("node-1: %w", traffic.ErrNacked)
	}
	r.applied = append(r.applied, fmt.Sprintf("%s@%s %s", svc.Stable.Version, svc.Canary.Version, rt))
	return traffic.Applied{Version: fmt.Sprint(len(r.applied))}, nil
}

func (r *fakeRouter) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.applied) == 0 {
		return ""
	}
	return r.applied[len(r.applied)-1]
}

// fakeQuerier answers every query with the error ratio it is set to.
type fakeQuerier struct {
	mu       sync.Mutex
	ratio    float64
	requests float64 // the answer to queries of canary_requests_total
}

func (q *fakeQuerier) set(x float64) { q.mu.Lock(); q.ratio = x; q.mu.Unlock() }

func (q *fakeQuerier) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if strings.HasPrefix(query, "max(timestamp(") { // every sample is fresh
		return analysis.Vector{Samples: []analysis.Sample{{Value: float64(at.Unix())}}}, nil
	}
	if strings.Contains(query, "canary_requests_total") {
		return analysis.Vector{Samples: []analysis.Sample{{Value: q.requests}}}, nil
	}
	return analysis.Vector{Samples: []analysis.Sample{{Value: q.ratio}}}, nil
}

func (q *fakeQuerier) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, errors.New("not used")
}

func testPlan() Plan {
	maxRatio := 0.05
	return Plan{
		Steps: []PlanStep{WeightStep(10), AnalysisFor(time.Minute), WeightStep(50), AnalysisFor(time.Minute)},
		Analysis: Analysis{Interval: model.Duration(10 * time.Second), Judges: []analysis.Spec{{Judge: &analysis.ThresholdSpec{
			CommonSpec: analysis.CommonSpec{Name: "error-ratio", Interval: model.Duration(10 * time.Second)},
			Query:      `sum(rate(errors_total{version="{{.version}}"}[1m]))`, Max: &maxRatio, FailureLimit: 1,
		}}}},
	}
}

type harness struct {
	t       *testing.T
	router  *fakeRouter
	q       *fakeQuerier
	db      *store.DB
	reg     *prometheus.Registry
	m       *Manager
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

func startHarness(t *testing.T, path string, router *fakeRouter, q *fakeQuerier, plan Plan) *harness {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}
	m, err := NewManager(Options{Router: router, Querier: q, Store: db, Metrics: NewMetrics(reg),
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, []ServiceConfig{{Service: svc, Plan: plan}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, router: router, q: q, db: db, reg: reg, m: m, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(h.done); _ = m.Run(ctx) }()
	t.Cleanup(h.stop)
	synctest.Wait()
	if !m.Ready() {
		t.Fatal("manager not ready")
	}
	return h
}

func (h *harness) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	h.cancel()
	<-h.done
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) state() State {
	st, err := h.m.Get("checkout")
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func TestControllerRollsBackABadCanary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, testPlan())
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := h.router.last(); got != "v1@v2 stable 90% / canary 10%" {
			t.Fatalf("after start the router got %q", got)
		}
		h.q.set(0.5) // the canary starts failing
		start := time.Now()
		for h.state().Phase != Aborted && time.Since(start) < 5*time.Minute {
			time.Sleep(time.Second)
			synctest.Wait()
		}
		st := h.state()
		if st.Phase != Aborted || !strings.Contains(st.Reason, "error-ratio fail") {
			t.Fatalf("state %s: %s", st.Phase, st.Reason)
		}
		if got := h.router.last(); got != "v1@v2 stable 100% / canary 0%" {
			t.Fatalf("after rollback the router got %q", got)
		}
		// Two failed looks 10 s apart (failure limit 1).
		if took := time.Since(start); took > 21*time.Second {
			t.Fatalf("rollback took %s", took)
		}
		hist, err := h.m.History("checkout", 0)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range hist {
			types = append(types, string(e.Type))
		}
		want := "created started step applied step analysis rollback applied aborted"
		if strings.Join(types, " ") != want {
			t.Fatalf("history %v, want %s", types, want)
		}
		if err := testutil.GatherAndCompare(h.reg, strings.NewReader(`
# HELP vane_rollout_canary_weight Percentage of requests the rollout sends to the canary.
# TYPE vane_rollout_canary_weight gauge
vane_rollout_canary_weight{rollout="checkout"} 0
`), "vane_rollout_canary_weight"); err != nil {
			t.Fatal(err)
		}
		if v := testutil.ToFloat64(h.m.o.Metrics.phase.WithLabelValues("checkout", "Aborted")); v != 1 {
			t.Fatalf("vane_rollout_phase{phase=Aborted} = %g", v)
		}
		if v := testutil.ToFloat64(h.m.o.Metrics.verdicts.WithLabelValues("checkout", "fail")); v != 1 {
			t.Fatalf("fail verdicts = %g", v)
		}
	})
}

func TestControllerPromotesAGoodCanary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, testPlan())
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		st := h.state()
		if st.Phase != Succeeded || st.Service.Stable.Version != "v2" {
			t.Fatalf("state %s stable %s: %s", st.Phase, st.Service.Stable.Version, st.Reason)
		}
		h.router.mu.Lock()
		got := strings.Join(h.router.applied, "\n")
		h.router.mu.Unlock()
		want := strings.Join([]string{"v1@ stable 100% / canary 0%", "v1@v2 stable 90% / canary 10%", "v1@v2 stable 50% / canary 50%",
			"v1@v2 stable 0% / canary 100%", "v2@v2 stable 0% / canary 100%", "v2@v2 stable 100% / canary 0%",
			"v2@ stable 100% / canary 0%"}, "\n")
		if got != want {
			t.Fatalf("router saw:\n%s\nwant:\n%s", got, want)
		}
		// A second rollout starts from the promoted version; aborting it
		// goes back to that version, also after a restart.
		st, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v3", Endpoints: []string{"10.0.0.3:80"}})
		if err != nil || st.Original.Stable.Version != "v2" {
			t.Fatalf("second start: %v (stable %s)", err, st.Original.Stable.Version)
		}
		synctest.Wait()
		if st, err := h.m.Command(t.Context(), "checkout", CmdAbort); err != nil || st.Phase != Aborted {
			t.Fatalf("abort: %v %s", err, st.Phase)
		}
		if got := h.router.last(); got != "v2@v3 stable 100% / canary 0%" {
			t.Fatalf("after the abort the router got %q", got)
		}
		path := h.db.Path()
		h.stop()
		r2 := &fakeRouter{}
		h2 := startHarness(t, path, r2, &fakeQuerier{}, testPlan())
		r2.mu.Lock()
		first := r2.applied[0]
		r2.mu.Unlock()
		if first != "v2@v3 stable 100% / canary 0%" {
			t.Fatalf("after a restart the service serves %q, not the promoted v2", first)
		}
		st, err = h2.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v4", Endpoints: []string{"10.0.0.4:80"}})
		if err != nil || st.Original.Stable.Version != "v2" {
			t.Fatalf("start after restart: %v (stable %s)", err, st.Original.Stable.Version)
		}
		synctest.Wait()
	})
}

func TestControllerRejectsBadStartsWithoutChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, testPlan())
		ctx := t.Context()
		for name, tc := range map[string]struct {
			req  StartRequest
			want error
		}{
			"an unknown service is not found":     {StartRequest{Service: "cart", Version: "v2", Endpoints: []string{"a:1"}}, ErrNotFound},
			"a missing version is invalid":        {StartRequest{Service: "checkout", Endpoints: []string{"a:1"}}, ErrInvalid},
			"a bad endpoint is invalid":           {StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"nope"}}, ErrInvalid},
			"the stable version again is invalid": {StartRequest{Service: "checkout", Version: "v1", Endpoints: []string{"a:1"}}, ErrInvalid},
			"no endpoints is invalid":             {StartRequest{Service: "checkout", Version: "v2"}, ErrInvalid},
		} {
			if _, err := h.m.Start(ctx, tc.req); !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", name, err, tc.want)
			}
		}
		if _, err := h.m.Get("checkout"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a rejected start left a rollout: %v", err)
		}
		// A service whose plan has analyses but no judge (no rollout
		// section in the file) is routed, never rolled out.
		h.stop()
		nj := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, Plan{})
		if _, err := nj.m.Start(ctx, StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); !errors.Is(err, ErrInvalid) ||
			!strings.Contains(err.Error(), "no judge") {
			t.Fatalf("a start without a judge: %v, want ErrInvalid naming the missing judge", err)
		}
		if _, err := nj.m.Get("checkout"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a start without a judge left a rollout: %v", err)
		}
		nj.stop()
		h = startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, testPlan())
		if _, err := h.m.Start(ctx, StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		before := h.state()
		_, err := h.m.Start(ctx, StartRequest{Service: "checkout", Version: "v3", Endpoints: []string{"10.0.0.3:80"}})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("second start: %v, want ErrConflict", err)
		}
		t.Log(err)
		if _, err := h.m.Command(ctx, "checkout", CmdResume); !errors.Is(err, ErrConflict) {
			t.Fatalf("resume while progressing: %v, want ErrConflict", err)
		}
		if after := h.state(); after.Seq != before.Seq || after.Service.Canary.Version != "v2" {
			t.Fatalf("refused requests changed the state: seq %d → %d", before.Seq, after.Seq)
		}
		// Abort returns once weight 0 is applied.
		st, err := h.m.Command(ctx, "checkout", CmdAbort)
		if err != nil || st.Phase != Aborted || h.router.last() != "v1@v2 stable 100% / canary 0%" {
			t.Fatalf("abort: %v %s %q", err, st.Phase, h.router.last())
		}
	})
}

// TestControllerResumesAfterRestart stops a manager mid-step and checks
// that a new one re-publishes the same weight and continues at the same
// step, neither repeating nor skipping it.
func TestControllerResumesAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "vane.db")
		plan := testPlan()
		plan.Steps[3] = PauseFor(0)
		h := startHarness(t, path, &fakeRouter{}, &fakeQuerier{}, plan)
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(75 * time.Second) // past the first analysis: at 50%
		synctest.Wait()
		before := h.state()
		if before.Step != 3 || before.Routing.Weights.Canary != 50 || before.Phase != Paused {
			t.Fatalf("before restart: step %d weight %d", before.Step, before.Routing.Weights.Canary)
		}
		h.stop()

		r2 := &fakeRouter{}
		h2 := startHarness(t, path, r2, &fakeQuerier{}, plan)
		after := h2.state()
		if after.Step != before.Step || after.Routing.String() != before.Routing.String() || !after.AnalysisStarted.Equal(before.AnalysisStarted) {
			t.Fatalf("after restart step %d %s (analysis from %s), before step %d %s (from %s)",
				after.Step, after.Routing, after.AnalysisStarted, before.Step, before.Routing, before.AnalysisStarted)
		}
		r2.mu.Lock()
		first := r2.applied[0]
		r2.mu.Unlock()
		if first != "v1@v2 stable 50% / canary 50%" {
			t.Fatalf("the restarted controller first published %q", first)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if st := h2.state(); st.Phase != Paused || st.Step != 3 {
			t.Fatalf("the resumed rollout moved by itself: %s step %d", st.Phase, st.Step)
		}
		if _, err := h2.m.Command(t.Context(), "checkout", CmdPromote); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := h2.state(); st.Phase != Succeeded {
			t.Fatalf("after resume: %s %s", st.Phase, st.Reason)
		}
	})
}

func TestStateWithNaNEvidenceRoundTrips(t *testing.T) {
	st := NewState(traffic.Service{Name: "a"}, Plan{}, false, time.Unix(0, 0).UTC())
	st.Results = []analysis.Result{{Judge: "j", Verdict: analysis.Inconclusive, Evidence: map[string]float64{"x": math.NaN(), "y": 2}}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if ev := back.Results[0].Evidence; !math.IsNaN(ev["x"]) || ev["y"] != 2 || back.Results[0].Verdict != analysis.Inconclusive {
		t.Fatalf("round trip: %+v", back.Results[0])
	}
}

// TestControllerRetriesARejectedChange checks that a NACKed or timed-out
// change is retried on every tick, with the error shown, and that the
// rollout goes on once the proxies take it; a rollback is retried the same
// way until every proxy ACKed weight 0.
func TestControllerRetriesARejectedChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		router := &fakeRouter{fail: true}
		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), router, &fakeQuerier{}, testPlan())
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Second)
		synctest.Wait()
		st := h.state()
		if st.Phase != Progressing || st.Step != 0 || st.Applied || !strings.Contains(st.ApplyError, "node-1: traffic: change rejected by a node") {
			t.Fatalf("while NACKed: %s step %d applied %t error %q", st.Phase, st.Step, st.Applied, st.ApplyError)
		}
		router.mu.Lock()
		router.fail = false
		router.mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := h.state(); !st.Applied || st.ApplyError != "" || st.Step != 1 {
			t.Fatalf("after the NACKs stopped: step %d applied %t error %q", st.Step, st.Applied, st.ApplyError)
		}
		router.mu.Lock()
		router.fail = true
		router.mu.Unlock()
		h.q.set(0.9) // fail the canary while the proxies reject every change
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if st := h.state(); st.Phase != RollingBack || st.Routing.Weights.Canary != 0 || st.Applied {
			t.Fatalf("rollback while NACKed: %s weight %d applied %t", st.Phase, st.Routing.Weights.Canary, st.Applied)
		}
		router.mu.Lock()
		router.fail = false
		router.mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := h.state(); st.Phase != Aborted || h.router.last() != "v1@v2 stable 100% / canary 0%" {
			t.Fatalf("after the rollback was taken: %s %q", st.Phase, h.router.last())
		}
	})
}

// TestControllerCountsMissedTicks makes every change take longer than two
// evaluation intervals and checks that the skipped intervals are counted.
func TestControllerCountsMissedTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		router := &fakeRouter{}
		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), router, &fakeQuerier{}, testPlan())
		router.mu.Lock()
		router.delay = 25 * time.Second
		router.mu.Unlock()
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		missed := testutil.ToFloat64(h.m.o.Metrics.missedTicks.WithLabelValues("checkout"))
		if missed < 2 {
			t.Fatalf("vane_rollout_missed_ticks_total = %g after 25 s changes on a 10 s interval", missed)
		}
		if n := testutil.CollectAndCount(h.m.o.Metrics.evalDuration); n != 1 {
			t.Fatalf("evaluation duration series: %d", n)
		}
	})
}

// TestControllerMinimumTrafficGuard checks that the controller runs the
// min_traffic query over the time since the analysis started and that a
// passing analysis waits for enough canary requests.
func TestControllerMinimumTrafficGuard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plan := testPlan()
		plan.MinTraffic = MinTraffic{Requests: 100, Query: `sum(increase(canary_requests_total{service="{{.service}}",version="{{.version}}"}[{{.window}}]))`}
		q := &fakeQuerier{requests: 10}
		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, q, plan)
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(75 * time.Second)
		synctest.Wait()
		st := h.state()
		if st.Step != 1 || !strings.Contains(st.Reason, "the canary served 10 requests, fewer than the minimum of 100") {
			t.Fatalf("with too little traffic: step %d %q", st.Step, st.Reason)
		}
		q.mu.Lock()
		q.requests = 500
		q.mu.Unlock()
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if st := h.state(); st.Step < 2 {
			t.Fatalf("with enough traffic: step %d %q", st.Step, st.Reason)
		}
	})
}

// TestControllerErrorBudgetGate checks the gate through the controller: a
// start waits while the budget is below the floor, goes on once it is
// back, and --force skips it.
func TestControllerErrorBudgetGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "vane.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var mu sync.Mutex
		budget := 0.1
		read := func(ctx context.Context, slo string, now time.Time) (float64, error) {
			mu.Lock()
			defer mu.Unlock()
			if slo != "checkout-availability" {
				return 0, fmt.Errorf("no SLO %q", slo)
			}
			return budget, nil
		}
		plan := Plan{Steps: []PlanStep{WeightStep(20), PauseFor(0)}, BudgetGate: BudgetGate{SLO: "checkout-availability", Floor: 0.25}}
		svcs := []ServiceConfig{
			{Service: traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}, Plan: plan},
			{Service: traffic.Service{Name: "cart", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.1.1:80"}}}, Plan: plan},
		}
		m, err := NewManager(Options{Router: &fakeRouter{}, Store: db, Budget: read}, svcs)
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := runManager(t, m)
		defer stop()
		if _, err := m.Start(ctx, StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Start(ctx, StartRequest{Service: "cart", Version: "v2", Endpoints: []string{"10.0.1.2:80"}, Force: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if st, _ := m.Get("checkout"); st.Phase != Pending || !strings.Contains(st.Reason, "10.0% of its error budget left, below the floor of 25.0%") {
			t.Fatalf("gated start: %s %q", st.Phase, st.Reason)
		}
		if st, _ := m.Get("cart"); st.Phase != Paused || st.Routing.Weights.Canary != 20 {
			t.Fatalf("forced start: %s at %d%%", st.Phase, st.Routing.Weights.Canary)
		}
		mu.Lock()
		budget = 0.6
		mu.Unlock()
		time.Sleep(16 * time.Second)
		synctest.Wait()
		if st, _ := m.Get("checkout"); st.Phase != Paused || st.Routing.Weights.Canary != 20 {
			t.Fatalf("after the budget recovered: %s at %d%%: %q", st.Phase, st.Routing.Weights.Canary, st.Reason)
		}
	})
}

// A timed pause ends when its duration ends, not on the next look; a
// gated plan leaves its pause with a full budget (no flip-flop between
// Paused and Progressing); a frozen rollout records one blocked event
// however often its budget percentage changes.
func TestControllerTimedPauseAndGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "vane.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var mu sync.Mutex
		budgets := map[string]float64{"checkout-availability": 1, "cart-availability": 0.1}
		read := func(ctx context.Context, slo string, now time.Time) (float64, error) {
			mu.Lock()
			defer mu.Unlock()
			b := budgets[slo]
			if slo == "cart-availability" {
				budgets[slo] -= 0.001 // the live percentage changes on every read
			}
			return b, nil
		}
		plan := func(slo string) Plan {
			return Plan{Steps: []PlanStep{WeightStep(20), PauseFor(10 * time.Second), WeightStep(50), PauseFor(0)},
				BudgetGate: BudgetGate{SLO: slo, Floor: 0.25}}
		}
		svcs := []ServiceConfig{
			{Service: traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}, Plan: plan("checkout-availability")},
			{Service: traffic.Service{Name: "cart", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.1.1:80"}}}, Plan: plan("cart-availability")},
		}
		svcs[1].Plan.Webhooks.Notify = &Webhook{URL: "http://hooks/notify"}
		hooks := &recordingHooks{}
		m, err := NewManager(Options{Router: &fakeRouter{}, Store: db, Budget: read, Hooks: hooks}, svcs)
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := runManager(t, m)
		defer stop()
		for _, svc := range []string{"checkout", "cart"} {
			if _, err := m.Start(ctx, StartRequest{Service: svc, Version: "v2", Endpoints: []string{"10.0.9.2:80"}}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if st, _ := m.Get("checkout"); st.Phase != Paused || st.Routing.Weights.Canary != 20 {
			t.Fatalf("at the pause: %s at %d%%: %q", st.Phase, st.Routing.Weights.Canary, st.Reason)
		}
		time.Sleep(10*time.Second + 10*time.Millisecond) // the look interval is 15s
		synctest.Wait()
		if st, _ := m.Get("checkout"); st.Step != 3 || st.Routing.Weights.Canary != 50 {
			t.Fatalf("10s after a 10s pause began: step %d at %d%% (%s): %q", st.Step+1, st.Routing.Weights.Canary, st.Phase, st.Reason)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if st, _ := m.Get("checkout"); st.Step != 3 || st.Phase != Paused {
			t.Fatalf("a minute later: step %d %s: %q", st.Step+1, st.Phase, st.Reason)
		}
		st, _ := m.Get("cart")
		evs, err := m.History("cart", 100)
		if err != nil {
			t.Fatal(err)
		}
		blocked := 0
		for _, e := range evs {
			if e.Type == EvBlocked {
				blocked++
			}
		}
		if st.Phase != Pending || blocked != 1 || st.Blocked != BlockBudgetLow {
			t.Fatalf("frozen rollout: %s with %d blocked events (cause %q): %q", st.Phase, blocked, st.Blocked, st.Reason)
		}
		hooks.mu.Lock()
		defer hooks.mu.Unlock()
		if n := slices.Index(hooks.calls, "notify:blocked"); n < 0 || slices.Contains(hooks.calls[n+1:], "notify:blocked") {
			t.Fatalf("notifications of the frozen rollout: %v, want one blocked", hooks.calls)
		}
	})
}
