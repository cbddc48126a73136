package controller

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder notes the order in which components start and stop.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// until is a component that runs until its context ends; each one waits
// for the previous one to have started, and its stop waits for the later
// ones to have stopped (checked by the test through the order noted).
func until(r *recorder, name string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		r.note("start " + name)
		<-ctx.Done()
		r.note("stop " + name)
		return nil
	}
}

func newTestGroup(t *testing.T) *group {
	return &group{log: slog.New(slog.NewTextHandler(t.Output(), nil)), budget: 10 * time.Second}
}

func TestGroupStopsInReverseOrderWhenTheContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		g := newTestGroup(t)
		for _, n := range []string{"store", "prometheus", "xds", "api"} {
			g.add(n, until(r, n))
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- g.run(ctx) }()
		synctest.Wait()
		starts := r.got()
		if len(starts) != 4 {
			t.Fatalf("started %v, want all four", starts)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("a clean stop returned %v", err)
		}
		want := []string{"stop api", "stop xds", "stop prometheus", "stop store"}
		if got := r.got()[4:]; !slices.Equal(got, want) {
			t.Fatalf("stopped %v, want %v", got, want)
		}
	})
}

func TestGroupAFailingComponentStopsTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		g := newTestGroup(t)
		boom := errors.New("listener closed")
		g.add("store", until(r, "store"))
		g.add("xds", func(ctx context.Context) error {
			r.note("start xds")
			time.Sleep(time.Second)
			r.note("xds failed")
			return boom
		})
		g.add("api", until(r, "api"))
		err := g.run(t.Context()) // the context never ends
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "xds: listener closed") {
			t.Fatalf("run returned %v, want the xds component's error", err)
		}
		if strings.Count(err.Error(), "listener closed") != 1 {
			t.Fatalf("the failure is reported more than once: %v", err)
		}
		got := r.got()
		if i := slices.Index(got, "xds failed"); i < 0 || !slices.Equal(got[i+1:], []string{"stop api", "stop store"}) {
			t.Fatalf("events %v: want api then store stopped after xds failed", got)
		}
	})
}

func TestGroupAComponentReturningNilEarlyIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newTestGroup(t)
		g.add("watcher", func(context.Context) error { return nil })
		g.add("api", until(&recorder{}, "api"))
		if err := g.run(t.Context()); err == nil || !strings.Contains(err.Error(), "watcher: stopped unexpectedly") {
			t.Fatalf("run returned %v", err)
		}
	})
}

func TestGroupLeavesAComponentThatOverrunsTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		g := newTestGroup(t)
		release := make(chan struct{})
		g.add("store", until(r, "store"))
		g.add("stuck", func(ctx context.Context) error {
			<-ctx.Done()
			<-release // ignores its context for a minute
			return nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- g.run(ctx) }()
		synctest.Wait()
		cancel()
		err := <-done
		if err == nil || !strings.Contains(err.Error(), "stuck did not stop within the shutdown budget of 10s") {
			t.Fatalf("run returned %v", err)
		}
		if took := time.Since(start); took != 10*time.Second {
			t.Fatalf("stopping took %v, want the 10s budget", took)
		}
		// The earlier components were still told to stop.
		synctest.Wait()
		if got := r.got(); !slices.Contains(got, "stop store") {
			t.Fatalf("events %v: the store was not stopped", got)
		}
		close(release)
	})
}
