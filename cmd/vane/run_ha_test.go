package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/internal/etcdtest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/xds"
)

// haReplica is one `vane run` process of a replicated controller.
type haReplica struct {
	p   *vaneProc
	api apiCaller
	cfg string
	xds string
}

// TestRunFailoverOnEtcd runs three `vane run` processes against one real
// (embedded) etcd, with three gRPC xDS clients spread over them (each
// bootstrap lists its replica first and the two others after it). Only
// the leader acts; a follower answers reads from the store, forwards
// commands to the leader, publishes the leader's routing to the clients
// connected to it, and is ready once it has; the leader counts a step
// applied once the clients of every replica ACKed it.
// The leader is SIGKILLed mid-rollout, repeatedly (VANE_HA_RUNS times, 3 by
// default; the killed replica comes back as a follower): each time another
// replica leads within the lease TTL plus a margin, at the same step and
// weight, and the rollout then goes on under the new leader; every
// client, the dead replica's included, keeps its routes (no failed call,
// both versions served) and is connected again afterwards. Last, the
// leader is paused (SIGSTOP, a partition): another replica leads, and the
// old one, resumed, exits on its lost session without applying anything.
func TestRunFailoverOnEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of vane run on etcd; run without -short")
	}
	runs := 3
	if v := os.Getenv("VANE_HA_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("VANE_HA_RUNS=%q: want a positive number", v)
		}
		runs = n
	}
	const ttl = 2 * time.Second
	bin := buildVane(t)
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	apps := map[string]*sampleapp.Instance{}
	for _, v := range []string{"v1", "v2"} {
		in, err := sampleapp.Start(sampleapp.Config{Version: v})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Close() })
		apps[v] = in
	}

	newReplica := func(i int) *haReplica {
		d := filepath.Join(dir, fmt.Sprintf("r%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		httpAddr, xdsAddr := freeAddr(t), freeAddr(t)
		cfg := fmt.Sprintf(`xds:
  listen: %s
http:
  listen: %s
prometheus:
  data_dir: prom
store:
  kind: etcd
  endpoints: [%s]
  prefix: /vane-test
  lease_ttl: %s
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
        - weight: 20
        - pause: {}
        - weight: 50
        - pause: {}
`, xdsAddr, httpAddr, srv.Endpoints()[0], ttl, apps["v1"].Addr())
		f := filepath.Join(d, "vane.yaml")
		if err := os.WriteFile(f, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return &haReplica{p: startVane(t, bin, f), api: apiCaller{t: t, base: "http://" + httpAddr}, cfg: f, xds: xdsAddr}
	}
	ready := func(r *haReplica) bool { return r.api.call("GET", "/readyz", "", nil, nil) == 200 }
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// leaderOf returns the replica the election key names, or nil.
	leaderOf := func(rs []*haReplica) *haReplica {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, "/vane-test/leader/", clientv3.WithFirstCreate()...)
		if err != nil || len(resp.Kvs) == 0 {
			return nil
		}
		for _, r := range rs {
			if strings.HasSuffix(string(resp.Kvs[0].Value), " api "+strings.TrimPrefix(r.api.base, "http://")) {
				return r
			}
		}
		return nil
	}

	reps := []*haReplica{newReplica(0)}
	// Ready comes before the election is won: wait for both.
	waitUntil(t, "the first replica leads and is ready", 30*time.Second, reps[0].p, func() bool { return ready(reps[0]) && leaderOf(reps) == reps[0] })
	reps = append(reps, newReplica(1), newReplica(2))
	// The followers are ready once they published the leader's routing.
	for _, r := range reps[1:] {
		waitUntil(t, "a follower is ready", 30*time.Second, r.p, func() bool { return ready(r) })
	}
	// Three gRPC xDS clients spread over the replicas: client i's bootstrap
	// lists replica i first and the two others after it.
	gens := make([]*loadgen.Generator, len(reps))
	home := map[string]int{} // xDS address → the client whose first server it is
	for i := range reps {
		var fallback []string
		for j := 1; j < len(reps); j++ {
			fallback = append(fallback, reps[(i+j)%len(reps)].xds)
		}
		boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: reps[i].xds, Fallback: fallback, NodeID: fmt.Sprintf("ha-client-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		g, err := loadgen.New(loadgen.Config{Target: "xds:///checkout", Bootstrap: boot, Rate: 100})
		if err != nil {
			t.Fatal(err)
		}
		genCtx, stopGen := context.WithCancel(context.Background())
		genDone := make(chan struct{})
		go func() { defer close(genDone); _ = g.Run(genCtx) }()
		t.Cleanup(func() { stopGen(); <-genDone; _ = g.Close() })
		gens[i], home[reps[i].xds] = g, i
	}
	gen := gens[1] // the client of a follower
	for i, g := range gens {
		waitUntil(t, fmt.Sprintf("traffic to v1 through client %d", i), 30*time.Second, reps[i].p, func() bool { return g.Stats().ByVersion["v1"].OK > 50 })
	}
	logStreams(t, reps)

	// A start sent to a follower is forwarded to the leader.
	start := rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{apps["v2"].Addr()}}
	if code := reps[1].api.call("POST", "/api/v1/rollouts", "", start, nil); code != 201 {
		t.Fatalf("start sent to a follower: HTTP %d; want 201 (forwarded to the leader)", code)
	}
	var before rollout.State
	waitUntil(t, "the canary at 20% and paused", 30*time.Second, reps[0].p, func() bool {
		st, _, ok := reps[0].api.state("checkout")
		before = st
		return ok && st.Routing.Weights.Canary == 20 && st.Step == 1 && st.Applied
	})
	// A follower reads the same state from the store.
	if st, _, ok := reps[1].api.state("checkout"); !ok || st.Step != before.Step || st.Routing.String() != before.Routing.String() {
		t.Fatalf("follower's view: %+v (ok %v), leader's: step %d %s", st.Routing, ok, before.Step, before.Routing)
	}
	// ... and publishes the leader's routing to its own proxies.
	mark := gen.Stats()
	waitUntil(t, "the follower's client sends to the canary", 20*time.Second, reps[1].p, func() bool {
		return gen.Stats().Sub(mark).ByVersion["v2"].OK > 20
	})

	var took []time.Duration
	for run := range runs {
		leader := leaderOf(reps)
		if leader == nil {
			t.Fatal("no replica leads")
		}
		marks := make([]loadgen.Stats, len(gens))
		for i, g := range gens {
			marks[i] = g.Stats()
		}
		killed := time.Now()
		if err := leader.p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = leader.p.cmd.Wait()
		var rest []*haReplica
		for _, r := range reps {
			if r != leader {
				rest = append(rest, r)
			}
		}
		// The new leader is the one that resumes the rollout where it was.
		resumeLog := fmt.Sprintf(`msg="Resuming rollout" component=rollout rollout=checkout phase=%s step=%d routing="%s"`, before.Phase, before.Step, before.Routing)
		var next *haReplica
		waitUntil(t, "a new leader resumes the rollout", ttl+10*time.Second, rest[0].p, func() bool {
			for _, r := range rest {
				if strings.Count(r.p.out.String(), resumeLog) > 0 && leaderOf(rest) == r {
					next = r
					return true
				}
			}
			return false
		})
		took = append(took, time.Since(killed))
		for _, r := range rest {
			if r != next && strings.Contains(r.p.out.String(), resumeLog) {
				t.Fatalf("run %d: %s resumed the rollout while %s leads", run, r.api.base, next.api.base)
			}
		}
		waitUntil(t, "the new leader is ready", 10*time.Second, next.p, func() bool { return ready(next) })
		st, _, ok := next.api.state("checkout")
		if !ok || st.Step != before.Step || st.Routing.String() != before.Routing.String() || st.Phase != before.Phase {
			t.Fatalf("run %d: the new leader has %s step %d %s; before the kill %s step %d %s", run, st.Phase, st.Step, st.Routing,
				before.Phase, before.Step, before.Routing)
		}
		// The killed replica comes back, as a follower.
		back := &haReplica{p: startVane(t, bin, leader.cfg), api: leader.api, cfg: leader.cfg, xds: leader.xds}
		reps = append(rest, back)
		waitUntil(t, "the restarted replica is ready", 30*time.Second, back.p, func() bool { return ready(back) })
		if l := leaderOf(reps); l != next {
			t.Fatalf("run %d: the restarted replica took the lead from %s", run, next.api.base)
		}
		// Every client, the dead replica's included, kept its routes: no
		// failed call, and both versions served at the canary's weight.
		orphan := home[leader.xds]
		waitUntil(t, "the dead replica's client is served by an xDS server again", 30*time.Second, back.p, func() bool {
			return streamsOf(t, back) > 0
		})
		for i, g := range gens {
			d := g.Stats().Sub(marks[i])
			if d.ByVersion["v1"].Failed+d.ByVersion["v2"].Failed+d.ByVersion[loadgen.UnknownVersion].Failed > 0 || d.ByVersion["v2"].OK == 0 || d.ByVersion["v1"].OK == 0 {
				t.Fatalf("run %d: client %d (its first xDS server killed: %v) through the failover: %+v", run, i, i == orphan, d.ByVersion)
			}
		}
	}
	sorted := append([]time.Duration(nil), took...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("failover (SIGKILL of the leader to the new leader resuming at the same step) over %d runs, lease TTL %s: median %s, max %s, all %v",
		runs, ttl, sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond), took)

	// A partition of the leader, simulated by SIGSTOP: another replica
	// leads after the TTL; resumed (SIGCONT), the old leader finds its
	// session gone and exits without acting.
	paused := leaderOf(reps)
	appliedBefore := strings.Count(paused.p.out.String(), `msg="Routing applied"`)
	if err := paused.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var others []*haReplica
	for _, r := range reps {
		if r != paused {
			others = append(others, r)
		}
	}
	waitUntil(t, "a new leader while the old one is paused", ttl+10*time.Second, others[0].p, func() bool { return leaderOf(others) != nil })
	resumeDeposed(t, paused, appliedBefore, 2*ttl+10*time.Second)
	reps = others

	// The rollout goes on under the last leader.
	leader := leaderOf(reps)
	for _, r := range reps {
		want := "vane_ha_leader 0"
		if r == leader {
			want = "vane_ha_leader 1"
		}
		if _, body := rawCall(t, r.api.base, "GET", "/metrics", ""); !strings.Contains(body, want) {
			t.Fatalf("%s/metrics lacks %q", r.api.base, want)
		}
	}
	logStreams(t, reps)
	var follower *haReplica
	for _, r := range reps {
		if r != leader {
			follower = r
		}
	}
	if out, err := exec.Command(bin, "rollout", "promote", "checkout", "--server", follower.api.base).CombinedOutput(); err != nil {
		t.Fatalf("vane rollout promote --server <follower>: %v\n%s", err, out)
	}
	waitUntil(t, "the canary at 50% under the new leader", 30*time.Second, leader.p, func() bool {
		st, _, _ := leader.api.state("checkout")
		return st.Routing.Weights.Canary == 50
	})
}

// streamsOf returns the xDS streams connected to r (its /metrics).
func streamsOf(t *testing.T, r *haReplica) int {
	_, body := rawCall(t, r.api.base, "GET", "/metrics", "")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "vane_xds_connected_streams "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

// logStreams logs the xDS streams connected to each replica.
func logStreams(t *testing.T, reps []*haReplica) {
	var parts []string
	for _, r := range reps {
		parts = append(parts, fmt.Sprintf("%s: %d", r.xds, streamsOf(t, r)))
	}
	t.Logf("xDS streams per replica: %s", strings.Join(parts, ", "))
}

func rawCall(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// resumeDeposed resumes the paused old leader (SIGCONT) after another
// replica has taken over and checks that it exits within wait, saying its
// leadership was lost, without applying a routing after appliedBefore.
func resumeDeposed(t *testing.T, paused *haReplica, appliedBefore int, wait time.Duration) {
	t.Helper()
	if err := paused.p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- paused.p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(paused.p.out.String(), "leadership lost") {
			t.Fatalf("the resumed old leader exited with %v:\n%s", err, tail(paused.p.out.String(), 20))
		}
	case <-time.After(wait):
		t.Fatalf("the resumed old leader still runs:\n%s", tail(paused.p.out.String(), 20))
	}
	if n := strings.Count(paused.p.out.String(), `msg="Routing applied"`); n != appliedBefore {
		t.Fatalf("the old leader applied a routing after it was resumed (%d applies before the pause, %d after):\n%s", appliedBefore, n, tail(paused.p.out.String(), 20))
	}
}
