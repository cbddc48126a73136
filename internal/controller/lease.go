package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/ha"
	"github.com/vaneproj/vane/kube"
)

// elector is the leader election the wiring runs: etcd's (ha.Elector) or
// a Kubernetes Lease (leaseElector).
type elector interface {
	// Run campaigns until this replica leads, then runs lead until ctx
	// ends or the leadership is lost (an error then).
	Run(ctx context.Context, lead func(ctx context.Context) error) error
	// IsLeader reports whether this replica leads now.
	IsLeader() bool
	// Leader names the current leader, "" when none.
	Leader(ctx context.Context) (string, error)
}

var (
	_ elector = (*ha.Elector)(nil)
	_ elector = (*leaseElector)(nil)
)

// leaseElector elects the leader with a Kubernetes Lease and fences the
// leader's writes to the etcd store: at the start of each term the new
// leader writes a term key, and every write is conditioned on that key
// still having the revision it wrote. A deposed leader that has not
// noticed yet (it stops acting after renew_deadline) can then no longer
// write once its successor has started, as with etcd's own election.
type leaseElector struct {
	*kube.LeaseElector
	cli *clientv3.Client
	key string // the term key
	id  string
	log *slog.Logger
	m   *ha.Metrics

	mu  sync.Mutex
	rev int64 // the term key's revision while leading; 0 otherwise
}

// newLeaseElector builds the Lease election of cfg.Election.Lease for the
// etcd store's client.
func newLeaseElector(cfg *config.Config, cli *clientv3.Client, prefix, id string, log *slog.Logger, m *ha.Metrics) (*leaseElector, error) {
	l := cfg.Election.Lease
	client, ns, err := kubeClient(cfg.Resolve(l.Kubeconfig))
	if err != nil {
		return nil, fmt.Errorf("election.lease: %w", err)
	}
	if l.Namespace != "" {
		ns = l.Namespace
	}
	le, err := kube.NewLease(client, kube.LeaseOptions{Namespace: ns, Name: l.Name, ID: id,
		LeaseDuration: time.Duration(l.Duration), RenewDeadline: time.Duration(l.RenewDeadline), RetryPeriod: time.Duration(l.RetryPeriod), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("election.lease: %w", err)
	}
	return &leaseElector{LeaseElector: le, cli: cli, key: prefix + "/lease-term", id: id, log: log, m: m}, nil
}

// Run campaigns for the Lease and, once held, starts a term in etcd
// before it runs lead.
func (e *leaseElector) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	led := false
	err := e.LeaseElector.Run(ctx, func(ctx context.Context) error {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := e.cli.Put(tctx, e.key, e.id)
		cancel()
		if err != nil {
			return fmt.Errorf("election: start a term in etcd: %w", err)
		}
		e.mu.Lock()
		e.rev = resp.Header.Revision
		e.mu.Unlock()
		led = true
		e.m.TermStarted()
		defer func() {
			e.mu.Lock()
			e.rev = 0
			e.mu.Unlock()
		}()
		e.log.Info("Term started", "key", e.key, "revision", resp.Header.Revision)
		return lead(ctx)
	})
	if led {
		e.m.TermEnded(errors.Is(err, kube.ErrLeadershipLost))
	}
	return err
}

// IsLeader reports whether this replica holds the Lease and has started
// its term.
func (e *leaseElector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rev != 0 && e.LeaseElector.IsLeader()
}

// FenceCmp implements store.Fence: the term key must still have the
// revision this replica's term wrote.
func (e *leaseElector) FenceCmp() (clientv3.Cmp, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rev == 0 {
		return clientv3.Cmp{}, false
	}
	return clientv3.Compare(clientv3.ModRevision(e.key), "=", e.rev), true
}

// kubeClient returns a client from the kubeconfig at path (empty: the
// in-cluster service account, else $KUBECONFIG or ~/.kube/config) and
// the namespace it implies (the Pod's, or the context's; "default").
func kubeClient(path string) (kubernetes.Interface, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	rc.UserAgent = "vane"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, "", err
	}
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	return client, ns, nil
}
