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
	"github.com/vaneproj/vane/store"
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
// leader's writes to the shared store. With etcd, at the start of each
// term the new leader writes a term key, and every write is conditioned
// on that key still having the revision it wrote. With the Kubernetes
// store, the new leader increments the term in the state ConfigMap, and
// every write is a resourceVersion-preconditioned update of that
// ConfigMap that checks the term is still its own. Either way a deposed
// leader that has not noticed yet (it stops acting after renew_deadline)
// can no longer write once its successor has started, as with etcd's own
// election.
type leaseElector struct {
	*kube.LeaseElector
	cli   *clientv3.Client // etcd: the term key's client; nil with the Kubernetes store
	key   string           // etcd: the term key
	begin func(ctx context.Context) (int64, error)
	id    string
	log   *slog.Logger
	m     *ha.Metrics

	mu  sync.Mutex
	rev int64 // the term (etcd: the term key's revision) while leading; 0 otherwise
}

// newLeaseElector builds the Lease election of cfg.Election.Lease for the
// etcd store's client.
func newLeaseElector(cfg *config.Config, cli *clientv3.Client, prefix, id string, log *slog.Logger, m *ha.Metrics) (*leaseElector, error) {
	le, err := newLease(cfg, id, log)
	if err != nil {
		return nil, err
	}
	e := &leaseElector{LeaseElector: le, cli: cli, key: prefix + "/lease-term", id: id, log: log, m: m}
	e.begin = func(ctx context.Context) (int64, error) {
		resp, err := cli.Put(ctx, e.key, id)
		if err != nil {
			return 0, fmt.Errorf("election: start a term in etcd: %w", err)
		}
		return resp.Header.Revision, nil
	}
	return e, nil
}

// newKubeLeaseElector builds the Lease election of cfg.Election.Lease for
// the Kubernetes store: each term starts with Kube.BeginTerm.
func newKubeLeaseElector(cfg *config.Config, db *store.Kube, id string, log *slog.Logger, m *ha.Metrics) (*leaseElector, error) {
	le, err := newLease(cfg, id, log)
	if err != nil {
		return nil, err
	}
	return &leaseElector{LeaseElector: le, id: id, log: log, m: m, key: db.Path(),
		begin: func(ctx context.Context) (int64, error) { return db.BeginTerm(ctx, id) }}, nil
}

// newLease builds the Kubernetes Lease election of cfg.Election.Lease.
func newLease(cfg *config.Config, id string, log *slog.Logger) (*kube.LeaseElector, error) {
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
	return le, nil
}

// Run campaigns for the Lease and, once held, starts a term in the store
// before it runs lead.
func (e *leaseElector) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	led := false
	err := e.LeaseElector.Run(ctx, func(ctx context.Context) error {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		term, err := e.begin(tctx)
		cancel()
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.rev = term
		e.mu.Unlock()
		led = true
		e.m.TermStarted()
		defer func() {
			e.mu.Lock()
			e.rev = 0
			e.mu.Unlock()
		}()
		e.log.Info("Term started", "key", e.key, "term", term)
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
	if e.rev == 0 || e.cli == nil {
		return clientv3.Cmp{}, false
	}
	return clientv3.Compare(clientv3.ModRevision(e.key), "=", e.rev), true
}

// Term implements store.TermFence: the term this replica started in the
// state ConfigMap, while it leads.
func (e *leaseElector) Term() (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rev, e.rev != 0 && e.cli == nil
}

// KubeQPS and KubeBurst bound the requests per second of Vane's
// Kubernetes clients.
const (
	KubeQPS   = 50
	KubeBurst = 100
)

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
	// client-go's default, 5 requests/s with bursts of 10, would throttle
	// the leader's saves with store.kind kubernetes (a save with events
	// takes up to five requests); the API server's priority and fairness
	// still protects it.
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = KubeQPS, KubeBurst
	}
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
