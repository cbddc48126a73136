package autoscale

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeActuator is a scale target in memory; setFails makes SetScale fail
// that many times; ignore makes it accept without changing the count.
type fakeActuator struct {
	mu       sync.Mutex
	scale    Scale
	sets     []int32
	setFails int
	getFail  bool
}

func (a *fakeActuator) GetScale(ctx context.Context) (Scale, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.getFail {
		return Scale{}, errors.New("connection refused")
	}
	return a.scale, nil
}

func (a *fakeActuator) SetScale(ctx context.Context, n int32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.setFails > 0 {
		a.setFails--
		return errors.New("503 service unavailable")
	}
	a.sets = append(a.sets, n)
	a.scale = Scale{Desired: n, Ready: n}
	return nil
}

func (a *fakeActuator) set(n int32) {
	a.mu.Lock()
	a.scale = Scale{Desired: n, Ready: n}
	a.mu.Unlock()
}

func (a *fakeActuator) current() int32 { a.mu.Lock(); defer a.mu.Unlock(); return a.scale.Desired }

// fakeQuerier answers every query with its value; empty means no data.
type fakeQuerier struct {
	mu    sync.Mutex
	value float64
	empty bool
}

func (q *fakeQuerier) set(v float64, empty bool) {
	q.mu.Lock()
	q.value, q.empty = v, empty
	q.mu.Unlock()
}

func (q *fakeQuerier) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.empty {
		return analysis.Vector{}, nil
	}
	return analysis.Vector{Samples: []analysis.Sample{{Value: q.value}}}, nil
}

func (q *fakeQuerier) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, errors.New("not used")
}

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newController(t *testing.T, db *store.DB, act *fakeActuator, q *fakeQuerier, reg prometheus.Registerer) *Controller {
	t.Helper()
	c, err := New(Options{Spec: qpsSpec(), Actuator: act, Querier: q, Store: db, Metrics: NewMetrics(reg), Backoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestControllerScalesConfirmsAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vane.db")
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t, path)
		act := &fakeActuator{scale: Scale{Desired: 2, Ready: 2}}
		q := &fakeQuerier{value: 800}
		reg := prometheus.NewRegistry()
		c := newController(t, db, act, q, reg)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if got := act.current(); got != 8 {
			t.Fatalf("after 20s: %d replicas, want 8", got)
		}
		// Load falls: nothing for 5 minutes, then down.
		q.set(200, false)
		time.Sleep(4 * time.Minute)
		synctest.Wait()
		if got := act.current(); got != 8 {
			t.Fatalf("scaled down inside the window: %d", got)
		}
		cancel()
		<-done
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		// A restart keeps the window: no burst of scale-downs.
		db = openStore(t, path)
		defer db.Close()
		c = newController(t, db, act, q, nil)
		ctx, cancel = context.WithCancel(t.Context())
		go func() { done <- c.Run(ctx) }()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := act.current(); got != 8 {
			t.Fatalf("restart scaled down at once: %d", got)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := act.current(); got != 2 {
			t.Fatalf("after the window: %d, want 2", got)
		}
		st := c.Status()
		cancel()
		<-done
		if st.Current != 2 || len(st.Recommendations) != 1 || st.Recommendations[0].Recommender != "hpa" {
			t.Fatalf("status %+v", st)
		}
		var types []string
		for _, e := range st.Recent {
			types = append(types, e.Type)
			// Each scale event explains every recommender's proposal.
			if e.Type == "scaled" && (len(e.Recommendations) != 1 || e.Recommendations[0].Recommender != "hpa" ||
				e.Recommendations[0].Replicas < 2 || !strings.Contains(e.Recommendations[0].Reason, "per replica")) {
				t.Fatalf("scaled event without the recommenders' explanation: %+v", e)
			}
		}
		if !strings.Contains(strings.Join(types, ","), "scaled") {
			t.Fatalf("events %v", types)
		}
		if n := testutil.ToFloat64(c.o.Metrics.actions.WithLabelValues("checkout", "down")); n != 1 {
			t.Fatalf("down actions %v", n)
		}
	})
}

