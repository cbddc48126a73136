package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

// fencedStore refuses every write with store.ErrFenced once deposed is
// set, as the etcd store does for a replica that no longer leads.
type fencedStore struct {
	*store.DB
	deposed atomic.Bool
}

func (f *fencedStore) Save(kind, name string, state any, events ...any) error {
	if f.deposed.Load() {
		return fmt.Errorf("store: save %s %q: %w", kind, name, store.ErrFenced)
	}
	return f.DB.Save(kind, name, state, events...)
}

// TestDeposedLeaderDoesNotRollBack: a rollback decided by a replica that
// no longer leads is refused by the store, and the replica then moves no
// weight (a plain store error still rolls back: safety first).
func TestDeposedLeaderDoesNotRollBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "vane.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fs := &fencedStore{DB: db}
		router, q := &fakeRouter{}, &fakeQuerier{}
		svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}
		m, err := NewManager(Options{Router: router, Querier: q, Store: fs, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))},
			[]ServiceConfig{{Service: svc, Plan: testPlan()}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = m.Run(ctx) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()
		if _, err := m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := router.last(); got != "v1@v2 stable 90% / canary 10%" {
			t.Fatalf("after start the router got %q", got)
		}
		fs.deposed.Store(true)
		q.set(0.5) // the canary fails: the deposed replica would roll back
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := router.last(); got != "v1@v2 stable 90% / canary 10%" {
			t.Fatalf("a deposed leader moved the weight: the router got %q", got)
		}
		st, err := m.Get("checkout")
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase != Progressing || !strings.Contains(fmt.Sprint(st.Routing), "canary 10%") {
			t.Fatalf("the deposed leader's state moved on: %s %s", st.Phase, st.Routing)
		}
	})
}

// TestFollowPublishesTheLeadersRouting: a follower's Manager publishes
// what the leader stored — each change once, on a signal — and is ready
// once it has; it never steps the rollout.
func TestFollowPublishesTheLeadersRouting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "vane.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}
		cfg := []ServiceConfig{{Service: svc, Plan: testPlan()}}
		leaderRouter, followerRouter := &fakeRouter{}, &fakeRouter{}
		leader, err := NewManager(Options{Router: leaderRouter, Querier: &fakeQuerier{}, Store: db}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		follower, err := NewManager(Options{Router: followerRouter, Querier: &fakeQuerier{}, Store: db}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		fctx, stopFollowing := context.WithCancel(context.Background())
		changed := make(chan struct{}, 1)
		followed := make(chan struct{})
		go func() { defer close(followed); _ = follower.Follow(fctx, changed, time.Hour) }()
		defer func() { stopFollowing(); <-followed }()
		synctest.Wait()
		if got := followerRouter.last(); got != "v1@ stable 100% / canary 0%" || !follower.Ready() {
			t.Fatalf("before any rollout the follower published %q (ready %t)", got, follower.Ready())
		}

		lctx, stopLeading := context.WithCancel(context.Background())
		led := make(chan struct{})
		go func() { defer close(led); _ = leader.Run(lctx) }()
		defer func() { stopLeading(); <-led }()
		synctest.Wait()
		if _, err := leader.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		changed <- struct{}{}
		synctest.Wait()
		if got := followerRouter.last(); got != "v1@v2 stable 90% / canary 10%" {
			t.Fatalf("the follower published %q, the leader %q", got, leaderRouter.last())
		}
		n := len(followerRouter.applied)
		changed <- struct{}{} // nothing changed: nothing published
		synctest.Wait()
		if len(followerRouter.applied) != n {
			t.Fatalf("the follower published the same routing again: %v", followerRouter.applied)
		}
		if st, err := follower.Get("checkout"); err != nil || st.Routing.Weights.Canary != 10 {
			t.Fatalf("the follower's view: %+v, %v", st.Routing, err)
		}
	})
}
