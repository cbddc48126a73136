package controller

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/traffic"
)

// A service with a kubernetes section starts with its EndpointSlices'
// endpoints (read through the kubeconfig of vane.yaml) and its router
// re-applies the last routing when they change.
func TestKubeEndpointsFromVaneYAML(t *testing.T) {
	cluster := kubetest.Start(t)
	dir := t.TempDir()
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, cluster.URL, cluster.CAFile, kubetest.Token)
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "vane.yaml")
	yaml := `services:
  - name: cart
    stable: {version: v1}
    canary: {version: v2}
    rollout: {analysis: {requests_metric: r}}
    kubernetes: {namespace: default, service: cart-svc, kubeconfig: kubeconfig}
  - name: static
    stable: {version: v1, endpoints: [10.0.0.1:80]}
    rollout: {analysis: {requests_metric: r}}
`
	cfg, err := config.Parse(file, []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := cluster.Clientset(t)
	for name, v := range map[string]string{"cart-a": "v1", "cart-b": "v2"} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"version": v}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "cart"}}}}
		if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	port, ready := int32(8080), true
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "cart-svc-1", Labels: map[string]string{discoveryv1.LabelServiceName: "cart-svc"}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Port: &port}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.2.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "cart-a"}},
			{Addresses: []string{"10.2.0.2"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "cart-b"}}}}
	if s, err = client.DiscoveryV1().EndpointSlices("default").Create(ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var applied []traffic.Service
	inner := traffic.RouterFunc(func(_ context.Context, svc traffic.Service, _ traffic.Routing) (traffic.Applied, error) {
		mu.Lock()
		defer mu.Unlock()
		applied = append(applied, svc)
		return traffic.Applied{}, nil
	})
	g := &group{log: slog.New(slog.DiscardHandler), budget: 5 * time.Second}
	gctx, stopGroup := context.WithCancel(ctx)
	gdone := make(chan error, 1)
	defer func() { stopGroup(); <-gdone }()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	kw, err := kubeEndpoints(ctx, cfg, inner, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	var reconciled [][]rollout.ServiceConfig
	kw.start(g, func(s []rollout.ServiceConfig) error {
		mu.Lock()
		defer mu.Unlock()
		reconciled = append(reconciled, s)
		return nil
	}, log)
	go func() { gdone <- g.run(gctx) }()
	services := kw.fill(cfg.ServiceConfigs())
	if got := services[0]; !got.DynamicEndpoints || !slices.Equal(got.Service.Stable.Endpoints, []string{"10.2.0.1:8080"}) || !slices.Equal(got.Service.Canary.Endpoints, []string{"10.2.0.2:8080"}) {
		t.Fatalf("filled cart = %+v", got)
	}
	if got := services[1]; got.DynamicEndpoints || !slices.Equal(got.Service.Stable.Endpoints, []string{"10.0.0.1:80"}) {
		t.Fatalf("filled static = %+v", got)
	}
	if _, err := kw.router.Apply(ctx, cfg.Services[0].Traffic(), traffic.AllStable()); err != nil {
		t.Fatal(err)
	}

	s.Endpoints = s.Endpoints[1:]
	s.Endpoints[0].TargetRef.Name = "cart-a"
	start := time.Now()
	if _, err := client.DiscoveryV1().EndpointSlices("default").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		mu.Lock()
		last := applied[len(applied)-1]
		var rec []rollout.ServiceConfig
		if len(reconciled) > 0 {
			rec = reconciled[len(reconciled)-1]
		}
		mu.Unlock()
		if slices.Equal(last.Stable.Endpoints, []string{"10.2.0.2:8080"}) && len(last.Canary.Endpoints) == 0 &&
			len(rec) == 2 && slices.Equal(rec[0].Service.Stable.Endpoints, []string{"10.2.0.2:8080"}) {
			t.Logf("slice changed → router re-applied and services reconciled: %s", time.Since(start))
			return
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("after 5s the last apply is %+v, the last reconcile %+v", last, rec)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
