package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestElectionSection(t *testing.T) {
	dir := t.TempDir()
	parse := func(rest string) (*Config, error) {
		f := filepath.Join(dir, "vane.yaml")
		b := []byte("services: []\n" + rest)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return Parse(f, b, nil)
	}
	const etcd = "store:\n  kind: etcd\n  endpoints: [http://127.0.0.1:2379]\n"
	c, err := parse(etcd)
	if err != nil || c.Election.Kind != ElectionEtcd || c.Election.Lease != nil {
		t.Fatalf("etcd store: election %+v, %v; want kind etcd", c.Election, err)
	}
	c, err = parse("")
	if err != nil || c.Election.Kind != "" {
		t.Fatalf("bbolt store: election %+v, %v; want none", c.Election, err)
	}
	c, err = parse(etcd + "election:\n  kind: lease\n")
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Election.Lease; l == nil || l.Name != "vane" || l.Namespace != "" || time.Duration(l.Duration) != 15*time.Second ||
		time.Duration(l.RenewDeadline) != 10*time.Second || time.Duration(l.RetryPeriod) != 15*time.Second/8 {
		t.Fatalf("lease defaults = %+v", l)
	}
	c, err = parse(etcd + "election:\n  kind: lease\n  lease: {namespace: ops, name: vane-leader, duration: 4s}\n")
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Election.Lease; l.Namespace != "ops" || l.Name != "vane-leader" || time.Duration(l.RenewDeadline) != 4*time.Second*2/3 || time.Duration(l.RetryPeriod) != 500*time.Millisecond {
		t.Fatalf("lease = %+v", l)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"election:\n  kind: lease\n", "vane.yaml:3:3: election.kind: lease needs store.kind: etcd"},
		{"election:\n  kind: etcd\n", "vane.yaml:3:3: election.kind: etcd needs store.kind: etcd"},
		{"election:\n  kind: lease\n", "store.kind bbolt"},
		{"store: {kind: kubernetes}\nelection:\n  kind: etcd\n", "vane.yaml:4:3: election.kind: etcd needs store.kind: etcd, and store.kind is kubernetes"},
		{etcd + "election:\n  kind: raft\n", `vane.yaml:6:3: election.kind: "raft" is not an election kind`},
		{etcd + "election:\n  lease: {name: x}\n", "vane.yaml:6:3: election.lease: set, but election.kind is etcd"},
		{etcd + "election:\n  kind: lease\n  lease:\n    name: Vane_Lease\n", `vane.yaml:8:5: election.lease.name: "Vane_Lease"`},
		{etcd + "election:\n  kind: lease\n  lease:\n    namespace: a.b\n", `vane.yaml:8:5: election.lease.namespace: "a.b"`},
		{etcd + "election:\n  kind: lease\n  lease:\n    duration: 500ms\n", "vane.yaml:8:5: election.lease.duration: 500ms is under a second"},
		{etcd + "election:\n  kind: lease\n  lease:\n    duration: 10s\n    renew_deadline: 10s\n", "vane.yaml:9:5: election.lease.renew_deadline: 10s must be positive and shorter than duration 10s"},
		{etcd + "election:\n  kind: lease\n  lease:\n    duration: 10s\n    retry_period: 6s\n", "vane.yaml:9:5: election.lease.retry_period: 6s must be positive"},
		{etcd + "election:\n  kind: lease\n  lease:\n    kubeconfig: nope\n", "vane.yaml:8:5: election.lease.kubeconfig"},
		{etcd + "election:\n  kind: lease\n  lease:\n    durationn: 5s\n", "durationn"},
	} {
		_, err := parse(tc.yaml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\nerr = %v\nwant it to contain %q", tc.yaml, err, tc.want)
		}
	}
}
