package config

import (
	"os"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Election chooses how the replicas of a controller on a shared store
// (store.kind etcd or kubernetes) elect the one that runs the rollout and
// autoscale loops. Every replica serves xDS and the API either way.
type Election struct {
	// Kind is etcd (the default with store.kind etcd: etcd's concurrency
	// election, beside the state) or lease (a Kubernetes Lease, through
	// client-go's leaderelection; the default, and the only choice, with
	// store.kind kubernetes). Both need a shared store: a new leader must
	// resume the rollouts where the old one left them, and the leader's
	// writes are fenced in that store (etcd: a term key; kubernetes: a
	// term in the state ConfigMap).
	Kind string `yaml:"kind"`
	// Lease configures kind lease.
	Lease *Lease `yaml:"lease"`
}

// Election kinds.
const (
	ElectionEtcd  = "etcd"
	ElectionLease = "lease"
)

// Lease is a coordination.k8s.io/v1 Lease that the replicas compete for.
type Lease struct {
	// Namespace of the Lease (default: store.namespace with store.kind
	// kubernetes, which defaults to this in turn; else the Pod's namespace, from the POD_NAMESPACE
	// variable or the service account, else the kubeconfig's context,
	// else "default").
	Namespace string `yaml:"namespace"`
	// Name of the Lease (default "vane").
	Name string `yaml:"name"`
	// Duration is how long the other replicas wait after the leader's
	// last renewal before one of them takes over (default 15s): a killed
	// leader is replaced within it.
	Duration model.Duration `yaml:"duration"`
	// RenewDeadline is how long the leader keeps retrying a renewal before
	// it stops acting (default 2/3 of duration); RetryPeriod is the wait
	// between tries (default duration/8).
	RenewDeadline model.Duration `yaml:"renew_deadline"`
	RetryPeriod   model.Duration `yaml:"retry_period"`
	// Kubeconfig is a kubeconfig file, relative to this file (default:
	// store.kubeconfig with store.kind kubernetes, which defaults to this
	// in turn; else the in-cluster
	// service account, else $KUBECONFIG or ~/.kube/config).
	Kubeconfig string `yaml:"kubeconfig"`
}

// electionDefaults fills the election section's defaults.
func (c *Config) electionDefaults() {
	e := &c.Election
	switch {
	case e.Kind == "" && c.Store.Kind == StoreEtcd:
		e.Kind = ElectionEtcd
	case e.Kind == "" && c.Store.Kind == StoreKubernetes:
		e.Kind = ElectionLease
	}
	if e.Kind != ElectionLease {
		return
	}
	if e.Lease == nil {
		e.Lease = &Lease{}
	}
	l := e.Lease
	if c.Store.Kind == StoreKubernetes {
		// The Lease lives beside the state, in the same cluster, unless
		// told otherwise; either section may name the namespace and the
		// kubeconfig for both.
		s := &c.Store
		for _, p := range []struct{ a, b *string }{{&l.Namespace, &s.Namespace}, {&l.Kubeconfig, &s.Kubeconfig}} {
			switch {
			case *p.a == "":
				*p.a = *p.b
			case *p.b == "":
				*p.b = *p.a
			}
		}
	}
	if l.Name == "" {
		l.Name = "vane"
	}
	if l.Duration == 0 {
		l.Duration = model.Duration(15 * time.Second)
	}
	if l.RenewDeadline == 0 {
		l.RenewDeadline = l.Duration * 2 / 3
	}
	if l.RetryPeriod == 0 {
		l.RetryPeriod = l.Duration / 8
	}
}

// jitterFactor is client-go leaderelection's JitterFactor: renew_deadline
// must exceed it times retry_period.
const jitterFactor = 1.2

// validateElection checks the election section against the store.
func (c *Config) validateElection(v *validator) {
	e := c.Election
	switch e.Kind {
	case "":
		if e.Lease != nil {
			v.at("election.lease", "set, but election.kind is not lease")
		}
		return
	case ElectionEtcd, ElectionLease:
	default:
		v.at("election.kind", "%q is not an election kind (want %s or %s)", e.Kind, ElectionEtcd, ElectionLease)
		return
	}
	switch {
	case e.Kind == ElectionEtcd && c.Store.Kind == StoreKubernetes:
		v.at("election.kind", "etcd needs store.kind: etcd, and store.kind is kubernetes: with the state in ConfigMaps, "+
			"elect with election.kind: lease (the default there)")
	case e.Kind == ElectionEtcd && c.Store.Kind != StoreEtcd:
		v.at("election.kind", "etcd needs store.kind: etcd: a new leader resumes the rollouts from the state the old one stored, "+
			"and with store.kind %s every replica keeps its own file", c.Store.Kind)
	case e.Kind == ElectionLease && c.Store.Kind != StoreEtcd && c.Store.Kind != StoreKubernetes:
		v.at("election.kind", "lease needs store.kind: etcd or kubernetes: a new leader resumes the rollouts from the state the old one stored, "+
			"and with store.kind %s every replica keeps its own file", c.Store.Kind)
	}
	if e.Kind != ElectionLease {
		if e.Lease != nil {
			v.at("election.lease", "set, but election.kind is %s", e.Kind)
		}
		return
	}
	l := e.Lease
	if l.Namespace != "" {
		if errs := validation.IsDNS1123Label(l.Namespace); len(errs) > 0 {
			v.at("election.lease.namespace", "%q: %s", l.Namespace, strings.Join(errs, "; "))
		}
	}
	if errs := validation.IsDNS1123Subdomain(l.Name); len(errs) > 0 {
		v.at("election.lease.name", "%q: %s", l.Name, strings.Join(errs, "; "))
	}
	d, renew, retry := time.Duration(l.Duration), time.Duration(l.RenewDeadline), time.Duration(l.RetryPeriod)
	switch {
	case d < time.Second:
		v.at("election.lease.duration", "%s is under a second", d)
	case renew <= 0 || renew >= d:
		v.at("election.lease.renew_deadline", "%s must be positive and shorter than duration %s", renew, d)
	case retry <= 0 || float64(renew) <= jitterFactor*float64(retry):
		v.at("election.lease.retry_period", "%s must be positive and renew_deadline %s longer than %.1f × it", retry, renew, jitterFactor)
	}
	if l.Kubeconfig != "" {
		if _, err := os.Stat(c.Resolve(l.Kubeconfig)); err != nil {
			v.at("election.lease.kubeconfig", "%v", err)
		}
	}
}