func TestControllerHoldsOnNoDataAndRetriesTheActuator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t, filepath.Join(t.TempDir(), "vane.db"))
		defer db.Close()
		act := &fakeActuator{scale: Scale{Desired: 6, Ready: 6}}
		q := &fakeQuerier{empty: true}
		reg := prometheus.NewRegistry()
		c := newController(t, db, act, q, reg)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(10*time.Minute + time.Second)
		synctest.Wait()
		if got := act.current(); got != 6 || len(act.sets) != 0 {
			t.Fatalf("acted blind: %d %v", got, act.sets)
		}
		if s := c.Status(); s.Last == nil || s.Last.Action != ActionHold || !strings.Contains(s.Last.Reason, "no data") {
			t.Fatalf("status %+v", s.Last)
		}
		// The actuator fails twice, then works: retried with backoff.
		act.mu.Lock()
		act.setFails = 2
		act.mu.Unlock()
		q.set(1200, false)
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if got := act.current(); got != 12 {
			t.Fatalf("after retries: %d %+v", got, c.Status())
		}
		if n := testutil.ToFloat64(c.o.Metrics.actuatorErrors.WithLabelValues("checkout")); n != 2 {
			t.Fatalf("actuator errors %v", n)
		}
		// Unreachable actuator: hold, error in status.
		act.mu.Lock()
		act.getFail = true
		act.mu.Unlock()
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if s := c.Status(); !strings.Contains(s.Error, "connection refused") || s.Last.Action != ActionHold {
			t.Fatalf("status %+v", s)
		}
		cancel()
		<-done
	})
}

func TestControllerFightPauseResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t, filepath.Join(t.TempDir(), "vane.db"))
		defer db.Close()
		act := &fakeActuator{scale: Scale{Desired: 4, Ready: 4}}
		q := &fakeQuerier{value: 400}
		var events []Event
		var mu sync.Mutex
		c, err := New(Options{Spec: qpsSpec(), Actuator: act, Querier: q, Store: db, OnEvent: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		act.set(9) // someone else scales
		q.set(2000, false)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if got := act.current(); got != 9 {
			t.Fatalf("fought: %d", got)
		}
		if s := c.Status(); !strings.Contains(s.Fight, "from 4 to 9") {
			t.Fatalf("status %+v", s)
		}
		if err := c.Resume(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if got := act.current(); got != 18 {
			t.Fatalf("after resume: %d", got)
		}
		if err := c.Pause("incident"); err != nil {
			t.Fatal(err)
		}
		if err := c.Pause("again"); !errors.Is(err, ErrConflict) {
			t.Fatalf("second pause: %v", err)
		}
		q.set(100, false)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := act.current(); got != 18 {
			t.Fatalf("scaled while paused: %d", got)
		}
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		got := strings.Join(types, ",")
		for _, want := range []string{"fight", "resumed", "scaled", "paused"} {
			if !strings.Contains(got, want) {
				t.Errorf("events %s lack %s", got, want)
			}
		}
	})
}

// ageQuerier answers the freshness query with age and the others with value.
type ageQuerier struct {
	fakeQuerier
	age float64
}

func (q *ageQuerier) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	if strings.HasPrefix(query, "time()") {
		return analysis.Vector{Samples: []analysis.Sample{{Value: q.age}}}, nil
	}
	return q.fakeQuerier.Query(ctx, query, at)
}

func TestControllerHoldsOnStaleData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := openStore(t, filepath.Join(t.TempDir(), "vane.db"))
		defer db.Close()
		act := &fakeActuator{scale: Scale{Desired: 6, Ready: 6}}
		q := &ageQuerier{fakeQuerier: fakeQuerier{value: 100}, age: 600}
		spec := qpsSpec()
		spec.FreshnessQuery = "time() - max(timestamp(requests_total))"
		c, err := New(Options{Spec: spec, Actuator: act, Querier: q, Store: db})
		if err != nil {
			t.Fatal(err)
		}
		s := runFor(t, c, 10*time.Minute)
		if act.current() != 6 || s.Last.Action != ActionHold || !strings.Contains(s.Last.Reason, "stale data: read 10m ago") {
			t.Fatalf("%d %+v", act.current(), s.Last)
		}
		if len(s.Decisions) != 20 {
			t.Fatalf("%d decisions kept", len(s.Decisions))
		}
	})
}

// multiQuerier answers with one sample per value.
type multiQuerier []float64

func (q multiQuerier) Query(context.Context, string, time.Time) (analysis.Vector, error) {
	var v analysis.Vector
	for i, x := range q {
		v.Samples = append(v.Samples, analysis.Sample{Labels: map[string]string{"pod": fmt.Sprint("p", i)}, Value: x})
	}
	return v, nil
}

func (q multiQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, nil
}

