package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreSection(t *testing.T) {
	dir := t.TempDir()
	parse := func(store string) (*Config, error) {
		f := filepath.Join(dir, "vane.yaml")
		b := []byte("services: []\nstore:\n" + store)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return Parse(f, b, nil)
	}
	c, err := parse("  path: x.db\n")
	if err != nil || c.Store.Kind != StoreBbolt {
		t.Fatalf("default kind = %q, %v; want bbolt", c.Store.Kind, err)
	}
	c, err = parse("  kind: kubernetes\n  namespace: ops\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Name != "vane" || c.Election.Kind != ElectionLease || c.Election.Lease.Namespace != "ops" || c.Election.Lease.Name != "vane" {
		t.Fatalf("kubernetes defaults = %+v, election %+v %+v", c.Store, c.Election, c.Election.Lease)
	}
	c, err = parse("  kind: kubernetes\nelection:\n  lease: {namespace: ops2}\n")
	if err != nil || c.Store.Namespace != "ops2" {
		t.Fatalf("store namespace from the lease's = %+v, %v", c.Store, err)
	}
	c, err = parse("  kind: etcd\n  endpoints: [http://127.0.0.1:2379]\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Prefix != "/vane" || time.Duration(c.Store.DialTimeout) != 5*time.Second || time.Duration(c.Store.LeaseTTL) != 10*time.Second {
		t.Fatalf("etcd defaults = %+v", c.Store)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"  kind: consul\n", `vane.yaml:3:3: store.kind: "consul" is not a store kind`},
		{"  kind: etcd\n", "vane.yaml:2:1: store.endpoints: kind etcd needs at least one endpoint"},
		{"  kind: etcd\n  endpoints:\n    - http://a:1\n    - 127.0.0.1:2379\n", `vane.yaml:6:7: store.endpoints[1]: "127.0.0.1:2379": want an http:// or https:// URL`},
		{"  kind: etcd\n  endpoints: [http://a:1]\n  prefix: vane/\n", `vane.yaml:5:3: store.prefix: "vane/" must start with /`},
		{"  kind: etcd\n  endpoints: [http://a:1]\n  lease_ttl: 1500ms\n", "vane.yaml:5:3: store.lease_ttl: 1s500ms must be a whole number of seconds"},
		{"  kind: etcd\n  endpoints: [http://a:1]\n  dial_timeout: soon\n", "vane.yaml:5:17: store.dial_timeout"},
		{"  kind: etcd\n  endpoints: [http://a:1]\n  tls: {ca_file: nope.pem}\n", "vane.yaml:5:9: store.tls.ca_file"},
		{"  kind: kubernetes\n  endpoints: [http://a:1]\n", "vane.yaml:4:3: store.endpoints: set, but store.kind is kubernetes"},
		{"  kind: kubernetes\n  prefix: /vane\n", "vane.yaml:4:3: store.prefix: set, but store.kind is kubernetes"},
		{"  kind: kubernetes\n  lease_ttl: 5s\n", "vane.yaml:4:3: store.lease_ttl: set, but store.kind is kubernetes (election.lease.duration"},
		{"  kind: kubernetes\n  dial_timeout: 5s\n", "vane.yaml:4:3: store.dial_timeout: set, but store.kind is kubernetes"},
		{"  kind: kubernetes\n  name: Vane_State\n", `vane.yaml:4:3: store.name: "Vane_State"`},
		{"  kind: kubernetes\n  name: " + strings.Repeat("a", 64) + "\n", `vane.yaml:4:3: store.name: "` + strings.Repeat("a", 64) + `": at most 63 characters`},
		{"  kind: kubernetes\n  namespace: a.b\n", `vane.yaml:4:3: store.namespace: "a.b"`},
		{"  kind: kubernetes\n  kubeconfig: nope\n", "vane.yaml:4:3: store.kubeconfig"},
		{"  kind: etcd\n  endpoints: [http://a:1]\n  namespace: ops\n", "vane.yaml:5:3: store.namespace: set, but store.kind is etcd"},
		{"  endpoints: [http://a:1]\n", "vane.yaml:3:3: store.endpoints: set, but store.kind is bbolt"},
	} {
		_, err := parse(tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("store:\n%s\nerr = %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
