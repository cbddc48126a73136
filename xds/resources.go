package xds

import (
	"fmt"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	router "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttp "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/vaneproj/vane/traffic"
)

// WarmupHeader is the header of the warm-up route: a route that references
// both clusters with weight 1 but can never match (it requires the header to
// be both present and absent). gRPC drops clusters of weight 0 from a route,
// so without it a client would only resolve the canary's CDS and EDS when
// the canary first gets weight, and would drop the stable cluster at 100%
// canary; and gRPC applies a route only once all the clusters it references
// are resolved (gRFC A74). With it every shift is RDS-only.
const WarmupHeader = "x-vane-warmup"

// Resources are the xDS resources that serve one service.
type Resources struct {
	// Listeners holds the API listener <svc> for proxyless gRPC and, when
	// the service has a listener port, the Envoy listener <svc>-envoy.
	Listeners []*listener.Listener
	// Routes holds the RouteConfiguration <svc>.
	Routes []*route.RouteConfiguration
	// Clusters holds the EDS clusters <svc>-stable and <svc>-canary.
	Clusters []*cluster.Cluster
	// Endpoints holds one ClusterLoadAssignment per cluster.
	Endpoints []*endpoint.ClusterLoadAssignment
}

// StableCluster is the name of svc's stable cluster.
func StableCluster(svc string) string { return svc + "-stable" }

// CanaryCluster is the name of svc's canary cluster.
func CanaryCluster(svc string) string { return svc + "-canary" }

// EnvoyListener is the name of svc's Envoy listener.
func EnvoyListener(svc string) string { return svc + "-envoy" }

// BuildResources builds the xDS resources for svc routed by r, as described
// in the package documentation. It validates its input and checks every
// resource with ValidateAll.
func BuildResources(svc traffic.Service, r traffic.Routing) (Resources, error) {
	if err := svc.Validate(); err != nil {
		return Resources{}, err
	}
	if err := r.ValidateFor(svc); err != nil {
		return Resources{}, err
	}
	apiHCM, err := anypb.New(httpConnectionManager(svc.Name))
	if err != nil {
		return Resources{}, fmt.Errorf("service %q: marshal http connection manager: %w", svc.Name, err)
	}
	res := Resources{
		Listeners: []*listener.Listener{{
			Name:        svc.Name,
			ApiListener: &listener.ApiListener{ApiListener: apiHCM},
		}},
		Routes:   []*route.RouteConfiguration{routeConfig(svc.Name, r)},
		Clusters: []*cluster.Cluster{edsCluster(StableCluster(svc.Name)), edsCluster(CanaryCluster(svc.Name))},
	}
	if opts, err := protocolOptions(svc.Protocol); err != nil {
		return Resources{}, fmt.Errorf("service %q: %w", svc.Name, err)
	} else if opts != nil {
		for _, c := range res.Clusters {
			c.TypedExtensionProtocolOptions = map[string]*anypb.Any{HTTPProtocolOptionsKey: opts}
		}
	}
	if svc.ListenerPort != 0 {
		res.Listeners = append(res.Listeners, envoyListener(svc.Name, svc.ListenerPort, apiHCM))
	}
	stable, err := loadAssignment(StableCluster(svc.Name), svc.Stable)
	if err != nil {
		return Resources{}, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	canary, err := loadAssignment(CanaryCluster(svc.Name), svc.Canary)
	if err != nil {
		return Resources{}, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	res.Endpoints = []*endpoint.ClusterLoadAssignment{stable, canary}
	for _, m := range res.all() {
		if err := m.(interface{ ValidateAll() error }).ValidateAll(); err != nil {
			return Resources{}, fmt.Errorf("service %q: resource %s %q: %w", svc.Name, typeName(typeOf(m)), nameOf(m), err)
		}
	}
	return res, nil
}

// all lists every resource.
func (r Resources) all() []types.Resource {
	var out []types.Resource
	for _, l := range r.Listeners {
		out = append(out, l)
	}
	for _, x := range r.Routes {
		out = append(out, x)
	}
	for _, c := range r.Clusters {
		out = append(out, c)
	}
	for _, e := range r.Endpoints {
		out = append(out, e)
	}
	return out
}

func adsSource() *core.ConfigSource {
	return &core.ConfigSource{
		ResourceApiVersion:    core.ApiVersion_V3,
		ConfigSourceSpecifier: &core.ConfigSource_Ads{Ads: &core.AggregatedConfigSource{}},
	}
}

// httpConnectionManager fetches RouteConfiguration svc over ADS and ends
// its filter chain with the router filter, as Envoy and gRPC both require.
func httpConnectionManager(svc string) *hcm.HttpConnectionManager {
	routerCfg, _ := anypb.New(&router.Router{}) // an empty message always marshals
	return &hcm.HttpConnectionManager{
		StatPrefix: svc,
		CodecType:  hcm.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcm.HttpConnectionManager_Rds{Rds: &hcm.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: svc,
		}},
		HttpFilters: []*hcm.HttpFilter{{
			Name:       wellknown.Router,
			ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: routerCfg},
		}},
	}
}