// How query results become the hpa recommender's inputs.
func TestControllerReadsMetricsAsTheHPADoes(t *testing.T) {
	tests := map[string]struct {
		q      multiQuerier
		target MetricTarget
		scale  Scale
		want   int32
	}{
		"one Value series counts ready replicas":          {multiQuerier{300}, MetricTarget{Value, 100}, Scale{4, 2}, 6},
		"one AverageValue series is a total":              {multiQuerier{300}, MetricTarget{AverageValue, 100}, Scale{4, 4}, 3},
		"one Utilization series is the ready average":     {multiQuerier{140}, MetricTarget{Utilization, 70}, Scale{4, 4}, 8},
		"per-pod series with a missing pod on a scale-up": {multiQuerier{300, 300, 300}, MetricTarget{AverageValue, 100}, Scale{4, 4}, 9},
		"per-pod series with pending pods on a scale-up":  {multiQuerier{300, 300}, MetricTarget{AverageValue, 100}, Scale{4, 2}, 6},
		"per-pod series with a missing pod on scale-down": {multiQuerier{20, 20, 20}, MetricTarget{AverageValue, 100}, Scale{4, 4}, 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			db := openStore(t, filepath.Join(t.TempDir(), "vane.db"))
			defer db.Close()
			spec := Spec{Name: "x", Min: 1, Max: 100, Metrics: []MetricSpec{{Name: "m", Query: "q", Target: tc.target}}}
			c, err := New(Options{Spec: spec, Actuator: &fakeActuator{}, Querier: tc.q, Store: db})
			if err != nil {
				t.Fatal(err)
			}
			mi := c.metric(t.Context(), c.spec.Metrics[0], tc.scale, time.Now())
			rec, per := RecommendHPA(HPAInput{Current: tc.scale.Desired, Ready: tc.scale.Ready, Metrics: []MetricInput{mi}})
			if rec.Replicas != tc.want {
				t.Fatalf("got %d (%s; %+v), want %d", rec.Replicas, rec.Reason, per, tc.want)
			}
		})
	}
}

// queryValues answers each query with its own value (NaN allowed, as a
// ratio of rates over a window without requests is).
type queryValues struct {
	mu sync.Mutex
	v  map[string]float64
}

func (q *queryValues) set(query string, v float64) {
	q.mu.Lock()
	q.v[query] = v
	q.mu.Unlock()
}

func (q *queryValues) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.v[query]
	if !ok {
		return analysis.Vector{}, nil
	}
	return analysis.Vector{Samples: []analysis.Sample{{Value: v}}}, nil
}

func (q *queryValues) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, errors.New("not used")
}

// TestControllerScalesDownAnIdleService: when the traffic stops, the
// queue model's mean latency is 0/0 (NaN). With the throughput a valid 0
// that is no load, not blindness: the service goes down to min. With
// requests arriving and none completing (a stuck service), the NaN still
// holds scale-down.
func TestControllerScalesDownAnIdleService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, stuck := range []bool{false, true} {
			db := openStore(t, filepath.Join(t.TempDir(), "vane.db"))
			defer db.Close()
			act := &fakeActuator{scale: Scale{Desired: 5, Ready: 5}}
			q := &queryValues{v: map[string]float64{"thr": 0, "lat": math.NaN()}}
			spec := Spec{Name: "checkout", Min: 1, Max: 10, Behavior: &Behavior{},
				Queue:        &QueueSpec{Percentile: 0.99, Threshold: 300 * time.Millisecond},
				QueueQueries: &QueueQueries{Throughput: "thr", Latency: "lat", Arrivals: "arr"}}.WithDefaults()
			q.set("arr", 0)
			if stuck {
				q.set("arr", 40)
			}
			c, err := New(Options{Spec: spec, Actuator: act, Querier: q, Store: db, Metrics: NewMetrics(prometheus.NewRegistry())})
			if err != nil {
				t.Fatal(err)
			}
			st := runFor(t, c, 6*time.Minute)
			switch got := act.current(); {
			case !stuck && got != 1:
				t.Fatalf("an idle service: %d replicas after 6m, want 1; last %+v", got, st.Last)
			case stuck && got != 5:
				t.Fatalf("a stuck service (arrivals, no throughput): %d replicas, want 5 held; last %+v", got, st.Last)
			case stuck && !strings.Contains(st.Last.Reason, "NaN"):
				t.Fatalf("a stuck service's hold does not name the NaN: %+v", st.Last)
			}
		}
	})
}

// runFor runs c for d of the bubble's clock and returns its status then.
func runFor(t *testing.T, c *Controller, d time.Duration) Status {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(d)
	synctest.Wait()
	s := c.Status()
	cancel()
	<-done
	return s
}
