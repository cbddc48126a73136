package ha

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/vaneproj/vane/internal/etcdtest"
	"github.com/vaneproj/vane/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type doc struct {
	Weight int `json:"weight"`
}

// replica is one elector with its fenced store and a record of its term.
type replica struct {
	el      *Elector
	m       *Metrics
	db      *store.Etcd
	leading chan struct{}
	exited  chan struct{}
	err     error // Run's result, once exited is closed
	cancel  context.CancelFunc
}

func newClient(t *testing.T, srv *etcdtest.Server) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// start runs an elector whose leader work waits for its context.
func start(t *testing.T, srv *etcdtest.Server, id string, ttl time.Duration) *replica {
	t.Helper()
	cli := newClient(t, srv)
	m := NewMetrics(prometheus.NewRegistry())
	el, err := New(cli, Options{Prefix: "/vane", ID: id, TTL: ttl, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.NewEtcd(cli, store.EtcdOptions{Prefix: "/vane"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{el: el, m: m, db: db.Fenced(el), leading: make(chan struct{}), exited: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(r.exited)
		r.err = el.Run(ctx, func(ctx context.Context) error {
			close(r.leading)
			<-ctx.Done()
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-r.exited })
	return r
}

func wait(t *testing.T, ch <-chan struct{}, within time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-ch:
		return time.Since(start)
	case <-time.After(within):
		t.Fatalf("%s: not within %s", what, within)
		return 0
	}
}

// TestHandOverAfterCrash: the leader's session is orphaned (its process
// "crashed": no more keep-alives, no resign); the follower leads once the
// lease's TTL has passed, not before, and the old leader's remembered fence
// no longer lets a write through.
func TestHandOverAfterCrash(t *testing.T) {
	srv := etcdtest.Start(t)
	const ttl = 2 * time.Second
	a := start(t, srv, "a", ttl)
	wait(t, a.leading, 10*time.Second, "a leads")
	b := start(t, srv, "b", ttl)
	if err := a.db.Save("rollout", "checkout", doc{Weight: 10}); err != nil {
		t.Fatalf("leader's write: %v", err)
	}
	if err := b.db.Save("rollout", "checkout", doc{Weight: 99}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("follower's write = %v, want ErrFenced", err)
	}
	if id, err := b.el.Leader(context.Background()); err != nil || id != "a" {
		t.Fatalf("Leader() = %q, %v; want a", id, err)
	}
	stale, ok := a.el.FenceCmp()
	if !ok {
		t.Fatal("the leader has no fence")
	}
	crashed := time.Now()
	a.el.orphan()
	wait(t, a.exited, 5*time.Second, "the orphaned leader's Run returns")
	if !errors.Is(a.err, ErrLeadershipLost) {
		t.Fatalf("orphaned leader's Run = %v, want ErrLeadershipLost", a.err)
	}
	wait(t, b.leading, ttl+5*time.Second, "b leads after the TTL")
	took := time.Since(crashed)
	// The session renews its lease every TTL/3: a crashed leader's lease
	// has at least 2/3 of the TTL left.
	if took < ttl*2/3-100*time.Millisecond {
		t.Fatalf("b led %s after the crash, before the lease's remaining TTL (at least %s) ran out", took, ttl*2/3)
	}
	t.Logf("hand-over %s after the crash (TTL %s)", took.Round(time.Millisecond), ttl)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"a's vane_ha_leader", testutil.ToFloat64(a.m.leader), 0}, {"a's vane_ha_leadership_lost_total", testutil.ToFloat64(a.m.lost), 1},
		{"b's vane_ha_leader", testutil.ToFloat64(b.m.leader), 1}, {"b's vane_ha_terms_total", testutil.ToFloat64(b.m.terms), 1}} {
		if c.got != c.want {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	// The deposed leader, acting on what it remembers, is refused.
	deposed := a.db.Fenced(frozen{stale})
	if err := deposed.Save("rollout", "checkout", doc{Weight: 50}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("deposed leader's write = %v, want ErrFenced", err)
	}
	if err := b.db.Save("rollout", "checkout", doc{Weight: 20}); err != nil {
		t.Fatalf("new leader's write: %v", err)
	}
	var got doc
	if err := b.db.Get("rollout", "checkout", &got); err != nil || got.Weight != 20 {
		t.Fatalf("state = %+v, %v; want the new leader's weight 20", got, err)
	}
}

type frozen struct{ cmp clientv3.Cmp }

func (f frozen) FenceCmp() (clientv3.Cmp, bool) { return f.cmp, true }

// TestResignHandsOverAtOnce: a leader that stops cleanly resigns, and the
// follower leads without waiting for the TTL.
func TestResignHandsOverAtOnce(t *testing.T) {
	srv := etcdtest.Start(t)
	a := start(t, srv, "a", 10*time.Second)
	wait(t, a.leading, 10*time.Second, "a leads")
	b := start(t, srv, "b", 10*time.Second)
	a.cancel()
	wait(t, a.exited, 5*time.Second, "a's Run returns")
	if a.err != nil {
		t.Fatalf("a's Run = %v", a.err)
	}
	took := wait(t, b.leading, 5*time.Second, "b leads after a resigned")
	t.Logf("hand-over after resign: %s", took.Round(time.Millisecond))
}

// TestEtcdRestartShorterThanTTL: etcd stops and starts again within the
// TTL; writes fail meanwhile (the loops hold), the leader keeps leading
// and writes again once etcd is back.
func TestEtcdRestartShorterThanTTL(t *testing.T) {
	srv := etcdtest.Start(t)
	a := start(t, srv, "a", 10*time.Second)
	wait(t, a.leading, 10*time.Second, "a leads")
	b := start(t, srv, "b", 10*time.Second)
	if err := a.db.Save("rollout", "checkout", doc{Weight: 10}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	short := store.EtcdOptions{Prefix: "/vane", OpTimeout: 300 * time.Millisecond}
	down, err := store.NewEtcd(a.db.Client(), short)
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Fenced(a.el).Save("rollout", "checkout", doc{Weight: 20}); err == nil {
		t.Fatal("a write succeeded with etcd stopped")
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := a.db.Save("rollout", "checkout", doc{Weight: 30})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader cannot write 10s after etcd restarted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-a.exited:
		t.Fatalf("the leader stopped: %v", a.err)
	case <-b.leading:
		t.Fatal("the follower took over")
	default:
	}
	if !a.el.IsLeader() {
		t.Fatal("a no longer leads")
	}
}

// TestEtcdAwayLongerThanTTL: the leader's lease runs out while etcd is
// away; it stops acting, and after etcd is back another replica leads.
func TestEtcdAwayLongerThanTTL(t *testing.T) {
	srv := etcdtest.Start(t)
	const ttl = 2 * time.Second
	a := start(t, srv, "a", ttl)
	wait(t, a.leading, 10*time.Second, "a leads")
	srv.Stop()
	select {
	case <-a.exited:
		if !errors.Is(a.err, ErrLeadershipLost) {
			t.Fatalf("Run = %v, want ErrLeadershipLost", a.err)
		}
	case <-time.After(ttl + 5*time.Second):
		t.Fatal("the leader still acts with etcd away for longer than the TTL")
	}
	if a.el.IsLeader() {
		t.Fatal("IsLeader after the session ended")
	}
	srv.Restart()
	b := start(t, srv, "b", ttl)
	wait(t, b.leading, 3*ttl+5*time.Second, "b leads after etcd came back")
}