func envoyListener(svc string, port uint32, hcmAny *anypb.Any) *listener.Listener {
	return &listener.Listener{
		Name: EnvoyListener(svc),
		Address: &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
			Protocol:      core.SocketAddress_TCP,
			Address:       "0.0.0.0",
			PortSpecifier: &core.SocketAddress_PortValue{PortValue: port},
		}}},
		FilterChains: []*listener.FilterChain{{
			Filters: []*listener.Filter{{
				Name:       wellknown.HTTPConnectionManager,
				ConfigType: &listener.Filter_TypedConfig{TypedConfig: hcmAny},
			}},
		}},
	}
}

// routeConfig: header routes to the canary first, then the warm-up route,
// then the default weighted route.
func routeConfig(svc string, r traffic.Routing) *route.RouteConfiguration {
	canary := CanaryCluster(svc)
	var routes []*route.Route
	for i, h := range r.CanaryHeaders {
		routes = append(routes, &route.Route{
			Name: fmt.Sprintf("canary-header-%d", i),
			Match: &route.RouteMatch{
				PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"},
				Headers: []*route.HeaderMatcher{{
					Name: h.Name,
					HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{StringMatch: &matcher.StringMatcher{
						MatchPattern: &matcher.StringMatcher_Exact{Exact: h.Value},
					}},
				}},
			},
			Action: &route.Route_Route{Route: &route.RouteAction{ClusterSpecifier: &route.RouteAction_Cluster{Cluster: canary}}},
		})
	}
	routes = append(routes,
		&route.Route{
			Name: "canary-warmup",
			Match: &route.RouteMatch{
				PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"},
				Headers: []*route.HeaderMatcher{
					{Name: WarmupHeader, HeaderMatchSpecifier: &route.HeaderMatcher_PresentMatch{PresentMatch: true}},
					{Name: WarmupHeader, HeaderMatchSpecifier: &route.HeaderMatcher_PresentMatch{PresentMatch: false}},
				},
			},
			Action: &route.Route_Route{Route: &route.RouteAction{ClusterSpecifier: &route.RouteAction_WeightedClusters{
				WeightedClusters: &route.WeightedCluster{Clusters: []*route.WeightedCluster_ClusterWeight{
					{Name: StableCluster(svc), Weight: wrapperspb.UInt32(1)},
					{Name: canary, Weight: wrapperspb.UInt32(1)},
				}},
			}}},
		},
		&route.Route{
			Name:  "default",
			Match: &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}},
			Action: &route.Route_Route{Route: &route.RouteAction{ClusterSpecifier: &route.RouteAction_WeightedClusters{
				WeightedClusters: &route.WeightedCluster{Clusters: []*route.WeightedCluster_ClusterWeight{
					{Name: StableCluster(svc), Weight: wrapperspb.UInt32(uint32(r.Weights.Stable))},
					{Name: canary, Weight: wrapperspb.UInt32(uint32(r.Weights.Canary))},
				}},
			}}},
		})
	return &route.RouteConfiguration{
		Name: svc,
		VirtualHosts: []*route.VirtualHost{{
			Name:    svc,
			Domains: []string{"*"},
			Routes:  routes,
		}},
	}
}

