package ha

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vaneproj/vane/internal/etcdtest"
	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/kube"
	"github.com/vaneproj/vane/traffic"
)

// proxies stands for one replica's xDS server: what its proxies did with
// each service's current state.
type proxies struct {
	mu      sync.Mutex
	acked   map[string][]string
	nacked  map[string][]traffic.NodeStatus
	pending map[string]int
	changed chan struct{}
}

func newProxies() *proxies {
	return &proxies{acked: map[string][]string{}, nacked: map[string][]traffic.NodeStatus{}, pending: map[string]int{},
		changed: make(chan struct{}, 1)}
}

func (p *proxies) Holding(svc string) ([]string, []traffic.NodeStatus, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked[svc], p.nacked[svc], p.pending[svc]
}

func (p *proxies) Streams() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, a := range p.acked {
		n += len(a)
	}
	return n
}

func (p *proxies) Changes() <-chan struct{} { return p.changed }

func (p *proxies) set(svc string, acked []string, nacked []traffic.NodeStatus, pending int) {
	p.mu.Lock()
	p.acked[svc], p.nacked[svc], p.pending[svc] = acked, nacked, pending
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// member is one replica: elector, presence, fake proxies.
type member struct {
	*replica
	pr      *Presence
	local   *proxies
	stopped chan struct{}
	stop    context.CancelFunc
}

func startMember(t *testing.T, srv *etcdtest.Server, transport func(id string) Transport, id string, ttl time.Duration, conf map[string]string) *member {
	t.Helper()
	r := start(t, srv, id, ttl)
	local := newProxies()
	pr, err := NewPresence(newClient(t, srv), PresenceOptions{Prefix: "/vane", ID: id, API: "http://" + id + ":8080", TTL: ttl,
		Config: conf, Local: local, Elector: r.el, Transport: transport(id)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{replica: r, pr: pr, local: local, stopped: make(chan struct{}), stop: cancel}
	go func() { defer close(m.stopped); _ = pr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-m.stopped })
	return m
}

// apply is the replica's router: it "publishes" and reports its own
// proxies, none here.
func apply(m *member, ctx context.Context, r traffic.Routing) (traffic.Applied, error) {
	local := traffic.RouterFunc(func(context.Context, traffic.Service, traffic.Routing) (traffic.Applied, error) {
		return traffic.Applied{Version: "1"}, nil
	})
	return m.pr.Router(local).Apply(ctx, svc, r)
}

var svc = traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}},
	Canary: traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.2:80"}}}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLeaderCountsEveryReplicasProxies: the leader's apply returns once
