package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/kube"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/traffic"
)

// kubeEndpoints starts a Watcher for every service whose endpoints come
// from Kubernetes and waits for their caches. It returns the router the
// rollout loops use (xs itself when no service is watched) and fill, which
// puts the watched endpoints into service configurations.
func kubeEndpoints(ctx context.Context, g *runGroup, cfg *config.Config, xs traffic.Router, log *slog.Logger) (traffic.Router, func([]rollout.ServiceConfig) []rollout.ServiceConfig, error) {
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
			rules := clientcmd.NewDefaultClientConfigLoadingRules()
			rules.ExplicitPath = path
			rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
			if err != nil {
				return nil, nil, fmt.Errorf("service %q: kubernetes: kubeconfig: %w", s.Name, err)
			}
			rc.UserAgent = "vane"
			if client, err = kubernetes.NewForConfig(rc); err != nil {
				return nil, nil, fmt.Errorf("service %q: kubernetes: %w", s.Name, err)
			}
			clients[path] = client
		}
		w := kube.NewWatcher(client, kube.Selector{Namespace: k.Namespace, Service: k.Service, VersionLabel: k.VersionLabel, PortName: k.Port},
			log.With("component", "kube", "service", s.Name))
		if err := w.Run(ctx, 30*time.Second); err != nil {
			return nil, nil, fmt.Errorf("service %q: %w", s.Name, err)
		}
		watchers[s.Name] = w
	}
	if len(watchers) == 0 {
		return xs, func(s []rollout.ServiceConfig) []rollout.ServiceConfig { return s }, nil
	}
	r := kube.NewRouter(xs, watchers, log.With("component", "kube"))
	g.start(ctx, "kubernetes endpoints", func(ctx context.Context) error { r.Run(ctx); return nil })
	fill := func(services []rollout.ServiceConfig) []rollout.ServiceConfig {
		out := make([]rollout.ServiceConfig, len(services))
		for i, s := range services {
			if watchers[s.Service.Name] != nil {
				s.Service, s.DynamicEndpoints = r.Fill(s.Service), true
			}
			out[i] = s
		}
		return out
	}
	return r, fill, nil
}
