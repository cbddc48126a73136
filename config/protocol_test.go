package config

import (
	"strings"
	"testing"

	"github.com/vaneproj/vane/traffic"
)

func TestProtocolVersionLabelValuesAndAPITLS(t *testing.T) {
	yml := `services:
  - name: checkout
    protocol: grpc
    stable: {version: v1, endpoints: ["127.0.0.1:9001"]}
    rollout:
      analysis:
        requests_metric: demo_requests_total
        version_label_values: {v1: checkout-7d9f6}
`
	cfg, err := Parse("vane.yaml", []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Services[0]
	if s.Traffic().Protocol != traffic.GRPC {
		t.Errorf("protocol did not reach the service: %+v", s.Traffic())
	}
	if got := s.Rollout.Analysis.LabelValue("v1"); got != "checkout-7d9f6" {
		t.Errorf("LabelValue(v1) = %q", got)
	}
	if got := s.Rollout.Analysis.LabelValue("v2"); got != "v2" {
		t.Errorf("LabelValue(v2) = %q, want the name itself", got)
	}

	for name, tc := range map[string]struct{ yml, want string }{
		"an unknown protocol is placed": {`services:
  - name: checkout
    stable: {version: v1, endpoints: ["127.0.0.1:9001"]}
    protocol: grcp
`, `vane.yaml:4:5: services[0].protocol: "grcp" is not one of http, http2, grpc`},
		"a certificate without its key": {`http:
  cert_file: api.crt
`, `vane.yaml:1:1: http: cert_file and key_file go together`},
		"a missing certificate file": {`http:
  cert_file: missing.crt
  key_file: missing.key
`, `vane.yaml:2:3: http.cert_file: stat missing.crt`},
	} {
		_, err := Parse("vane.yaml", []byte(tc.yml), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}
