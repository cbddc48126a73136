package kube

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/vaneproj/vane/traffic"
)

// Router is a traffic.Router whose services' endpoints come from
// Watchers: Apply replaces the stable and canary endpoint lists of a
// watched service with the Watcher's ready endpoints of each version, and
// Run re-applies the last routing of a service when they change.
type Router struct {
	inner    traffic.Router
	watchers map[string]*Watcher
	log      *slog.Logger
	// Timeout bounds a re-apply after an endpoint change (default 10s).
	Timeout time.Duration
	// OnChange, when set before Run, is called after every endpoint
	// change of a service (after its re-apply), e.g. to start a rollout
	// once the canary has endpoints.
	OnChange func(service string)
	// Metrics; NewRouter sets unregistered ones.
	Metrics *Metrics

	mu   sync.Mutex
	last map[string]applied
	svc  map[string]*sync.Mutex
}

type applied struct {
	svc traffic.Service
	r   traffic.Routing
}

// NewRouter wraps inner; watchers maps a routed service's name to its
// Watcher. Services without one pass through unchanged. log may be nil.
func NewRouter(inner traffic.Router, watchers map[string]*Watcher, log *slog.Logger) *Router {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{inner: inner, watchers: watchers, log: log, Timeout: 10 * time.Second, Metrics: NewMetrics(nil),
		last: map[string]applied{}, svc: map[string]*sync.Mutex{}}
}

// Watches reports whether the service name's endpoints come from a
// Watcher.
func (r *Router) Watches(name string) bool { return r.watchers[name] != nil }

// Fill returns svc with its endpoints taken from its Watcher, if it has
// one.
func (r *Router) Fill(svc traffic.Service) traffic.Service {
	w := r.watchers[svc.Name]
	if w == nil {
		return svc
	}
	svc.Stable.Endpoints = w.Endpoints(svc.Stable.Version)
	svc.Canary.Endpoints = w.Endpoints(svc.Canary.Version)
	return svc
}

func (r *Router) lock(name string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.svc[name]
	if l == nil {
		l = &sync.Mutex{}
		r.svc[name] = l
	}
	return l
}

// Apply applies routing to svc with its current Kubernetes endpoints.
func (r *Router) Apply(ctx context.Context, svc traffic.Service, routing traffic.Routing) (traffic.Applied, error) {
	l := r.lock(svc.Name)
	l.Lock()
	defer l.Unlock()
	if r.watchers[svc.Name] != nil {
		r.mu.Lock()
		r.last[svc.Name] = applied{svc: svc, r: routing}
		r.mu.Unlock()
	}
	filled := r.Fill(svc)
	if r.watchers[svc.Name] != nil {
		r.Metrics.endpoints.WithLabelValues(svc.Name, "stable").Set(float64(len(filled.Stable.Endpoints)))
		r.Metrics.endpoints.WithLabelValues(svc.Name, "canary").Set(float64(len(filled.Canary.Endpoints)))
	}
	return r.inner.Apply(ctx, filled, routing)
}

// Run re-applies, until ctx ends, a service's last routing each time its
// Watcher reports a change. A failed re-apply is logged; the proxies keep
// the endpoints they had.
func (r *Router) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for name, w := range r.watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-w.Changed():
				}
				r.reapply(ctx, name)
				if r.OnChange != nil {
					r.OnChange(name)
				}
			}
		}()
	}
	wg.Wait()
}

// reapply applies the last routing of the service name again, with its
// current endpoints.
func (r *Router) reapply(ctx context.Context, name string) {
	r.mu.Lock()
	a, ok := r.last[name]
	r.mu.Unlock()
	if !ok {
		return
	}
	actx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	res, err := r.Apply(actx, a.svc, a.r)
	if err != nil {
		r.Metrics.reapplies.WithLabelValues(name, "failed").Inc()
		r.log.Warn("Kubernetes endpoints changed but were not applied", "service", name, "err", err)
		return
	}
	r.Metrics.reapplies.WithLabelValues(name, "applied").Inc()
	r.log.Debug("Kubernetes endpoints applied", "service", name, "version", res.Version, "took", res.Took)
}
