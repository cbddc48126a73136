package canary

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/bench/promstore"
	"github.com/vaneproj/vane/sim"
)

// Every judge but the oracles reads a run through Prometheus's own engine:
// the run's scrapes go into a real TSDB (bench/promstore), Vane's judge is
// the product's analysis.Check querying it, and the peers' values are their
// documented PromQL evaluated by promql.Engine. No PromQL is re-implemented
// here.

// Label values of the simulated service's series (each run's service is
// svcName-<seed>).
const (
	svcName       = "svc"
	canaryVersion = "canary"
	stableVersion = "stable"
)

// engineStart is the virtual clock's time zero in the TSDB.
var engineStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// runData is one simulated run: its scrapes (the oracles read the true
// counters) and the TSDB holding them, queried through q.
type runData struct {
	s     []sim.Scrape
	q     *evaluator
	start time.Time
	// svc is the run's service label value.
	svc string
}

// at returns the scrape at virtual time t (a multiple of the scrape
// interval), or zero counters at t ≤ 0.
func (x *runData) at(t time.Duration) sim.Scrape {
	i := int(t/scrape) - 1
	if i < 0 {
		return sim.Scrape{}
	}
	return x.s[min(i, len(x.s)-1)]
}

// evaluator is an analysis.Querier over one run's TSDB that evaluates each
// distinct query once, as a range query from the run's start to its
// horizon at the scrape interval, and answers instant queries at those
// steps from it. Prometheus evaluates a range query as independent instant
// queries at each step (the engine's rangeEval), so the answers are those
// of instant queries (TestEvaluatorAnswersAsInstantQueries checks it); an
// instant query off the grid goes to the engine as it is. The whole run is
// in the TSDB before any judge looks, but an instant query at t reads no
// sample after t, so no judge sees the future (TestVaneJudgeIsTheCheckLive
// replays the product's looks as the scrapes arrive).
type evaluator struct {
	store   *promstore.Store
	start   time.Time
	steps   int
	cache   map[string][]analysis.Vector
	queries int // engine evaluations, for the benchmark's cost
}

func newEvaluator(store *promstore.Store, start time.Time, horizon time.Duration) *evaluator {
	return &evaluator{store: store, start: start, steps: int(horizon / scrape), cache: map[string][]analysis.Vector{}}
}

// Query implements analysis.Querier.
func (e *evaluator) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	off := at.Sub(e.start)
	if off < 0 || off%scrape != 0 || int(off/scrape) > e.steps {
		e.queries++
		return e.store.Query(ctx, query, at)
	}
	vs, ok := e.cache[query]
	if !ok {
		e.queries++
		m, err := e.store.QueryRange(ctx, query, e.start, e.start.Add(time.Duration(e.steps)*scrape), scrape)
		if err != nil {
			return analysis.Vector{}, err
		}
		vs = make([]analysis.Vector, e.steps+1)
		for _, sr := range m.Series {
			for _, p := range sr.Points {
				i := int(p.T.Sub(e.start) / scrape)
				if i >= 0 && i <= e.steps {
					vs[i].Samples = append(vs[i].Samples, analysis.Sample{Labels: sr.Labels, Value: p.V})
				}
			}
		}
		e.cache[query] = vs
	}
	return vs[int(off/scrape)], nil
}

// QueryRange implements analysis.Querier with the engine.
func (e *evaluator) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	e.queries++
	return e.store.QueryRange(ctx, query, start, end, step)
}

// value is query's single value at virtual time t, NaN when the result is
// empty (no series); errored says it was.
func (e *evaluator) value(query string, t time.Duration) (v float64, errored bool) {
	vec, err := e.Query(context.Background(), query, e.start.Add(t))
	if err != nil || len(vec.Samples) != 1 {
		return math.NaN(), true
	}
	return vec.Samples[0].Value, false
}

// cellStore is one TSDB for a cell's runs, each run under its own service
// label (promstore.Store.WithService).
type cellStore struct {
	dir   string
	store *promstore.Store
}

func openCellStore() (*cellStore, error) {
	dir, err := os.MkdirTemp("", "vane-bench-canary-")
	if err != nil {
		return nil, fmt.Errorf("bench canary: %w", err)
	}
	store, err := promstore.Open(dir, promstore.Options{Start: engineStart, Service: svcName, Canary: canaryVersion, Stable: stableVersion})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &cellStore{dir: dir, store: store}, nil
}

// Close closes the TSDB and removes its directory.
func (cs *cellStore) Close() error {
	err := cs.store.Close()
	if rerr := os.RemoveAll(cs.dir); err == nil {
		err = rerr
	}
	return err
}

// simulate runs the cell's World for one seed over the horizon into cs
// under the service svc-<seed>, reusing s's storage for the scrapes.
func (cs *cellStore) simulate(c Cell, seed uint64, horizon time.Duration, s []sim.Scrape) (*runData, error) {
	w, err := sim.New(c.simConfig(seed))
	if err != nil {
		return nil, err
	}
	svc := fmt.Sprintf("%s-%d", svcName, seed)
	store, err := cs.store.WithService(svc)
	if err != nil {
		return nil, err
	}
	s = s[:0]
	for w.Now() < horizon {
		sc := w.Step()
		s = append(s, sc)
		if err := store.Append(sc); err != nil {
			return nil, err
		}
	}
	return &runData{s: s, q: newEvaluator(store, engineStart, horizon), start: engineStart, svc: svc}, nil
}
