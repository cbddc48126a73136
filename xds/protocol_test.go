package xds

import (
	"testing"

	upstreamhttp "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/vaneproj/vane/traffic"
)

func TestProtocolSetsTheClustersUpstreamProtocol(t *testing.T) {
	for name, tc := range map[string]struct {
		protocol traffic.Protocol
		want     string // "none", "http1" or "http2"
	}{
		"unset is Envoy's default":  {"", "none"},
		"http is explicit HTTP/1.1": {traffic.HTTP, "http1"},
		"http2 is explicit HTTP/2":  {traffic.HTTP2, "http2"},
		"grpc is explicit HTTP/2":   {traffic.GRPC, "http2"},
	} {
		svc := traffic.Service{Name: "checkout", Protocol: tc.protocol,
			Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:9001"}}}
		res, err := BuildResources(svc, traffic.AllStable())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, c := range res.Clusters {
			got := "none"
			if a, ok := c.GetTypedExtensionProtocolOptions()[HTTPProtocolOptionsKey]; ok {
				var o upstreamhttp.HttpProtocolOptions
				if err := a.UnmarshalTo(&o); err != nil {
					t.Fatal(err)
				}
				switch {
				case o.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil:
					got = "http2"
				case o.GetExplicitHttpConfig().GetHttpProtocolOptions() != nil:
					got = "http1"
				default:
					got = "other"
				}
			}
			if got != tc.want {
				t.Errorf("%s: cluster %s has %s, want %s", name, c.GetName(), got, tc.want)
			}
		}
	}
	if _, err := BuildResources(traffic.Service{Name: "checkout", Protocol: "spdy",
		Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:9001"}}}, traffic.AllStable()); err == nil {
		t.Fatal("an unknown protocol was accepted")
	}
}
