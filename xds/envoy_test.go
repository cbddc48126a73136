package xds_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vaneproj/vane/traffic"
)

// envoyStream speaks ADS the way Envoy does: LDS and CDS as legacy
// wildcards (no names), RDS and EDS by name, ACKing every response.
type envoyStream struct {
	t      *testing.T
	stream discovery.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	names  map[string][]string
}

func newEnvoyStream(t *testing.T, ctx context.Context, addr, node string) *envoyStream {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	st, err := discovery.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &envoyStream{t: t, stream: st, names: map[string][]string{
		resourcev3.ListenerType: nil,
		resourcev3.ClusterType:  nil,
		resourcev3.RouteType:    {"svc"},
		resourcev3.EndpointType: {"svc-stable", "svc-canary"},
	}}
	for i, url := range []string{resourcev3.ListenerType, resourcev3.ClusterType, resourcev3.RouteType, resourcev3.EndpointType} {
		req := &discovery.DiscoveryRequest{TypeUrl: url, ResourceNames: e.names[url]}
		if i == 0 {
			req.Node = &core.Node{Id: node, UserAgentName: "envoy"}
		}
		if err := st.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// recv reads one response and ACKs it.
func (e *envoyStream) recv() *discovery.DiscoveryResponse {
	e.t.Helper()
	resp, err := e.stream.Recv()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.stream.Send(&discovery.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(),
		ResponseNonce: resp.GetNonce(), ResourceNames: e.names[resp.GetTypeUrl()]}); err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func TestEnvoyStyleWildcardStreamGetsTheListenerAndIsTracked(t *testing.T) {
	e := newEnv(t)
	e.svc.ListenerPort = 10000
	e.apply(traffic.AllStable())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	envoy := newEnvoyStream(t, ctx, e.addr, "envoy-1")
	got := map[string]*discovery.DiscoveryResponse{}
	for len(got) < 4 {
		r := envoy.recv()
		got[r.GetTypeUrl()] = r
	}
	var names []string
	for _, a := range got[resourcev3.ListenerType].GetResources() {
		var l listener.Listener
		if err := a.UnmarshalTo(&l); err != nil {
			t.Fatal(err)
		}
		names = append(names, l.GetName())
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "svc,svc-envoy" {
		t.Fatalf("wildcard LDS gave %v, want the API listener and the Envoy listener", names)
	}
	if n := len(got[resourcev3.ClusterType].GetResources()); n != 2 {
		t.Fatalf("wildcard CDS gave %d clusters", n)
	}

	// A weight change: one RDS push, ACKed by the stream, which Apply waits for.
	done := make(chan traffic.Applied, 1)
	go func() {
		a, err := e.server.Apply(ctx, e.svc, weights(10))
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	if r := envoy.recv(); r.GetTypeUrl() != resourcev3.RouteType {
		t.Fatalf("a weight change pushed %s", r.GetTypeUrl())
	}
	if a := <-done; strings.Join(a.Acked, ",") != "envoy-1" {
		t.Errorf("acked by %v, want [envoy-1]", a.Acked)
	}

	// Dropping the listener port withdraws the Envoy listener: a full-state
	// LDS push without it.
	go func() {
		noPort := e.svc
		noPort.ListenerPort = 0
		a, err := e.server.Apply(ctx, noPort, weights(10))
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	r := envoy.recv()
	if r.GetTypeUrl() != resourcev3.ListenerType || len(r.GetResources()) != 1 {
		t.Fatalf("after dropping the port: %s with %d resources", r.GetTypeUrl(), len(r.GetResources()))
	}
	if a := <-done; strings.Join(a.Acked, ",") != "envoy-1" {
		t.Errorf("acked by %v, want [envoy-1]", a.Acked)
	}
}
