package autoscale

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
)

// Config is one benchmark run: every peer on every trace.
type Config struct {
	Service Service
	Traces  []Trace
	Peers   []Peer
	Seed    uint64
	// Warmup is simulated at the trace's first load before the trace
	// starts, and not scored: Prometheus' windows fill, pods get their
	// first metrics. Zero means 3 minutes.
	Warmup time.Duration
	// Max bounds every policy's replica count (0: 200).
	Max int
	// Workers runs that many simulations at once (0: GOMAXPROCS).
	Workers int
	// Progress, when set, is called after each simulation (from one
	// goroutine at a time).
	Progress func(done, total int, r Result)
}

// Sample is one point of a run's time series, every 15 s.
type Sample struct {
	// T is the time since the trace's start.
	T time.Duration
	// Offered is the trace's load; Replicas the pods asked for; Ready the
	// ready pods.
	Offered         float64
	Replicas, Ready int
}

// Result is one policy's score on one trace.
type Result struct {
	Policy string `json:"policy"`
	Trace  string `json:"trace"`
	// Seed is the run's Config.Seed.
	Seed uint64 `json:"seed"`
	// ViolationMinutes counts the minutes whose share of requests slower
	// than the SLO's threshold (or rejected) exceeds 1 − objective.
	ViolationMinutes int `json:"violation_minutes"`
	// BudgetSpent is bad requests over the budget the trace's requests
	// allow (1 − objective of them): 1 means the whole budget.
	BudgetSpent float64 `json:"budget_spent"`
	// ReplicaHours integrates the pods that exist (starting, ready or
	// draining).
	ReplicaHours float64 `json:"replica_hours"`
	// Actions counts changes of the replica count asked for; Reversals
	// those in the opposite direction of the previous change, within 5
	// minutes of it.
	Actions   int `json:"actions"`
	Reversals int `json:"reversals"`
	// Requests served or rejected, and the bad ones.
	Requests float64 `json:"requests"`
	Bad      float64 `json:"bad"`
	// Series every 15 s and the exact p99 latency of each minute
	// (seconds; NaN without requests), for plots.
	Series []Sample  `json:"-"`
	P99    []float64 `json:"-"`
}

// ReversalWindow is how close two opposite changes must be to count as a
// reversal.
const ReversalWindow = 5 * time.Minute

