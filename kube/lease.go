package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLeadershipLost is returned by LeaseElector.Run when this replica led
// and could not renew its Lease in time.
var ErrLeadershipLost = errors.New("kube: leadership lost (the Lease was not renewed in time)")

// LeaseOptions configures a LeaseElector.
type LeaseOptions struct {
	// Namespace and Name of the coordination.k8s.io Lease. Required.
	Namespace, Name string
	// ID names this replica in the Lease's holderIdentity. Required.
	ID string
	// LeaseDuration is how long followers wait after the last renewal
	// before taking over (default 15s); RenewDeadline is how long the
	// leader retries renewing before it stops acting (default 2/3 of
	// LeaseDuration); RetryPeriod is the wait between tries (default
	// LeaseDuration/8).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logger; nil discards.
	Logger *slog.Logger

	// keepOnStop leaves the Lease held when ctx ends, as a crash would
	// (tests).
	keepOnStop bool
}

// LeaseElector elects one leader among replicas with a Kubernetes Lease
// (client-go's leaderelection with a resourcelock.LeaseLock), for
// clusters without an etcd of their own. It is safe for concurrent use.
type LeaseElector struct {
	client kubernetes.Interface
	o      LeaseOptions
	log    *slog.Logger

	mu      sync.Mutex
	leading bool
}

// NewLease checks the options; Run campaigns.
func NewLease(client kubernetes.Interface, o LeaseOptions) (*LeaseElector, error) {
	if o.Namespace == "" || o.Name == "" || o.ID == "" {
		return nil, errors.New("kube: LeaseOptions.Namespace, Name and ID are required")
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = o.LeaseDuration * 2 / 3
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = o.LeaseDuration / 8
	}
	if !(o.LeaseDuration > o.RenewDeadline && float64(o.RenewDeadline) > leaderelection.JitterFactor*float64(o.RetryPeriod)) {
		return nil, fmt.Errorf("kube: lease timings: want lease_duration %s > renew_deadline %s > %.1f × retry_period %s",
			o.LeaseDuration, o.RenewDeadline, leaderelection.JitterFactor, o.RetryPeriod)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &LeaseElector{client: client, o: o, log: o.Logger}, nil
}

// IsLeader reports whether this replica leads now.
func (e *LeaseElector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Leader returns the Lease's holder, "" when none.
func (e *LeaseElector) Leader(ctx context.Context) (string, error) {
	l, err := e.client.CoordinationV1().Leases(e.o.Namespace).Get(ctx, e.o.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("kube: lease %s/%s: %w", e.o.Namespace, e.o.Name, err)
	}
	if l.Spec.HolderIdentity == nil {
		return "", nil
	}
	return *l.Spec.HolderIdentity, nil
}

// Run campaigns until this replica leads, then runs lead with a context
// that ends when ctx ends or the Lease could not be renewed. It returns
// nil when ctx ended (after releasing the Lease, so that another replica
// takes over at once), ErrLeadershipLost when renewing failed while
// leading, or lead's error.
func (e *LeaseElector) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	lock := &writtenLock{Interface: &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.o.Namespace, Name: e.o.Name},
		Client:     e.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.o.ID},
	}}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var leadErr error
	var voluntary bool // lead returned before its context ended
	done := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, Name: e.o.Name,
		LeaseDuration: e.o.LeaseDuration, RenewDeadline: e.o.RenewDeadline, RetryPeriod: e.o.RetryPeriod,
		ReleaseOnCancel: !e.o.keepOnStop,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				defer close(done)
				e.mu.Lock()
				e.leading = true
				e.mu.Unlock()
				e.log.Info("Leading", "id", e.o.ID, "lease", e.o.Namespace+"/"+e.o.Name)
				leadErr = lead(lctx)
				voluntary = lctx.Err() == nil
				cancel() // lead returned: step down
			},
			OnStoppedLeading: func() {
				e.mu.Lock()
				e.leading = false
				e.mu.Unlock()
			},
		},
	})
	if err != nil {
		return fmt.Errorf("kube: lease election: %w", err)
	}
	e.log.Info("Campaigning for leadership", "id", e.o.ID, "lease", e.o.Namespace+"/"+e.o.Name, "lease_duration", e.o.LeaseDuration)
	le.Run(rctx)
	if !lock.written.Load() {
		return nil // ctx ended before this replica led
	}
	// A written Lease means the elector acquired it and started
	// OnStartedLeading (maybe not yet running): wait for lead to end.
	<-done
	e.mu.Lock()
	e.leading = false
	e.mu.Unlock()
	switch {
	case leadErr != nil || voluntary:
		return leadErr
	case ctx.Err() != nil:
		return nil
	}
	e.log.Error("Leadership lost; stopped acting", "id", e.o.ID)
	return ErrLeadershipLost
}

// writtenLock records that this replica wrote the Lease: leaderelection
// writes it only to acquire or renew (or, after leading, to release), and
// starts OnStartedLeading once it acquired it.
type writtenLock struct {
	resourcelock.Interface
	written atomic.Bool
}

// Create creates the Lease and records success.
func (l *writtenLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, r)
	if err == nil {
		l.written.Store(true)
	}
	return err
}

// Update updates the Lease and records success.
func (l *writtenLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, r)
	if err == nil {
		l.written.Store(true)
	}
	return err
}
