package kube_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/kube"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// budget is how soon an EndpointSlice change must reach a proxy.
const budget = time.Second

// edsClient is an ADS client that subscribes to the stable and canary
// ClusterLoadAssignments of a service, ACKs every response and sends the
// endpoints it holds on updates.
func edsClient(t *testing.T, ctx context.Context, addr, svc string) <-chan map[string][]string {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &discovery.DiscoveryRequest{Node: &core.Node{Id: "kube-test"}, TypeUrl: resourcev3.EndpointType,
		ResourceNames: []string{xds.StableCluster(svc), xds.CanaryCluster(svc)}}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	out := make(chan map[string][]string, 16)
	go func() {
		defer close(out)
		held := map[string][]string{}
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			for _, a := range resp.Resources {
				cla := &endpoint.ClusterLoadAssignment{}
				if err := a.UnmarshalTo(cla); err != nil {
					return
				}
				var eps []string
				for _, l := range cla.Endpoints {
					for _, e := range l.LbEndpoints {
						sa := e.GetEndpoint().GetAddress().GetSocketAddress()
						eps = append(eps, sa.GetAddress()+":"+itoa(sa.GetPortValue()))
					}
				}
				slices.Sort(eps)
				held[cla.ClusterName] = eps
			}
			snap := map[string][]string{}
			for k, v := range held {
				snap[k] = v
			}
			out <- snap
			req.VersionInfo, req.ResponseNonce = resp.VersionInfo, resp.Nonce
			if err := stream.Send(req); err != nil {
				return
			}
		}
	}()
	return out
}

func itoa(p uint32) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + p%10)}, b...)
		p /= 10
		if p == 0 {
			return string(b)
		}
	}
}

// await waits until the client holds want, at most limit after start, and
// returns how long after start it was.
func await(t *testing.T, ch <-chan map[string][]string, want map[string][]string, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	timer := time.NewTimer(time.Until(start.Add(limit)))
	defer timer.Stop()
	var last map[string][]string
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatalf("EDS stream ended; last endpoints %v, want %v", last, want)
			}
			last = got
			match := true
			for k, v := range want {
				match = match && slices.Equal(got[k], v)
			}
			if match {
				return time.Since(start)
			}
		case <-timer.C:
			t.Fatalf("after %s the proxy holds %v, want %v", limit, last, want)
		}
	}
}

func pod(name, version string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "cart", "version": version}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "cart:" + version}}}}
}

func ep(ip, podName string, ready bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: podName}}
}

func slice(name string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	port, pname := int32(8080), "http"
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: "cart"}},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: &pname, Port: &port}}}
}

func TestEndpointSliceChangesReachEDS(t *testing.T) {
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const ns = "shop"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{pod("cart-v1-a", "v1"), pod("cart-v1-b", "v1"), pod("cart-v2-a", "v2")} {
		if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	slices := client.DiscoveryV1().EndpointSlices(ns)
	if _, err := slices.Create(ctx, slice("cart-1", ep("10.1.0.1", "cart-v1-a", true), ep("10.1.0.2", "cart-v1-b", true)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Another Service's slice must not leak in.
	other := slice("shipping-1", ep("10.9.0.1", "cart-v1-a", true))
	other.Labels[discoveryv1.LabelServiceName] = "shipping"
	if _, err := slices.Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	w := kube.NewWatcher(client, kube.Selector{Namespace: ns, Service: "cart", VersionLabel: "version", PortName: "http"}, log)
	if err := w.Run(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	srv, err := xds.New(xds.Options{Listen: "127.0.0.1:0", Logger: log, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	router := kube.NewRouter(srv, map[string]*kube.Watcher{"cart": w}, log)
	reg := prometheus.NewRegistry()
	router.Metrics = kube.NewMetrics(reg)
	routerDone := make(chan struct{})
	go func() { router.Run(ctx); close(routerDone) }()
	defer func() {
		cancel()
		<-routerDone
		if err := <-done; err != nil {
			t.Errorf("xds Run: %v", err)
		}
	}()

	eds := edsClient(t, ctx, addr.String(), "cart")
	svc := traffic.Service{Name: "cart", Stable: traffic.Backend{Version: "v1"}, Canary: traffic.Backend{Version: "v2"}}
	actx, acancel := context.WithTimeout(ctx, 10*time.Second)
	if _, err := router.Apply(actx, svc, traffic.AllStable()); err != nil {
		t.Fatal(err)
	}
	acancel()
	stable, canary := xds.StableCluster("cart"), xds.CanaryCluster("cart")
	await(t, eds, map[string][]string{stable: {"10.1.0.1:8080", "10.1.0.2:8080"}, canary: nil}, time.Now(), 5*time.Second)

	// Created: the canary's slice.
	start := time.Now()
	if _, err := slices.Create(ctx, slice("cart-2", ep("10.1.0.3", "cart-v2-a", true)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	took := await(t, eds, map[string][]string{stable: {"10.1.0.1:8080", "10.1.0.2:8080"}, canary: {"10.1.0.3:8080"}}, start, budget)
	t.Logf("slice created → EDS: %s", took)

	// Changed: one stable endpoint is no longer ready.
	start = time.Now()
	s1, err := slices.Get(ctx, "cart-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s1.Endpoints = []discoveryv1.Endpoint{ep("10.1.0.1", "cart-v1-a", true), ep("10.1.0.2", "cart-v1-b", false)}
	if _, err := slices.Update(ctx, s1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	took = await(t, eds, map[string][]string{stable: {"10.1.0.1:8080"}, canary: {"10.1.0.3:8080"}}, start, budget)
	t.Logf("endpoint not ready → EDS: %s", took)

	// Deleted: the canary's slice goes.
	start = time.Now()
	if err := slices.Delete(ctx, "cart-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	took = await(t, eds, map[string][]string{stable: {"10.1.0.1:8080"}, canary: nil}, start, budget)
	t.Logf("slice deleted → EDS: %s", took)

	// A Pod relabelled to another version moves its endpoint (in between,
	// stable has no ready endpoint: that routing is refused and proxies
	// keep the last one).
	start = time.Now()
	p, err := client.CoreV1().Pods(ns).Get(ctx, "cart-v1-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels["version"] = "v2"
	if _, err := client.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s1, err = slices.Get(ctx, "cart-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s1.Endpoints[1] = ep("10.1.0.2", "cart-v1-b", true)
	if _, err := slices.Update(ctx, s1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	took = await(t, eds, map[string][]string{stable: {"10.1.0.2:8080"}, canary: {"10.1.0.1:8080"}}, start, budget)
	t.Logf("pod relabelled → EDS: %s", took)

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP vane_kube_ready_endpoints Ready endpoints taken from Kubernetes at the last apply, by backend (stable, canary).
# TYPE vane_kube_ready_endpoints gauge
vane_kube_ready_endpoints{backend="canary",service="cart"} 1
vane_kube_ready_endpoints{backend="stable",service="cart"} 1
`), "vane_kube_ready_endpoints"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "vane_kube_endpoint_reapplies_total"); err != nil || n == 0 {
		t.Errorf("re-applies counted in %d series, %v", n, err)
	}
}
