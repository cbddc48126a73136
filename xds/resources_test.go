package xds_test

import (
	"encoding/json"
	"strings"
	"testing"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"

	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

func checkout(port uint32) traffic.Service {
	return traffic.Service{
		Name:         "checkout",
		Stable:       traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:8080", "10.0.0.2:8080"}},
		Canary:       traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.3:8080"}},
		ListenerPort: port,
	}
}

func TestBuildResourcesHasTheDocumentedShape(t *testing.T) {
	r := traffic.Routing{Weights: traffic.Weights{Stable: 95, Canary: 5},
		CanaryHeaders: []traffic.HeaderMatch{{Name: "x-canary", Value: "always"}}}
	res, err := xds.BuildResources(checkout(10000), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Listeners) != 2 || res.Listeners[0].GetName() != "checkout" || res.Listeners[1].GetName() != "checkout-envoy" {
		t.Fatalf("listeners: %v", res.Listeners)
	}
	api := res.Listeners[0].GetApiListener().GetApiListener()
	var m hcm.HttpConnectionManager
	if err := api.UnmarshalTo(&m); err != nil {
		t.Fatal(err)
	}
	if m.GetRds().GetRouteConfigName() != "checkout" || m.GetRds().GetConfigSource().GetAds() == nil {
		t.Errorf("API listener HCM does not fetch RDS checkout over ADS: %v", &m)
	}
	if f := m.GetHttpFilters(); len(f) == 0 || f[len(f)-1].GetName() != wellknown.Router {
		t.Errorf("HCM filters %v do not end with the router", f)
	}
	envoy := res.Listeners[1]
	if envoy.GetAddress().GetSocketAddress().GetPortValue() != 10000 ||
		envoy.GetFilterChains()[0].GetFilters()[0].GetName() != wellknown.HTTPConnectionManager {
		t.Errorf("Envoy listener: %v", envoy)
	}

	if len(res.Routes) != 1 || res.Routes[0].GetName() != "checkout" || len(res.Routes[0].GetVirtualHosts()) != 1 {
		t.Fatalf("routes: %v", res.Routes)
	}
	routes := res.Routes[0].GetVirtualHosts()[0].GetRoutes()
	if len(routes) != 3 {
		t.Fatalf("want header, warm-up and default routes, got %d", len(routes))
	}
	if h := routes[0].GetMatch().GetHeaders(); len(h) != 1 || h[0].GetName() != "x-canary" ||
		h[0].GetStringMatch().GetExact() != "always" || routes[0].GetRoute().GetCluster() != "checkout-canary" {
		t.Errorf("header route: %v", routes[0])
	}
	warm := routes[1].GetMatch().GetHeaders()
	if len(warm) != 2 || warm[0].GetPresentMatch() == warm[1].GetPresentMatch() || warm[0].GetName() != warm[1].GetName() {
		t.Errorf("warm-up route can match: %v", routes[1])
	}
	if got := clusterWeights(routes[1]); got["checkout-stable"] == 0 || got["checkout-canary"] == 0 {
		t.Errorf("warm-up route must reference both clusters with weight > 0: %v", got)
	}
	if got := clusterWeights(routes[2]); got["checkout-stable"] != 95 || got["checkout-canary"] != 5 {
		t.Errorf("default route weights: %v", got)
	}

	if len(res.Clusters) != 2 || res.Clusters[0].GetName() != "checkout-stable" || res.Clusters[1].GetName() != "checkout-canary" {
		t.Fatalf("clusters: %v", res.Clusters)
	}
	for _, c := range res.Clusters {
		if c.GetType().String() != "EDS" || c.GetEdsClusterConfig().GetEdsConfig().GetAds() == nil {
			t.Errorf("cluster %s is not EDS over ADS", c.GetName())
		}
	}
	for i, want := range []int{2, 1} {
		cla := res.Endpoints[i]
		if len(cla.GetEndpoints()) != 1 {
			t.Fatalf("%s: %d localities", cla.GetClusterName(), len(cla.GetEndpoints()))
		}
		loc := cla.GetEndpoints()[0]
		if loc.GetLocality() == nil || loc.GetLoadBalancingWeight().GetValue() == 0 || len(loc.GetLbEndpoints()) != want {
			t.Errorf("%s: locality %v weight %v endpoints %d", cla.GetClusterName(), loc.GetLocality(), loc.GetLoadBalancingWeight(), len(loc.GetLbEndpoints()))
		}
	}
}

func clusterWeights(r *route.Route) map[string]uint32 {
	out := map[string]uint32{}
	for _, c := range r.GetRoute().GetWeightedClusters().GetClusters() {
		out[c.GetName()] = c.GetWeight().GetValue()
	}
	return out
}

func TestBuildResourcesWithoutPortOrCanaryEndpoints(t *testing.T) {
	svc := checkout(0)
	svc.Canary = traffic.Backend{}
	res, err := xds.BuildResources(svc, traffic.AllStable())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Listeners) != 1 {
		t.Errorf("no port, yet %d listeners", len(res.Listeners))
	}
	if n := len(res.Endpoints[1].GetEndpoints()); n != 0 {
		t.Errorf("canary without endpoints has %d localities", n)
	}
}

func TestBuildResourcesRejectsBadInput(t *testing.T) {
	tests := map[string]struct {
		svc  traffic.Service
		r    traffic.Routing
		want string
	}{
		"weights that do not sum to 100": {checkout(0), traffic.Routing{Weights: traffic.Weights{Stable: 90, Canary: 5}}, "must be 100"},
		"canary weight without endpoints": {func() traffic.Service { s := checkout(0); s.Canary = traffic.Backend{}; return s }(),
			traffic.Routing{Weights: traffic.Weights{Stable: 50, Canary: 50}}, "canary.endpoints is empty"},
		"a bad endpoint": {func() traffic.Service { s := checkout(0); s.Stable.Endpoints = []string{"10.0.0.1"}; return s }(),
			traffic.AllStable(), "stable.endpoints[0]"},
		"an upper-case name": {func() traffic.Service { s := checkout(0); s.Name = "Checkout"; return s }(), traffic.AllStable(), "name:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := xds.BuildResources(tc.svc, tc.r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestBootstrapJSON(t *testing.T) {
	b, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: "127.0.0.1:18000", NodeID: "loadgen-1", Cluster: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		XDSServers []struct {
			ServerURI      string                  `json:"server_uri"`
			ChannelCreds   []struct{ Type string } `json:"channel_creds"`
			ServerFeatures []string                `json:"server_features"`
		} `json:"xds_servers"`
		Node struct{ ID, Cluster string } `json:"node"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.XDSServers) != 1 || got.XDSServers[0].ServerURI != "127.0.0.1:18000" || got.XDSServers[0].ChannelCreds[0].Type != "insecure" ||
		got.Node.ID != "loadgen-1" || got.Node.Cluster != "demo" {
		t.Errorf("bootstrap: %s", b)
	}
	if _, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: "x:1"}); err == nil {
		t.Error("a bootstrap without node id was accepted")
	}
	tlsB, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: "x:1", NodeID: "n", CAFile: "/ca.pem"})
	if err != nil || !strings.Contains(string(tlsB), `"tls"`) || !strings.Contains(string(tlsB), "/ca.pem") {
		t.Errorf("TLS bootstrap: %s, %v", tlsB, err)
	}
}
