package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// validateStore checks the store section: its kind, and for etcd the
// endpoints, prefix, TLS files and timings.
func (c *Config) validateStore(v *validator) {
	s := c.Store
	if s.Kind != StoreKubernetes {
		for _, f := range []struct{ path, value string }{{"store.namespace", s.Namespace}, {"store.name", s.Name}, {"store.kubeconfig", s.Kubeconfig}} {
			if f.value != "" {
				v.at(f.path, "set, but store.kind is %s (it needs kind: kubernetes)", s.Kind)
			}
		}
	}
	switch s.Kind {
	case StoreBbolt:
		if len(s.Endpoints) > 0 {
			v.at("store.endpoints", "set, but store.kind is %s (endpoints need kind: etcd)", s.Kind)
		}
		return
	case StoreKubernetes:
		c.validateKubeStore(v)
		return
	case StoreEtcd:
	default:
		v.at("store.kind", "%q is not a store kind (want %s, %s or %s)", s.Kind, StoreBbolt, StoreEtcd, StoreKubernetes)
		return
	}
	if len(s.Endpoints) == 0 {
		v.at("store.endpoints", "kind etcd needs at least one endpoint (e.g. http://127.0.0.1:2379)")
	}
	for i, e := range s.Endpoints {
		if err := checkEtcdEndpoint(e); err != "" {
			v.at(fmt.Sprintf("store.endpoints[%d]", i), "%q: %s", e, err)
		}
	}
	if !strings.HasPrefix(s.Prefix, "/") || strings.HasSuffix(s.Prefix, "/") {
		v.at("store.prefix", "%q must start with / and not end with one (e.g. /vane)", s.Prefix)
	}
	if s.DialTimeout <= 0 {
		v.at("store.dial_timeout", "%s must be positive", s.DialTimeout)
	}
	if d := time.Duration(s.LeaseTTL); d < 2*time.Second || d%time.Second != 0 {
		v.at("store.lease_ttl", "%s must be a whole number of seconds, at least 2s (etcd leases count in seconds)", s.LeaseTTL)
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		v.at("store.tls", "cert_file and key_file go together")
	}
	for _, f := range []struct{ path, file string }{{"store.tls.ca_file", s.TLS.CAFile},
		{"store.tls.cert_file", s.TLS.CertFile}, {"store.tls.key_file", s.TLS.KeyFile}} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(c.Resolve(f.file)); err != nil {
			v.at(f.path, "%v", err)
		}
	}
}

// checkEtcdEndpoint returns what is wrong with an etcd client URL, or "".
func checkEtcdEndpoint(e string) string {
	u, err := url.Parse(e)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return "want an http:// or https:// URL with host and port"
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return "want host:port after the scheme"
	}
	return ""
}

// kubeNameMax is the longest store.name: the ConfigMaps carry it as a
// label value (vane.dev/store, vane.dev/replicas), and Kubernetes refuses
// label values over 63 characters. (The longest derived object name,
// the name with "-replica-" or "-history-" and 16 hex digits, stays far
// under the 253 an object name may have.)
const kubeNameMax = 63

// validateKubeStore checks store.kind kubernetes: the namespace, the
// ConfigMaps' base name and the kubeconfig, and that no etcd setting is
// given.
func (c *Config) validateKubeStore(v *validator) {
	s := c.Store
	if len(s.Endpoints) > 0 {
		v.at("store.endpoints", "set, but store.kind is kubernetes (endpoints need kind: etcd)")
	}
	if s.Prefix != "" {
		v.at("store.prefix", "set, but store.kind is kubernetes (the ConfigMaps are named by store.name)")
	}
	if s.TLS != (TLS{}) {
		v.at("store.tls", "set, but store.kind is kubernetes (the kubeconfig configures the API server's TLS)")
	}
	if s.LeaseTTL != 0 {
		v.at("store.lease_ttl", "set, but store.kind is kubernetes (election.lease.duration bounds the failover and the replicas' records there)")
	}
	if s.DialTimeout != 0 {
		v.at("store.dial_timeout", "set, but store.kind is kubernetes (dial_timeout is etcd's)")
	}
	if s.Namespace != "" {
		if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
			v.at("store.namespace", "%q: %s", s.Namespace, strings.Join(errs, "; "))
		}
	}
	if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 || len(s.Name) > kubeNameMax {
		if len(errs) == 0 {
			errs = []string{fmt.Sprintf("at most %d characters", kubeNameMax)}
		}
		v.at("store.name", "%q: %s", s.Name, strings.Join(errs, "; "))
	}
	if s.Kubeconfig != "" {
		if _, err := os.Stat(c.Resolve(s.Kubeconfig)); err != nil {
			v.at("store.kubeconfig", "%v", err)
		}
	}
}
