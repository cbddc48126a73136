package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/traffic"
)

// Replica is one replica a Local actuator runs.
type Replica interface {
	// Addr is the replica's gRPC address (host:port), published as an
	// endpoint of the service.
	Addr() string
	// MetricsAddr is the address of its /metrics (a scrape target).
	MetricsAddr() string
	// Close stops it once its calls in flight are answered.
	Close() error
}

// StartFunc starts replica number i (0, 1, …; a number is reused once its
// replica is gone).
type StartFunc func(ctx context.Context, i int) (Replica, error)

// LocalConfig configures a Local actuator.
type LocalConfig struct {
	// Service is the routed service whose stable endpoints the replicas
	// are: its Stable.Endpoints are replaced by the replicas' addresses.
	// Its canary, when set, is published as it is.
	Service traffic.Service
	// Router publishes the endpoints (Vane's xDS server). Required.
	Router traffic.Router
	// Routing gives the routing published with the endpoints; nil means
	// all traffic on the stable version.
	Routing func() traffic.Routing
	// Start starts one replica. Required.
	Start StartFunc
	// Initial is the number of replicas Start runs before it returns
	// (default 1).
	Initial int
	// StartupDelay is how long a new replica takes before it is added to
	// the endpoints, as a real one takes to boot.
	StartupDelay time.Duration
	// Drain is how long a replica removed from the endpoints keeps
	// serving (after every client ACKed its removal) before it is
	// stopped; default 500ms.
	Drain time.Duration
	// ApplyTimeout bounds each publication (default 10s).
	ApplyTimeout time.Duration
	// OnChange, when set, is called with the published replicas after
	// every change (e.g. to update scrape targets).
	OnChange func(published []Replica)
	// Logger receives the replicas' starts and stops; nil discards.
	Logger *slog.Logger
}

// Local runs replicas of a service in Vane's process and publishes their
// addresses as the service's stable endpoints through a traffic.Router:
// proxyless gRPC clients (and Envoy) spread their calls over them (EDS).
//
// SetScale records the desired count and returns; a worker goroutine
// then starts replicas (each added to the endpoints after StartupDelay)
// or removes them (from the endpoints first, then drained and stopped).
// GetScale reports the desired count and, as Ready, the replicas
// published and acknowledged by every connected client; it returns the
// last publication error, if any, until a publication succeeds.
//
// Local owns its service's stable endpoints: do not run a rollout on the
// same service meanwhile.
type Local struct {
	cfg LocalConfig
	log *slog.Logger

	mu        sync.Mutex
	desired   int
	published []Replica // in the endpoints, in start order
	lastErr   error

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	closed bool
}

// NewLocal checks cfg, starts cfg.Initial replicas, publishes them and
// returns once every connected client has acknowledged them (or ctx
// ends). The replicas run until Close.
func NewLocal(ctx context.Context, cfg LocalConfig) (*Local, error) {
	var errs []error
	if cfg.Router == nil {
		errs = append(errs, errors.New("router: required"))
	}
	if cfg.Start == nil {
		errs = append(errs, errors.New("start: required"))
	}
	if cfg.Initial < 0 {
		errs = append(errs, fmt.Errorf("initial: %d is negative", cfg.Initial))
	}
	if cfg.StartupDelay < 0 || cfg.Drain < 0 || cfg.ApplyTimeout < 0 {
		errs = append(errs, errors.New("startup_delay, drain and apply_timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: local actuator %q: %w", ErrInvalid, cfg.Service.Name, err)
	}
	if cfg.Initial == 0 {
		cfg.Initial = 1
	}
	if cfg.Drain == 0 {
		cfg.Drain = 500 * time.Millisecond
	}
	if cfg.ApplyTimeout == 0 {
		cfg.ApplyTimeout = 10 * time.Second
	}
	if cfg.Routing == nil {
		cfg.Routing = traffic.AllStable
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Local{cfg: cfg, log: log.With("service", cfg.Service.Name), desired: cfg.Initial,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	var started []Replica
	for i := range cfg.Initial {
		r, err := cfg.Start(ctx, i)
		if err != nil {
			closeAll(started)
			return nil, fmt.Errorf("local actuator %q: start replica %d: %w", cfg.Service.Name, i, err)
		}
		started = append(started, r)
	}
	if err := l.publish(ctx, started); err != nil {
		closeAll(started)
		return nil, err
	}
	l.published = started
	l.changed()
	wctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.work(wctx)
	return l, nil
}

// Kind implements Kinded.
func (l *Local) Kind() string { return "local" }

// GetScale implements autoscale.Actuator.
func (l *Local) GetScale(context.Context) (autoscale.Scale, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return autoscale.Scale{}, fmt.Errorf("local actuator %q: closed", l.cfg.Service.Name)
	}
	if l.lastErr != nil {
		return autoscale.Scale{}, l.lastErr
	}
	return autoscale.Scale{Desired: int32(l.desired), Ready: int32(len(l.published))}, nil
}

// SetScale implements autoscale.Actuator: it records the count and wakes
// the worker; GetScale shows the replicas as they become ready.
func (l *Local) SetScale(_ context.Context, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("local actuator %q: %w: %d replicas", l.cfg.Service.Name, ErrInvalid, replicas)
	}
	if replicas == 0 {
		return fmt.Errorf("local actuator %q: %w: 0 replicas would leave the service without endpoints", l.cfg.Service.Name, ErrInvalid)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("local actuator %q: closed", l.cfg.Service.Name)
	}
	l.desired = int(replicas)
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// Replicas returns the published replicas.
func (l *Local) Replicas() []Replica {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.published)
}

// Close stops the worker and every replica. It is idempotent.
func (l *Local) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	err := closeAll(l.published)
	l.published = nil
	return err
}