// Run simulates every peer on every trace; runs are independent and
// seeded by (seed, trace), so every peer sees the same arrivals up to its
// own decisions, and the results repeat exactly. Results come in the
// order of traces, then peers.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := cfg.Service.Validate(); err != nil {
		return nil, fmt.Errorf("bench autoscale: service: %w", err)
	}
	if len(cfg.Traces) == 0 || len(cfg.Peers) == 0 {
		return nil, errors.New("bench autoscale: no traces or no peers")
	}
	for _, t := range cfg.Traces {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("bench autoscale: %w", err)
		}
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 3 * time.Minute
	}
	if cfg.Max == 0 {
		cfg.Max = 200
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct{ ti, pi int }
	n := len(cfg.Traces) * len(cfg.Peers)
	results := make([]Result, n)
	errs := make([]error, n)
	jobs := make(chan job)
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				i := j.ti*len(cfg.Peers) + j.pi
				results[i], errs[i] = simulate(cfg, cfg.Traces[j.ti], uint64(j.ti), cfg.Peers[j.pi])
				mu.Lock()
				done++
				if cfg.Progress != nil {
					cfg.Progress(done, n, results[i])
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for ti := range cfg.Traces {
		for pi := range cfg.Peers {
			select {
			case jobs <- job{ti, pi}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, errors.Join(errs...)
}

// epoch is the simulated clock's origin.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func simulate(cfg Config, tr Trace, traceSeed uint64, peer Peer) (Result, error) {
	warm := cfg.Warmup
	shifted := Trace{Name: tr.Name, Points: []Point{{0, tr.Rate(0)}}, End: tr.Duration() + warm}
	for _, p := range tr.Points {
		shifted.Points = append(shifted.Points, Point{p.T + warm, p.RPS})
	}
	env := Env{Service: cfg.Service, Trace: shifted, Start: epoch, Max: cfg.Max}
	env.Initial = min(cfg.Max, replicasFor(cfg.Service, tr.Rate(0), TargetUtilization))
	if peer.Initial != nil {
		env.Initial = peer.Initial(env)
	}
	pol, err := peer.New(env)
	if err != nil {
		return Result{}, fmt.Errorf("%s on %s: %w", peer.Name, tr.Name, err)
	}
	seed := cfg.Seed*1_000_003 + traceSeed
	p := newPlant(cfg.Service, shifted, seed, epoch)
	for range env.Initial {
		p.addReplica(true)
	}
	period := int(pol.Period() / time.Second)
	if period < 1 || pol.Period()%time.Second != 0 {
		return Result{}, fmt.Errorf("%s: period %v must be whole seconds", peer.Name, pol.Period())
	}
	res := Result{Policy: peer.Name, Trace: tr.Name, Seed: cfg.Seed}
	total := int(shifted.Duration() / time.Second)
	warmS := int(warm / time.Second)
	lastDir, lastAt := 0, -1e9
	existingAtWarm := 0.0
	for s := 0; s < total; s++ {
		if s%15 == 0 {
			p.scrape()
		}
		if s == warmS {
			existingAtWarm = p.existing
		}
		if s%period == 0 {
			obs := p.observe()
			want := min(max(pol.Decide(obs), 1), cfg.Max)
			if want != obs.Spec {
				p.scaleTo(want)
				if s >= warmS {
					res.Actions++
					dir := 1
					if want < obs.Spec {
						dir = -1
					}
					if lastDir != 0 && dir != lastDir && float64(s)-lastAt <= ReversalWindow.Seconds() {
						res.Reversals++
					}
					lastDir, lastAt = dir, float64(s)
				}
			}
		}
		if s >= warmS && (s-warmS)%15 == 0 {
			res.Series = append(res.Series, Sample{T: time.Duration(s-warmS) * time.Second,
				Offered: shifted.Rate(time.Duration(s) * time.Second), Replicas: p.live(), Ready: p.readyCount()})
		}
		p.runSecond()
	}
	res.ReplicaHours = (p.existing - existingAtWarm) / 3600
	bad := 1 - cfg.Service.Objective
	firstMin := warmS / 60
	for i := firstMin; i < total/60 && i < len(p.minutes); i++ {
		m := &p.minutes[i]
		res.Requests += m.total
		res.Bad += m.bad
		if m.total > 0 && m.bad/m.total > bad {
			res.ViolationMinutes++
		}
		res.P99 = append(res.P99, m.quantile(0.99))
	}
	if res.Requests > 0 {
		res.BudgetSpent = res.Bad / (bad * res.Requests)
	}
	if math.IsNaN(res.BudgetSpent) {
		res.BudgetSpent = 0
	}
	return res, nil
}

// observe builds what a policy sees now.
func (p *plant) observe() Observation {
	obs := Observation{Now: p.start.Add(time.Duration(p.now * float64(time.Second))),
		Prom: Prometheus{p: p, now: p.now}, p: p}
	for _, r := range p.replicas {
		if r.gone || r.stopping {
			continue
		}
		pod := Pod{Name: r.name, Ready: r.ready, Created: p.at(r.created)}
		if r.ready {
			pod.ReadySince = p.at(r.readyAt)
			obs.Ready++
			if r.cpuPrevOK >= 2 {
				pod.HasCPU = true
				pod.CPU = (r.cpuPrev[1] - r.cpuPrev[0]) / 15 / float64(p.svc.Workers)
			}
		}
		obs.Pods = append(obs.Pods, pod)
	}
	obs.Spec = len(obs.Pods)
	return obs
}

func (p *plant) at(sec float64) time.Time {
	return p.start.Add(time.Duration(sec * float64(time.Second)))
}
