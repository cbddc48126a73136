package kube

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/vaneproj/vane/internal/kubetest"
)

// replica is one LeaseElector running in the background.
type replica struct {
	el     *LeaseElector
	cancel context.CancelFunc
	done   chan error
}

func startReplica(t *testing.T, client kubernetes.Interface, id string, keepOnStop bool, leaders *atomic.Int32, overlap *atomic.Bool) *replica {
	t.Helper()
	el, err := NewLease(client, LeaseOptions{Namespace: "default", Name: "vane-leader", ID: id,
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond, keepOnStop: keepOnStop})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{el: el, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- el.Run(ctx, func(ctx context.Context) error {
			if leaders.Add(1) > 1 {
				overlap.Store(true)
			}
			<-ctx.Done()
			leaders.Add(-1)
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func waitLeader(t *testing.T, r *replica, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !r.el.IsLeader() {
		if time.Since(start) > limit {
			t.Fatalf("%s did not lead within %s", r.el.o.ID, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func TestLeaseElectionFailsOver(t *testing.T) {
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	var leaders atomic.Int32
	var overlap atomic.Bool
	a := startReplica(t, client, "a", true, &leaders, &overlap)
	waitLeader(t, a, 10*time.Second)
	b := startReplica(t, client, "b", false, &leaders, &overlap)
	time.Sleep(2500 * time.Millisecond) // longer than the lease: a renews, b follows
	if b.el.IsLeader() {
		t.Fatal("b leads while a renews the lease")
	}
	if h, err := b.el.Leader(context.Background()); err != nil || h != "a" {
		t.Fatalf("Leader() = %q, %v; want a", h, err)
	}

	// a crashes: it stops renewing and keeps the Lease; b takes over once
	// the Lease has expired, not before.
	start := time.Now()
	a.cancel()
	if err := <-a.done; err != nil {
		t.Fatalf("a.Run after its ctx ended = %v", err)
	}
	a.done <- nil // for the cleanup
	took := waitLeader(t, b, 10*time.Second)
	t.Logf("crash of the leader → b leads: %s (lease 2s)", time.Since(start))
	if took < time.Second {
		t.Errorf("b led %s after a crash with a 2s lease", took)
	}

	// b resigns (its ctx ends, the Lease is released): a new replica leads
	// without waiting for the lease.
	c := startReplica(t, client, "c", false, &leaders, &overlap)
	time.Sleep(500 * time.Millisecond)
	start = time.Now()
	b.cancel()
	if err := <-b.done; err != nil {
		t.Fatalf("b.Run after its ctx ended = %v", err)
	}
	b.done <- nil
	waitLeader(t, c, 10*time.Second)
	t.Logf("resign of the leader → c leads: %s", time.Since(start))
	if overlap.Load() {
		t.Error("two replicas led at once")
	}

	// c's Lease is taken from it (as another writer would): c stops
	// acting and Run returns ErrLeadershipLost.
	other := "intruder"
	start = time.Now()
	// c renews concurrently: retry the read and update on a conflict.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := client.CoordinationV1().Leases("default").Get(context.Background(), "vane-leader", metav1.GetOptions{})
		if err != nil {
			return err
		}
		l.Spec.HolderIdentity = &other
		_, err = client.CoordinationV1().Leases("default").Update(context.Background(), l, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		c.done <- nil
		if !errors.Is(err, ErrLeadershipLost) {
			t.Fatalf("c.Run after losing its Lease = %v, want ErrLeadershipLost", err)
		}
		t.Logf("lease taken → c stopped: %s", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("c still runs 5s after its Lease was taken")
	}
	if c.el.IsLeader() {
		t.Fatal("c reports leading after it lost the Lease")
	}
}
