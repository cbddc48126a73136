package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/kube"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/traffic"
)

// kubeWiring connects the services whose endpoints come from Kubernetes
// to the rollout loops.
type kubeWiring struct {
	// router is what the rollout loops apply routings through (the xDS
	// server itself when no service is watched).
	router traffic.Router
	kr     *kube.Router

	mu   sync.Mutex
	last []rollout.ServiceConfig
}

// fill puts the watched endpoints into service configurations (and
// remembers them for later endpoint changes).
func (k *kubeWiring) fill(services []rollout.ServiceConfig) []rollout.ServiceConfig {
	if k.kr == nil {
		return services
	}
	k.mu.Lock()
	k.last = services
	k.mu.Unlock()
	out := make([]rollout.ServiceConfig, len(services))
	for i, s := range services {
		if k.kr.Watches(s.Service.Name) {
			s.Service, s.DynamicEndpoints = k.kr.Fill(s.Service), true
		}
		out[i] = s
	}
	return out
}

// start adds to g the following of endpoint changes: each re-applies the
// service's routing, then hands the refilled services to reconcile (so
// that a canary whose Pods became ready starts its rollout).
func (k *kubeWiring) start(g *group, reconcile func([]rollout.ServiceConfig) error, log *slog.Logger) {
	if k.kr == nil {
		return
	}
	k.kr.OnChange = func(string) {
		k.mu.Lock()
		last := k.last
		k.mu.Unlock()
		if err := reconcile(k.fill(last)); err != nil {
			log.Warn("Kubernetes endpoints changed; the services could not be reconciled", "err", err)
		}
	}
	g.add("kubernetes endpoints", func(ctx context.Context) error { k.kr.Run(ctx); return nil })
}

// kubeEndpoints starts a Watcher for every service whose endpoints come
// from Kubernetes and waits for their caches; the watchers run until ctx
// ends.
func kubeEndpoints(ctx context.Context, cfg *config.Config, xs traffic.Router, reg prometheus.Registerer, log *slog.Logger) (*kubeWiring, error) {
	watchers := map[string]*kube.Watcher{}
	clients := map[string]kubernetes.Interface{}
	for _, s := range cfg.Services {
		k := s.Kubernetes
		if k == nil {
			continue
		}
		path := cfg.Resolve(k.Kubeconfig)
		client := clients[path]
		if client == nil {
			c, _, err := kubeClient(path)
			if err != nil {
				return nil, fmt.Errorf("service %q: kubernetes: %w", s.Name, err)
			}
			client = c
			clients[path] = client
		}
		w := kube.NewWatcher(client, kube.Selector{Namespace: k.Namespace, Service: k.Service, VersionLabel: k.VersionLabel, PortName: k.Port},
			log.With("component", "kube", "service", s.Name))
		if err := w.Run(ctx, 30*time.Second); err != nil {
			return nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
		watchers[s.Name] = w
	}
	if len(watchers) == 0 {
		return &kubeWiring{router: xs}, nil
	}
	r := kube.NewRouter(xs, watchers, log.With("component", "kube"))
	r.Metrics = kube.NewMetrics(reg)
	return &kubeWiring{router: r, kr: r}, nil
}