// work reconciles the replicas with the desired count until ctx ends,
// retrying a failed publication with backoff.
func (l *Local) work(ctx context.Context) {
	defer close(l.done)
	backoff := 200 * time.Millisecond
	for {
		err := l.reconcile(ctx)
		l.mu.Lock()
		l.lastErr = err
		l.mu.Unlock()
		var retry *time.Timer
		var retryC <-chan time.Time
		if err != nil && ctx.Err() == nil {
			l.log.Warn("Local replicas not reconciled; retrying", "wait", backoff, "err", err)
			retry = time.NewTimer(backoff)
			retryC = retry.C
			backoff = min(2*backoff, 5*time.Second)
		} else {
			backoff = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-l.wake:
		case <-retryC:
		}
		if retry != nil {
			retry.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// reconcile brings the published replicas to the desired count.
func (l *Local) reconcile(ctx context.Context) error {
	for {
		l.mu.Lock()
		want, have := l.desired, len(l.published)
		cur := slices.Clone(l.published)
		l.mu.Unlock()
		switch {
		case want > have:
			if err := l.scaleUp(ctx, cur, want-have); err != nil {
				return err
			}
		case want < have:
			if err := l.scaleDown(ctx, cur, have-want); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// scaleUp starts n replicas, waits for their start-up delay and
// publishes them with the current ones.
func (l *Local) scaleUp(ctx context.Context, cur []Replica, n int) error {
	var fresh []Replica
	for i := range n {
		r, err := l.cfg.Start(ctx, len(cur)+i)
		if err != nil {
			closeAll(fresh)
			return fmt.Errorf("local actuator %q: start replica %d: %w", l.cfg.Service.Name, len(cur)+i, err)
		}
		fresh = append(fresh, r)
	}
	if d := l.cfg.StartupDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			closeAll(fresh)
			return ctx.Err()
		case <-t.C:
		}
	}
	next := append(slices.Clone(cur), fresh...)
	if err := l.publish(ctx, next); err != nil {
		// Clients may have some of the new endpoints: publish the old set
		// again before the new replicas go.
		l.republish(cur)
		closeAll(fresh)
		return err
	}
	l.mu.Lock()
	l.published = next
	l.mu.Unlock()
	l.log.Info("Replicas added", "replicas", len(next), "added", n)
	l.changed()
	return nil
}

// scaleDown removes the n newest replicas from the endpoints, lets them
// drain, and stops them.
func (l *Local) scaleDown(ctx context.Context, cur []Replica, n int) error {
	next, gone := cur[:len(cur)-n], cur[len(cur)-n:]
	if err := l.publish(ctx, next); err != nil {
		l.republish(cur)
		return err
	}
	l.mu.Lock()
	l.published = slices.Clone(next)
	l.mu.Unlock()
	l.changed()
	t := time.NewTimer(l.cfg.Drain)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	t.Stop()
	if err := closeAll(gone); err != nil {
		l.log.Warn("Replica stopped with an error", "err", err)
	}
	l.log.Info("Replicas removed", "replicas", len(next), "removed", n)
	return nil
}

// publish applies the service with eps as its stable endpoints and waits
// for every connected client's ACK.
func (l *Local) publish(ctx context.Context, eps []Replica) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.ApplyTimeout)
	defer cancel()
	svc := l.cfg.Service
	svc.Stable.Endpoints = make([]string, len(eps))
	for i, r := range eps {
		svc.Stable.Endpoints[i] = r.Addr()
	}
	if _, err := l.cfg.Router.Apply(ctx, svc, l.cfg.Routing()); err != nil {
		return fmt.Errorf("local actuator %q: publish %d endpoints: %w", l.cfg.Service.Name, len(eps), err)
	}
	return nil
}

// republish publishes eps again after a failed change, best effort.
func (l *Local) republish(eps []Replica) {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.ApplyTimeout)
	defer cancel()
	if err := l.publish(ctx, eps); err != nil {
		l.log.Warn("Could not publish the previous endpoints again", "err", err)
	}
}

func (l *Local) changed() {
	if l.cfg.OnChange != nil {
		l.cfg.OnChange(l.Replicas())
	}
}

func closeAll(rs []Replica) error {
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// SampleApp returns a StartFunc that runs replicas of the demo's sample
// service (demo/sampleapp) at version, on free ports of host (default
// 127.0.0.1). With
// ratePerReplica > 0 each replica serves at most that many calls per
// second (a few slots of serviceTime each; calls beyond them queue).
func SampleApp(version, host string, ratePerReplica float64, serviceTime time.Duration, logger *slog.Logger) StartFunc {
	if host == "" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, "0")
	if serviceTime <= 0 {
		serviceTime = 20 * time.Millisecond
	}
	conc := 0
	if ratePerReplica > 0 {
		conc = max(1, int(math.Round(ratePerReplica*serviceTime.Seconds())))
	}
	return func(_ context.Context, i int) (Replica, error) {
		return sampleapp.Start(sampleapp.Config{Version: version, Latency: serviceTime, Concurrency: conc,
			GRPCAddr: addr, HTTPAddr: addr, Logger: logger})
	}
}
