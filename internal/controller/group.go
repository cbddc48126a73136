package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oklog/run"
)

// component is one running part of the controller.
type component struct {
	name string
	run  func(ctx context.Context) error

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returned
	err    error         // run's result, once done is closed
}

// group runs the controller's components with an oklog/run group (as
// Prometheus's cmd/prometheus/main.go does): they start in the order they
// were added, and when ctx ends or any of them returns, all are stopped in
// the reverse order, each waited for, within one shutdown budget.
//
// A component's context does not derive from Run's: it ends only when the
// stop sequence reaches that component, so a later component (the API, say)
// is stopped before the earlier ones it uses (the store, Prometheus).
type group struct {
	log    *slog.Logger
	budget time.Duration
	comps  []*component
}

// add appends a component; it starts when run does.
func (g *group) add(name string, fn func(ctx context.Context) error) {
	g.comps = append(g.comps, &component{name: name, run: fn, done: make(chan struct{})})
}

// run starts every component and blocks until ctx ends or one of them
// returns, then stops them all. It returns the failed component's error
// (a component that returns while ctx lasts has failed, even with a nil
// error) joined with the errors of the stop sequence.
func (g *group) run(ctx context.Context) error {
	var (
		rg       run.Group
		stopping = make(chan struct{}) // closed when the stop sequence starts
		abandon  = make(chan struct{}) // closed when it ended
		mu       sync.Mutex
		failed   *component
		stopErr  error
		took     time.Duration
	)
	// The stop sequence runs once, from the first interrupt: run.Group
	// calls the interrupts one after the other, so the later calls find it
	// done.
	stop := sync.OnceFunc(func() {
		close(stopping)
		mu.Lock()
		f := failed
		mu.Unlock()
		if f != nil {
			g.log.Error("Component stopped; shutting down", "component", f.name, "err", f.err)
		} else {
			g.log.Info("Shutting down", "budget", g.budget)
		}
		start := time.Now()
		stopErr = g.stop(start.Add(g.budget), f)
		took = time.Since(start)
		// A component that did not stop within the budget is left behind
		// rather than holding the process.
		close(abandon)
	})

	// The first actor ends the group when ctx ends.
	rg.Add(func() error {
		select {
		case <-ctx.Done():
		case <-stopping:
		}
		return nil
	}, func(error) { stop() })

	for _, c := range g.comps {
		c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
		rg.Add(func() error {
			go func() {
				defer close(c.done)
				c.err = c.run(c.ctx)
			}()
			select {
			case <-c.done:
			case <-abandon:
				return nil
			}
			select {
			case <-stopping:
			default:
				mu.Lock()
				if failed == nil {
					failed = c
				}
				mu.Unlock()
			}
			return c.err
		}, func(error) { stop() })
	}
	_ = rg.Run()
	g.log.Info("Stopped", "took", took.Round(time.Millisecond))
	if failed != nil {
		err := failed.err
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		return errors.Join(fmt.Errorf("%s: %w", failed.name, err), stopErr)
	}
	return stopErr
}

// stop ends every component, last started first, within the deadline;
// failed, which stopped by itself, has its error reported by run.
func (g *group) stop(deadline time.Time, failed *component) error {
	var errs []error
	for i := len(g.comps) - 1; i >= 0; i-- {
		c := g.comps[i]
		if c.cancel == nil {
			continue // never started
		}
		start := time.Now()
		c.cancel()
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-c.done:
			if c.err != nil && c != failed {
				errs = append(errs, fmt.Errorf("%s: %w", c.name, c.err))
			}
			g.log.Debug("Stopped", "component", c.name, "took", time.Since(start))
		case <-t.C:
			errs = append(errs, fmt.Errorf("%s did not stop within the shutdown budget of %s", c.name, g.budget))
		}
		t.Stop()
	}
	return errors.Join(errs...)
}
