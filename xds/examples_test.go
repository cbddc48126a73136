package xds_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	bootstrap "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3" // Any type in the example
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vaneproj/vane/xds"
)

// The README's gRPC bootstrap example is what Bootstrap builds.
func TestGRPCBootstrapExampleMatchesBootstrap(t *testing.T) {
	file, err := os.ReadFile("../examples/grpc-bootstrap.json")
	if err != nil {
		t.Fatal(err)
	}
	built, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: xds.DefaultListen, NodeID: "checkout-client-1", Cluster: "checkout-clients"})
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(file, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(built, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("examples/grpc-bootstrap.json:\n%s\nBootstrap builds:\n%s", ja, jb)
	}
}

// The Envoy bootstrap example is a valid Envoy v3 Bootstrap pointing at ADS.
func TestEnvoyBootstrapExampleIsValid(t *testing.T) {
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
	if bs.GetDynamicResources().GetAdsConfig().GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName() != "vane_xds" ||
		bs.GetDynamicResources().GetLdsConfig().GetAds() == nil || bs.GetDynamicResources().GetCdsConfig().GetAds() == nil {
		t.Errorf("the example does not take LDS and CDS over ADS from vane_xds")
	}
}