func edsCluster(name string) *cluster.Cluster {
	return &cluster.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &cluster.Cluster_Type{Type: cluster.Cluster_EDS},
		EdsClusterConfig:     &cluster.Cluster_EdsClusterConfig{EdsConfig: adsSource()},
		ConnectTimeout:       durationpb.New(5e9),
		LbPolicy:             cluster.Cluster_ROUND_ROBIN,
	}
}

// HTTPProtocolOptionsKey is the key of the clusters' upstream HTTP protocol
// options in typed_extension_protocol_options.
const HTTPProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

// protocolOptions returns the clusters' upstream protocol options for p:
// Envoy speaks HTTP/1.1 to upstreams unless told otherwise, so gRPC and
// HTTP/2 services get explicit HTTP/2 (Envoy's docs, "HTTP upstream
// protocol options"); http gets explicit HTTP/1.1, and an unset protocol
// none (Envoy's default, HTTP/1.1). Proxyless gRPC clients ignore them.
func protocolOptions(p traffic.Protocol) (*anypb.Any, error) {
	var o *upstreamhttp.HttpProtocolOptions
	switch p {
	case "":
		return nil, nil
	case traffic.HTTP:
		o = &upstreamhttp.HttpProtocolOptions{UpstreamProtocolOptions: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &core.Http1ProtocolOptions{}},
			}}}
	case traffic.HTTP2, traffic.GRPC:
		o = &upstreamhttp.HttpProtocolOptions{UpstreamProtocolOptions: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &upstreamhttp.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &core.Http2ProtocolOptions{}},
			}}}
	default:
		return nil, fmt.Errorf("protocol: %w", p.Validate())
	}
	a, err := anypb.New(o)
	if err != nil {
		return nil, fmt.Errorf("marshal upstream protocol options: %w", err)
	}
	return a, nil
}

// loadAssignment puts b's endpoints in one locality with weight 1 (gRPC
// ignores localities without a weight and NACKs endpoints of weight 0). A
// backend without endpoints gets an assignment without localities.
func loadAssignment(name string, b traffic.Backend) (*endpoint.ClusterLoadAssignment, error) {
	cla := &endpoint.ClusterLoadAssignment{ClusterName: name}
	if len(b.Endpoints) == 0 {
		return cla, nil
	}
	loc := &endpoint.LocalityLbEndpoints{
		Locality:            &core.Locality{Region: "vane", Zone: b.Version},
		LoadBalancingWeight: wrapperspb.UInt32(1),
	}
	for _, ep := range b.Endpoints {
		host, port, err := traffic.SplitEndpoint(ep)
		if err != nil {
			return nil, err
		}
		loc.LbEndpoints = append(loc.LbEndpoints, &endpoint.LbEndpoint{
			HostIdentifier: &endpoint.LbEndpoint_Endpoint{Endpoint: &endpoint.Endpoint{
				Address: &core.Address{Address: &core.Address_SocketAddress{SocketAddress: &core.SocketAddress{
					Protocol:      core.SocketAddress_TCP,
					Address:       host,
					PortSpecifier: &core.SocketAddress_PortValue{PortValue: port},
				}}},
			}},
			LoadBalancingWeight: wrapperspb.UInt32(1),
		})
	}
	cla.Endpoints = []*endpoint.LocalityLbEndpoints{loc}
	return cla, nil
}
