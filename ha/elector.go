package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// ErrLeadershipLost is returned by Run when this replica led and its
// session ended.
var ErrLeadershipLost = errors.New("ha: leadership lost (the etcd session ended)")

// Options configures an Elector.
type Options struct {
	// Prefix is the store's key prefix; the election lives under
	// <Prefix>/leader. Required.
	Prefix string
	// ID names this replica in the election (e.g. host:port of its API).
	// Required.
	ID string
	// TTL is the session lease's TTL, rounded down to seconds (at least 1s):
	// a dead leader is replaced within it.
	TTL time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil means unregistered metrics.
	Metrics *Metrics
}

// Elector campaigns for leadership and fences writes. It is safe for
// concurrent use.
type Elector struct {
	cli *clientv3.Client
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	session *concurrency.Session
	elec    *concurrency.Election
	key     string
	rev     int64 // the election key's create revision while leading; 0 otherwise
}

// New checks the options; Run campaigns.
func New(cli *clientv3.Client, o Options) (*Elector, error) {
	if o.Prefix == "" || o.ID == "" {
		return nil, errors.New("ha: Options.Prefix and Options.ID are required")
	}
	if o.TTL < time.Second {
		return nil, fmt.Errorf("ha: TTL %s is under a second", o.TTL)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return &Elector{cli: cli, o: o, log: o.Logger}, nil
}

// ID returns this replica's ID in the election.
func (e *Elector) ID() string { return e.o.ID }

// Key returns the election's key prefix.
func (e *Elector) Key() string { return e.o.Prefix + "/leader" }

// FenceCmp implements store.Fence: the election key must still have the
// create revision this replica won with.
func (e *Elector) FenceCmp() (clientv3.Cmp, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rev == 0 {
		return clientv3.Cmp{}, false
	}
	return clientv3.Compare(clientv3.CreateRevision(e.key), "=", e.rev), true
}

// IsLeader reports whether this replica believes it leads (writes are
// fenced regardless).
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rev != 0
}

// Leader returns the ID of the current leader, or "" when there is none.
func (e *Elector) Leader(ctx context.Context) (string, error) {
	resp, err := e.cli.Get(ctx, e.Key()+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("ha: read the leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Run campaigns until this replica leads, then runs lead with a context
// that ends when ctx ends or the session is lost. It returns nil when ctx
// ended (after resigning, so that another replica takes over at once), or
// ErrLeadershipLost (wrapped) when the session ended while leading, or
// lead's error.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context) error) error {
	s, err := concurrency.NewSession(e.cli, concurrency.WithTTL(int(e.o.TTL/time.Second)), concurrency.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("ha: start an etcd session: %w", err)
	}
	lost := false
	defer func() {
		if !lost {
			_ = s.Close() // revokes the lease: followers need not wait for the TTL
		}
	}()
	el := concurrency.NewElection(s, e.Key())
	e.log.Info("Campaigning for leadership", "id", e.o.ID, "ttl", e.o.TTL)
	if err := el.Campaign(ctx, e.o.ID); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-s.Done():
			lost = true
			return fmt.Errorf("%w while campaigning: %w", ErrLeadershipLost, err)
		default:
		}
		return fmt.Errorf("ha: campaign: %w", err)
	}
	e.mu.Lock()
	e.session, e.elec, e.key, e.rev = s, el, el.Key(), el.Rev()
	e.mu.Unlock()
	e.o.Metrics.terms.Inc()
	e.o.Metrics.leader.Set(1)
	defer func() {
		e.mu.Lock()
		e.session, e.elec, e.key, e.rev = nil, nil, "", 0
		e.mu.Unlock()
		e.o.Metrics.leader.Set(0)
	}()
	e.log.Info("Leading", "id", e.o.ID, "key", el.Key(), "revision", el.Rev())

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lead(lctx) }()
	select {
	case err := <-done:
		e.resign(s, el)
		return err
	case <-ctx.Done():
		cancel()
		err := <-done
		e.resign(s, el)
		return err
	case <-s.Done():
		// Stop acting first: fencing refuses the writes meanwhile. The
		// lease is gone or going: nothing to revoke.
		lost = true
		e.mu.Lock()
		e.rev = 0
		e.mu.Unlock()
		cancel()
		<-done
		e.o.Metrics.lost.Inc()
		e.log.Error("Leadership lost; stopped acting", "id", e.o.ID)
		return ErrLeadershipLost
	}
}

func (e *Elector) resign(s *concurrency.Session, el *concurrency.Election) {
	e.mu.Lock()
	e.rev = 0
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := el.Resign(ctx); err != nil {
		e.log.Warn("Could not resign; the lease expires instead", "err", err)
	}
	_ = s
}

// orphan ends the session without revoking its lease, as a crash would:
// the lease, and the leadership, last until the TTL. For tests.
func (e *Elector) orphan() {
	e.mu.Lock()
	s := e.session
	e.mu.Unlock()
	if s != nil {
		s.Orphan()
	}
}
