package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/ha"
	"github.com/vaneproj/vane/internal/etcdtest"
	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/store"
)

// With the Lease election, the etcd store's writes are fenced by the term
// the leader started: refused before it leads, accepted while its term is
// the last one, and refused as soon as a successor started its own term
// (a deposed leader that has not noticed yet moves nothing).
func TestLeaseTermFencesADeposedLeader(t *testing.T) {
	cluster := kubetest.Start(t)
	srv := etcdtest.Start(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, cluster.URL, cluster.CAFile, kubetest.Token)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{File: filepath.Join(dir, "vane.yaml"), Election: config.Election{Kind: config.ElectionLease, Lease: &config.Lease{
		Name: "fence-test", Duration: model.Duration(10 * time.Second), RenewDeadline: model.Duration(5 * time.Second),
		RetryPeriod: model.Duration(500 * time.Millisecond), Kubeconfig: "kubeconfig"}}}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.OpenEtcd(ctx, store.EtcdOptions{Endpoints: srv.Endpoints(), Prefix: "/fence-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	el, err := newLeaseElector(cfg, db.Client(), db.Prefix(), "replica-a", slog.New(slog.NewTextHandler(t.Output(), nil)), ha.NewMetrics(nil))
	if err != nil {
		t.Fatal(err)
	}
	fenced := db.Fenced(el)
	save := func() error { return fenced.Save("rollout", "checkout", map[string]int{"step": 1}) }
	if err := save(); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write before leading: %v, want ErrFenced", err)
	}

	done := campaign(ctx, t, el)
	if id, err := el.Leader(ctx); err != nil || id != "replica-a" {
		t.Fatalf("Leader = %q, %v", id, err)
	}
	if err := save(); err != nil {
		t.Fatalf("the leader's write: %v", err)
	}
	// A successor starts its term, as leaseElector.Run does when it takes
	// the Lease.
	if _, err := db.Client().Put(ctx, db.Prefix()+"/lease-term", "replica-b"); err != nil {
		t.Fatal(err)
	}
	if err := save(); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write after a successor's term started: %v, want ErrFenced", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after ctx ended: %v", err)
	}
	if el.IsLeader() {
		t.Fatal("IsLeader after Run returned")
	}
}

// campaign runs el's election in the background until ctx ends and waits,
// 30 s at most, until it leads; the channel receives Run's result.
func campaign(ctx context.Context, t *testing.T, el elector) <-chan error {
	t.Helper()
	leading := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- el.Run(ctx, func(ctx context.Context) error {
			close(leading)
			<-ctx.Done()
			return nil
		})
	}()
	select {
	case <-leading:
	case <-time.After(30 * time.Second):
		t.Fatal("no leadership within 30s")
	}
	if !el.IsLeader() {
		t.Fatal("leading, but IsLeader is false")
	}
	return done
}
