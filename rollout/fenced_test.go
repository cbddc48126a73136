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
