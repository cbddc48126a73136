package xds_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	bootstrap "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttp "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// TestEnvoyExamplesFormACompleteGraph loads examples/envoy-bootstrap.yaml
// and examples/vane.yaml, serves the configuration's services from a real
// xDS server, fetches them over ADS the way that bootstrap makes Envoy do
// (LDS and CDS wildcards, RDS and EDS by the names they reference), and
// checks that they form a complete graph: the bootstrap reaches xds.listen,
// an Envoy listener on the service's listener_port → its HTTP connection
// manager's RDS name → a served RouteConfiguration → clusters that CDS
// serves, each over EDS with an assignment served by EDS, with HTTP/2
// upstream options for a grpc service. Every resource passes ValidateAll.
// (Envoy itself cannot be installed here.)
func TestEnvoyExamplesFormACompleteGraph(t *testing.T) {
	raw, err := os.ReadFile("../examples/vane.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("../examples/vane.yaml", raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs := loadEnvoyBootstrap(t)

	// The bootstrap's ADS cluster points at the configuration's xds.listen.
	ads := bs.GetDynamicResources().GetAdsConfig().GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName()
	var adsAddr string
	for _, c := range bs.GetStaticResources().GetClusters() {
		if c.GetName() != ads {
			continue
		}
		sa := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		adsAddr = net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
		if !hasHTTP2(t, c.GetTypedExtensionProtocolOptions()) {
			t.Errorf("bootstrap cluster %s does not speak HTTP/2 to the xDS server (gRPC)", ads)
		}
	}
	if adsAddr != cfg.XDS.Listen {
		t.Fatalf("the bootstrap's ADS cluster %q reaches %q, vane.yaml's xds.listen is %q", ads, adsAddr, cfg.XDS.Listen)
	}

	srv, err := xds.New(xds.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	ports := map[uint32]config.Service{}
	for _, s := range cfg.Services {
		if _, err := srv.Apply(ctx, s.Traffic(), traffic.AllStable()); err != nil {
			t.Fatal(err)
		}
		if s.ListenerPort != 0 {
			ports[s.ListenerPort] = s
		}
	}
	if len(ports) == 0 {
		t.Fatal("examples/vane.yaml gives no service a listener_port: Envoy would get no listener")
	}

	cc, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &core.Node{Id: bs.GetNode().GetId(), Cluster: bs.GetNode().GetCluster(), UserAgentName: "envoy"}
	fetch := func(typeURL string, names []string) []*anypb.Any {
		t.Helper()
		if err := stream.Send(&discovery.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: names}); err != nil {
			t.Fatal(err)
		}
		for {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetTypeUrl() == typeURL {
				return resp.GetResources()
			}
		}
	}
	validate := func(m proto.Message) {
		t.Helper()
		if err := m.(interface{ ValidateAll() error }).ValidateAll(); err != nil {
			t.Errorf("%T: %v", m, err)
		}
	}

	// LDS (wildcard): an Envoy listener on every listener_port.
	var rdsNames []string
	rdsOf := map[string]config.Service{}
	for _, a := range fetch(resourcev3.ListenerType, nil) {
		var l listener.Listener
		if err := a.UnmarshalTo(&l); err != nil {
			t.Fatal(err)
		}
		validate(&l)
		if l.GetApiListener() != nil {
			continue // for proxyless gRPC; Envoy ignores it
		}
		port := l.GetAddress().GetSocketAddress().GetPortValue()
		s, ok := ports[port]
		if !ok {
			t.Errorf("listener %s on port %d: no service has that listener_port", l.GetName(), port)
			continue
		}
		delete(ports, port)
		var m hcm.HttpConnectionManager
		if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&m); err != nil {
			t.Fatalf("listener %s: %v", l.GetName(), err)
		}
		rds := m.GetRds()
		if rds == nil || rds.GetConfigSource().GetAds() == nil {
			t.Fatalf("listener %s does not take its routes by RDS over ADS", l.GetName())
		}
		rdsNames = append(rdsNames, rds.GetRouteConfigName())
		rdsOf[rds.GetRouteConfigName()] = s
	}
	for port, s := range ports {
		t.Errorf("service %s: no Envoy listener on its listener_port %d", s.Name, port)
	}

	// RDS by name: every route's clusters.
	clustersOf := map[string]config.Service{}
	got := 0
	for _, a := range fetch(resourcev3.RouteType, rdsNames) {
		var rc route.RouteConfiguration
		if err := a.UnmarshalTo(&rc); err != nil {
			t.Fatal(err)
		}
		validate(&rc)
		s, ok := rdsOf[rc.GetName()]
		if !ok {
			continue
		}
		got++
		for _, vh := range rc.GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				if c := r.GetRoute().GetCluster(); c != "" {
					clustersOf[c] = s
				}
				for _, w := range r.GetRoute().GetWeightedClusters().GetClusters() {
					clustersOf[w.GetName()] = s
				}
			}
		}
	}
	if got != len(rdsNames) {
		t.Fatalf("RDS served %d of the route configurations %v", got, rdsNames)
	}

	// CDS (wildcard): every referenced cluster, over EDS, with the
	// service's upstream protocol.
	var edsNames []string
	for _, a := range fetch(resourcev3.ClusterType, nil) {
		var c cluster.Cluster
		if err := a.UnmarshalTo(&c); err != nil {
			t.Fatal(err)
		}
		validate(&c)
		s, ok := clustersOf[c.GetName()]
		if !ok {
			continue
		}
		delete(clustersOf, c.GetName())
		if c.GetType() != cluster.Cluster_EDS || c.GetEdsClusterConfig().GetEdsConfig().GetAds() == nil {
			t.Errorf("cluster %s is not EDS over ADS", c.GetName())
		}
		name := c.GetEdsClusterConfig().GetServiceName()
		if name == "" {
			name = c.GetName()
		}
		edsNames = append(edsNames, name)
		if s.Protocol == traffic.GRPC && !hasHTTP2(t, c.GetTypedExtensionProtocolOptions()) {
			t.Errorf("cluster %s of grpc service %s has no explicit HTTP/2 upstream option: Envoy would speak HTTP/1.1 to it", c.GetName(), s.Name)
		}
	}
	for c := range clustersOf {
		t.Errorf("route references cluster %s, which CDS does not serve", c)
	}

	// EDS by name: an assignment for every cluster.
	want := map[string]bool{}
	for _, n := range edsNames {
		want[n] = true
	}
	for _, a := range fetch(resourcev3.EndpointType, edsNames) {
		var cla endpoint.ClusterLoadAssignment
		if err := a.UnmarshalTo(&cla); err != nil {
			t.Fatal(err)
		}
		validate(&cla)
		delete(want, cla.GetClusterName())
	}
	for n := range want {
		t.Errorf("EDS serves no assignment for cluster %s", n)
	}
}

func loadEnvoyBootstrap(t *testing.T) *bootstrap.Bootstrap {
	t.Helper()
	file, err := os.ReadFile("../examples/envoy-bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(file, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var bs bootstrap.Bootstrap
	if err := protojson.Unmarshal(j, &bs); err != nil {
		t.Fatalf("examples/envoy-bootstrap.yaml: %v", err)
	}
	if err := bs.ValidateAll(); err != nil {
		t.Fatalf("examples/envoy-bootstrap.yaml: %v", err)
	}
	return &bs
}

func hasHTTP2(t *testing.T, opts map[string]*anypb.Any) bool {
	t.Helper()
	a, ok := opts[xds.HTTPProtocolOptionsKey]
	if !ok {
		return false
	}
	var o upstreamhttp.HttpProtocolOptions
	if err := a.UnmarshalTo(&o); err != nil {
		t.Fatal(err)
	}
	return o.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
}
