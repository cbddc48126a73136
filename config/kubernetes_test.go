package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKubernetesEndpointsSection(t *testing.T) {
	dir := t.TempDir()
	parse := func(svc string) (*Config, error) {
		f := filepath.Join(dir, "vane.yaml")
		b := []byte("services:\n  - name: cart\n    stable: {version: v1}\n    rollout: {analysis: {requests_metric: r}}\n" + svc)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return Parse(f, b, nil)
	}
	c, err := parse("    kubernetes: {}\n")
	if err != nil {
		t.Fatal(err)
	}
	if k := c.Services[0].Kubernetes; *k != (Kubernetes{Namespace: "default", Service: "cart", VersionLabel: "version"}) {
		t.Fatalf("defaults = %+v", *k)
	}
	if _, err := parse("    kubernetes: {namespace: shop, service: cart-svc, version_label: app.kubernetes.io/version, port: http}\n"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"", "vane.yaml:3:5: services[0].stable.endpoints: at least one endpoint"},
		{"    kubernetes:\n      namespace: Shop\n", `vane.yaml:6:7: services[0].kubernetes.namespace: "Shop"`},
		{"    kubernetes:\n      service: cart_svc\n", `vane.yaml:6:7: services[0].kubernetes.service: "cart_svc"`},
		{"    kubernetes:\n      version_label: 'a b'\n", `vane.yaml:6:7: services[0].kubernetes.version_label: "a b" is not a label key`},
		{"    kubernetes:\n      port: 8080x_\n", `vane.yaml:6:7: services[0].kubernetes.port: "8080x_" is not a port name`},
		{"    kubernetes:\n      kubeconfig: nope.yaml\n", "vane.yaml:6:7: services[0].kubernetes.kubeconfig: stat "},
		{"    kubernetes:\n      namespaces: shop\n", "vane.yaml:6"},
		{"    canary: {version: v2, endpoints: [10.0.0.2:80]}\n    kubernetes: {}\n", "vane.yaml:5:27: services[0].canary.endpoints: set, but the endpoints come from kubernetes"},
	} {
		_, err := parse(tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("service:\n%s\nerr = %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
