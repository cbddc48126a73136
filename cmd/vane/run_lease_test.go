package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/internal/etcdtest"
	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/rollout"
)

// writeKubeconfig writes a kubeconfig for the test cluster's admin.
func writeKubeconfig(t *testing.T, cluster *kubetest.Cluster, path string) {
	t.Helper()
	writeFile(t, path, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin, namespace: default}}]
current-context: test
`, cluster.URL, cluster.CAFile, kubetest.Token), 0o600)
}

// TestRunFailoverOnKubernetesLease runs two `vane run` processes whose
// leader is elected with a Kubernetes Lease on a real kube-apiserver, and
// whose state lives in a real (embedded) etcd. Only the Lease's holder
// acts; the leader is SIGKILLed mid-rollout (VANE_LEASE_RUNS times, 3 by
// default; the killed replica comes back as a follower): each time the
// other replica holds the Lease and resumes the rollout at the same step
// and weight within the lease duration plus one look. Then the leader is
// paused (SIGSTOP, a partition) until the other replica leads; resumed, it
// exits on its lost Lease without applying a routing.
func TestRunFailoverOnKubernetesLease(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of vane run on a Kubernetes Lease; run without -short")
	}
	srv := etcdtest.Start(t)
	testLeaseFailover(t, fmt.Sprintf(`store:
  kind: etcd
  endpoints: [%s]
  prefix: /vane-lease-test`, srv.Endpoints()[0]))
}

// TestRunFailoverOnKubernetesWithoutEtcd is TestRunFailoverOnKubernetesLease
// with the state, the fencing term and the replicas' presence in ConfigMaps
// (store.kind kubernetes): no etcd of Vane's own, only the Kubernetes API.
// The follower also lists both replicas in GET /api/v1/replicas, from their
// ConfigMap records.
func TestRunFailoverOnKubernetesWithoutEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test of vane run on the Kubernetes API; run without -short")
	}
	testLeaseFailover(t, `store:
  kind: kubernetes
  name: vane-test`)
}

// testLeaseFailover runs TestRunFailoverOnKubernetesLease with the given
// store section.
func testLeaseFailover(t *testing.T, storeYAML string) {
	runs := 3
	if v := os.Getenv("VANE_LEASE_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("VANE_LEASE_RUNS=%q: want a positive number", v)
		}
		runs = n
	}
	const leaseDuration = 3 * time.Second
	bin := buildVane(t)
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, cluster, kubeconfig)
	apps := map[string]*sampleapp.Instance{}
	for _, v := range []string{"v1", "v2"} {
		apps[v] = startApp(t, sampleapp.Config{Version: v})
	}

	newReplica := func(i int) *haReplica {
		d := filepath.Join(dir, fmt.Sprintf("r%d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		httpAddr, xdsAddr := freeAddr(t), freeAddr(t)
		f := filepath.Join(d, "vane.yaml")
		writeFile(t, f, fmt.Sprintf(`xds:
  listen: %s
  min_proxies: 0
http:
  listen: %s
prometheus:
  data_dir: prom
%s
election:
  kind: lease
  lease:
    name: vane-test
    duration: %s
    kubeconfig: %s
services:
  - name: checkout
    stable: {version: v1, endpoints: [%q]}
    rollout:
      steps:
        - weight: 20
        - pause: {}
        - weight: 50
        - pause: {}
