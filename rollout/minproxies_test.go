package rollout

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

// proxiesRouter ACKs every change with the nodes connected at the time.
type proxiesRouter struct {
	mu    sync.Mutex
	nodes []string
}

func (r *proxiesRouter) Apply(ctx context.Context, svc traffic.Service, rt traffic.Routing) (traffic.Applied, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return traffic.Applied{Version: "1", Acked: append([]string(nil), r.nodes...)}, nil
}

// TestNoProxyMeansWaitingNotApplied checks that, with min_proxies 1 and no
// proxy connected, a rollout's first weight does not count as applied: the
// state and the events say "waiting for a proxy", the metric is 1, and no
// analysis starts until a proxy ACKs.
func TestNoProxyMeansWaitingNotApplied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "vane.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		router := &proxiesRouter{}
		reg := prometheus.NewRegistry()
		svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}
		m, err := NewManager(Options{Router: router, Querier: &fakeQuerier{}, Store: db, Metrics: NewMetrics(reg), MinProxies: 1,
			Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}, []ServiceConfig{{Service: svc, Plan: testPlan()}})
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
		time.Sleep(time.Minute) // six ticks
		synctest.Wait()
		st, _ := m.Get("checkout")
		if st.Applied || !strings.Contains(st.ApplyError, "waiting for a proxy: 0 of the 1 proxies needed") || !st.AnalysisStarted.IsZero() {
			t.Fatalf("with no proxy: applied=%v apply_error=%q analysis started %v", st.Applied, st.ApplyError, st.AnalysisStarted)
		}
		if v := testutil.ToFloat64(m.o.Metrics.waitingForProxy.WithLabelValues("checkout")); v != 1 {
			t.Fatalf("vane_rollout_waiting_for_proxy = %g, want 1", v)
		}
		hist, _ := m.History("checkout", 0)
		waits := 0
		for _, e := range hist {
			if e.Type == EvApplyFailed && strings.Contains(e.Reason, "waiting for a proxy") {
				waits++
			}
		}
		if waits != 1 {
			t.Fatalf("%d 'waiting for a proxy' events after six retries, want one", waits)
		}

		router.mu.Lock()
		router.nodes = []string{"envoy-1"}
		router.mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		st, _ = m.Get("checkout")
		if !st.Applied || st.ApplyError != "" || st.AnalysisStarted.IsZero() {
			t.Fatalf("after a proxy ACKed: applied=%v apply_error=%q analysis started %v", st.Applied, st.ApplyError, st.AnalysisStarted)
		}
		if v := testutil.ToFloat64(m.o.Metrics.waitingForProxy.WithLabelValues("checkout")); v != 0 {
			t.Fatalf("vane_rollout_waiting_for_proxy = %g, want 0", v)
		}
	})
}