// the follower serves the same routing and its proxies ACKed it, with the
// follower's nodes in Applied; a NACK there fails it; a silent proxy holds
// it until the follower dies and its record drops out with its lease. The
// records travel over etcd, then over ConfigMaps of a real kube-apiserver
// (kube.Board).
func TestLeaderCountsEveryReplicasProxies(t *testing.T) {
	const ttl = 2 * time.Second
	t.Run("etcd", func(t *testing.T) {
		testLeaderCountsEveryReplicasProxies(t, etcdtest.Start(t), func(string) Transport { return nil })
	})
	t.Run("kubernetes", func(t *testing.T) {
		srv := etcdtest.Start(t)
		cluster := kubetest.Start(t)
		client := cluster.Clientset(t)
		testLeaderCountsEveryReplicasProxies(t, srv, func(id string) Transport {
			b, err := kube.NewBoard(client, kube.BoardOptions{Namespace: "default", Name: "vane", ID: id, TTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			return b
		})
	})
}

func testLeaderCountsEveryReplicasProxies(t *testing.T, srv *etcdtest.Server, transport func(id string) Transport) {
	const ttl = 2 * time.Second
	conf := map[string]string{"checkout": "c1"}
	a := startMember(t, srv, transport, "a", ttl, conf)
	wait(t, a.leading, 10*time.Second, "a leads")
	b := startMember(t, srv, transport, "b", ttl, map[string]string{"checkout": "c2"})
	waitFor(t, "a and b see each other", 10*time.Second, func() bool {
		sa, _ := a.pr.Status(context.Background())
		sb, _ := b.pr.Status(context.Background())
		return len(sa.Replicas) == 2 && len(sb.Replicas) == 2
	})

	// The configuration difference is reported on both sides.
	st, err := b.pr.Status(context.Background())
	if err != nil || len(st.ConfigDiffers) != 1 || st.ConfigDiffers[0].Replica != "a" || strings.Join(st.ConfigDiffers[0].Services, ",") != "checkout" || st.Leader != "a" {
		t.Fatalf("b's status: %+v, %v", st, err)
	}
	if got := testutil.ToFloat64(b.m.configDiffers); got != 1 {
		t.Fatalf("b's vane_ha_config_differs = %g", got)
	}
	// Leader URL: b forwards to a's API; a serves itself.
	if u, self, err := b.pr.LeaderURL(context.Background()); err != nil || self || u != "http://a:8080" {
		t.Fatalf("b's LeaderURL = %q, %v, %v", u, self, err)
	}
	if _, self, _ := a.pr.LeaderURL(context.Background()); !self {
		t.Fatal("a's LeaderURL: not self")
	}

	// b serves all-stable to its proxy, which ACKed it.
	b.local.set("checkout", []string{"envoy-b"}, nil, 0)
	if _, err := apply(b, context.Background(), traffic.AllStable()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a sees b's proxy", 10*time.Second, func() bool {
		st, _ := a.pr.Status(context.Background())
		return len(st.Replicas) == 2 && len(st.Replicas[1].Services["checkout"].Acked) == 1
	})
	r20 := traffic.Routing{Weights: traffic.Weights{Stable: 80, Canary: 20}}
	// b follows: it publishes r20 (its router records it) and its proxy
	// has not answered yet.
	b.local.set("checkout", nil, nil, 1)
	if _, err := apply(b, context.Background(), r20); err != nil {
		t.Fatalf("a follower's apply: %v", err)
	}
	res := make(chan error, 1)
	var got traffic.Applied
	go func() {
		var err error
		got, err = apply(a, context.Background(), r20)
		res <- err
	}()
	select {
	case err := <-res:
		t.Fatalf("the leader's apply returned (%v) while b's proxy had not ACKed", err)
	case <-time.After(500 * time.Millisecond):
	}
	b.local.set("checkout", []string{"envoy-b"}, nil, 0)
	select {
	case err := <-res:
		if err != nil || strings.Join(got.Acked, ",") != "envoy-b" {
			t.Fatalf("the leader's apply = %+v, %v; want b's node", got, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the leader's apply did not return after b's proxy ACKed")
	}

	// A NACK on b fails the leader's apply.
	r50 := traffic.Routing{Weights: traffic.Weights{Stable: 50, Canary: 50}}
	b.local.set("checkout", nil, []traffic.NodeStatus{{Node: "envoy-b", Error: "bad route"}}, 0)
	if _, err := apply(b, context.Background(), r50); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := apply(a, ctx, r50); !errors.Is(err, traffic.ErrNacked) || !strings.Contains(err.Error(), "bad route") {
		t.Fatalf("the leader's apply with a NACK on b = %v; want ErrNacked", err)
	}

	// A silent proxy on b holds the leader until b dies (its lease is
	// not revoked: a crash) and its record expires.
	r60 := traffic.Routing{Weights: traffic.Weights{Stable: 40, Canary: 60}}
	b.local.set("checkout", nil, nil, 1)
	if _, err := apply(b, context.Background(), r60); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := apply(a, short, r60); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "replica b") {
		t.Fatalf("the leader's apply with b's proxy silent = %v; want a timeout naming replica b", err)
	}
	crashed := time.Now()
	b.pr.crash()
	if _, err := apply(a, context.Background(), r60); err != nil {
		t.Fatalf("the leader's apply after b died: %v", err)
	}
	took := time.Since(crashed)
	if took > ttl+time.Second {
		t.Fatalf("b's record dropped out %s after its crash, later than the TTL %s", took, ttl)
	}
	t.Logf("a dead replica's proxies dropped out %s after its crash (TTL %s)", took.Round(time.Millisecond), ttl)
	if got := testutil.ToFloat64(a.m.replicas); got != 1 {
		t.Fatalf("a's vane_ha_replicas = %g after b died", got)
	}
}

// TestLeaderURLWithoutLeader: with no replica leading, a follower has no
// one to forward to.
func TestLeaderURLWithoutLeader(t *testing.T) {
	srv := etcdtest.Start(t)
	el, err := New(newClient(t, srv), Options{Prefix: "/vane", ID: "x", TTL: 2 * time.Second, Metrics: NewMetrics(prometheus.NewRegistry())})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := NewPresence(newClient(t, srv), PresenceOptions{Prefix: "/vane", ID: "x", API: "http://x:8080", TTL: 2 * time.Second,
		Local: newProxies(), Elector: el})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pr.LeaderURL(context.Background()); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("LeaderURL = %v, want ErrNoLeader", err)
	}
}