`, xdsAddr, httpAddr, storeYAML, leaseDuration, kubeconfig, apps["v1"].Addr()), 0o644)
		return &haReplica{p: startVane(t, bin, f), api: apiCaller{t: t, base: "http://" + httpAddr}, cfg: f, xds: xdsAddr}
	}
	ready := func(r *haReplica) bool { return r.api.call("GET", "/readyz", "", nil, nil) == 200 }
	// leaderOf returns the replica the Lease names, or nil.
	leaderOf := func(rs []*haReplica) *haReplica {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		l, err := client.CoordinationV1().Leases("default").Get(ctx, "vane-test", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return nil
		}
		for _, r := range rs {
			if strings.HasSuffix(*l.Spec.HolderIdentity, " api "+strings.TrimPrefix(r.api.base, "http://")) {
				return r
			}
		}
		return nil
	}

	// readLeader is leaderOf, read again for up to 10 s while the Lease
	// cannot be read or names no replica (a slow API server under load).
	readLeader := func(rs []*haReplica) *haReplica {
		l := leaderOf(rs)
		for deadline := time.Now().Add(10 * time.Second); l == nil && time.Now().Before(deadline); l = leaderOf(rs) {
			time.Sleep(200 * time.Millisecond)
		}
		return l
	}
	reps := []*haReplica{newReplica(0)}
	waitUntil(t, "the first replica leads and is ready", 60*time.Second, reps[0].p, func() bool { return ready(reps[0]) })
	if readLeader(reps) != reps[0] {
		t.Fatal("the Lease does not name the first replica")
	}
	// client-go's own logs go through vane's logger.
	if out := reps[0].p.out.String(); !strings.Contains(out, "acquire leader lease") || !strings.Contains(out, "component=client-go") {
		t.Fatalf("client-go's election logs are not vane's:\n%s", tail(out, 20))
	}
	reps = append(reps, newReplica(1))
	waitUntil(t, "the follower is ready", 60*time.Second, reps[1].p, func() bool { return ready(reps[1]) })
	// Each replica sees both records (API URL, leader) through the store's
	// transport.
	waitUntil(t, "the follower lists both replicas", 30*time.Second, reps[1].p, func() bool {
		var st struct {
			Leader   string `json:"leader"`
			Replicas []struct {
				API    string `json:"api"`
				Leader bool   `json:"leader"`
			} `json:"replicas"`
		}
		if reps[1].api.call("GET", "/api/v1/replicas", "", nil, &st) != 200 || len(st.Replicas) != 2 {
			return false
		}
		for _, r := range st.Replicas {
			if r.Leader != (r.API == reps[0].api.base) {
				return false
			}
		}
		return true
	})
	// A command sent to the follower is forwarded to the Lease holder.
	start := rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{apps["v2"].Addr()}}
	if code := reps[1].api.call("POST", "/api/v1/rollouts", "", start, nil); code != 201 && code != 200 {
		t.Fatalf("start on the follower: HTTP %d", code)
	}
	var before rollout.State
	waitUntil(t, "the canary at 20% and paused", 30*time.Second, reps[0].p, func() bool {
		st, _, ok := reps[0].api.state("checkout")
		before = st
		return ok && st.Routing.Weights.Canary == 20 && st.Step == 1 && st.Applied
	})

	var took []time.Duration
	for run := range runs {
		leader := readLeader(reps)
		if leader == nil {
			t.Fatal("no replica holds the Lease")
		}
		var follower *haReplica
		for _, r := range reps {
			if r != leader {
				follower = r
			}
		}
		killed := time.Now()
		if err := leader.p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = leader.p.cmd.Wait()
		// The follower takes the Lease once the dead leader's renewal is
		// a lease duration old, and resumes the rollout where it was.
		resumeLog := fmt.Sprintf(`msg="Resuming rollout" component=rollout rollout=checkout phase=%s step=%d routing="%s"`, before.Phase, before.Step, before.Routing)
		waitUntil(t, "the follower resumes the rollout", leaseDuration+10*time.Second, follower.p, func() bool {
			return strings.Contains(follower.p.out.String(), resumeLog) && leaderOf(reps) == follower
		})
		took = append(took, time.Since(killed))
		// The follower waits a lease duration from the last renewal it
		// saw, tries every retry period (jittered by up to 1.2×), then
		// loads the stored state: allow two seconds for that under load.
		if limit := leaseDuration + leaseDuration/8*12/10 + 2*time.Second; took[run] > limit {
			t.Fatalf("run %d: the follower led %s after the kill, more than %s", run, took[run], limit)
		}
		waitUntil(t, "the new leader is ready", 10*time.Second, follower.p, func() bool { return ready(follower) })
		st, _, ok := follower.api.state("checkout")
		if !ok || st.Step != before.Step || st.Routing.String() != before.Routing.String() || st.Phase != before.Phase {
			t.Fatalf("run %d: the new leader has %s step %d %s; before the kill %s step %d %s", run, st.Phase, st.Step, st.Routing,
				before.Phase, before.Step, before.Routing)
		}
		if _, body := rawCall(t, follower.api.base, "GET", "/metrics", ""); !strings.Contains(body, "vane_ha_leader 1") {
			t.Fatalf("run %d: the new leader's /metrics lacks vane_ha_leader 1", run)
		}
		// The killed replica comes back, as a follower.
		back := &haReplica{p: startVane(t, bin, leader.cfg), api: leader.api, cfg: leader.cfg}
		reps = []*haReplica{follower, back}
		waitUntil(t, "the restarted replica is ready", 60*time.Second, back.p, func() bool { return ready(back) })
		if l := readLeader(reps); l != follower {
			what := "no replica holds the Lease (or it could not be read)"
			if l == back {
				what = "the restarted replica took the Lease"
			}
			t.Fatalf("run %d: %s, not %s\nthe leader's output:\n%s\nthe restarted replica's output:\n%s", run, what, follower.api.base,
				tail(follower.p.out.String(), 40), tail(back.p.out.String(), 40))
		}
		if _, body := rawCall(t, back.api.base, "GET", "/metrics", ""); !strings.Contains(body, "vane_ha_leader 0") {
			t.Fatalf("run %d: the restarted follower's /metrics lacks vane_ha_leader 0", run)
		}
	}
	sorted := append([]time.Duration(nil), took...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("failover (SIGKILL of the Lease holder to the other replica resuming at the same step) over %d runs, lease duration %s: median %s, max %s, all %v",
		runs, leaseDuration, sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond), took)

	// A partition of the leader, simulated by SIGSTOP: the other replica
	// takes the Lease and starts its term; resumed (SIGCONT), the old
	// leader finds its Lease lost and exits without applying a routing.
	paused := readLeader(reps)
	var other *haReplica
	for _, r := range reps {
		if r != paused {
			other = r
		}
	}
	appliedBefore := strings.Count(paused.p.out.String(), `msg="Routing applied"`)
	if err := paused.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the other replica leads while the old leader is paused", leaseDuration+10*time.Second, other.p, func() bool {
		return leaderOf(reps) == other && ready(other) && strings.Count(other.p.out.String(), `msg="Term started"`) > 0
	})
	resumeDeposed(t, paused, appliedBefore, 2*leaseDuration+10*time.Second)
	reps = []*haReplica{other}

	// The rollout goes on under the last leader.
	leader := readLeader(reps)
	if code := leader.api.call("POST", "/api/v1/rollouts/checkout/promote", "", nil, nil); code != 200 {
		t.Fatalf("promote on the leader: HTTP %d", code)
	}
	waitUntil(t, "the canary at 50% under the new leader", 30*time.Second, leader.p, func() bool {
		st, _, _ := leader.api.state("checkout")
		return st.Routing.Weights.Canary == 50
	})
}
