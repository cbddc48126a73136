// Package ha elects one leader among several Vane replicas that share an
// etcd store, with etcd's concurrency package (a Session whose lease has a
// TTL, and an Election under <prefix>/leader), and lets the replicas see
// each other.
//
// The leader alone runs the rollout and autoscale loops. Every write that
// acts on a decision is fenced: the Elector is a store.Fence, and the etcd
// store applies a write only in a transaction that checks the election key
// still has the create revision this replica won with. A deposed leader
// (its lease expired, another replica elected) can therefore never move a
// weight, even before it notices. When the session ends (lease lost, etcd
// away for longer than the TTL), Run stops the leader's work and returns
// ErrLeadershipLost: the process exits and its supervisor starts it again
// as a follower, as kube-controller-manager does.
//
// A Presence publishes each replica's record over a Transport (by default
// etcd keys under <prefix>/replicas/, attached to a lease of the replica's
// own; package kube's Board keeps them in ConfigMaps for replicas without
// etcd): its API URL, a fingerprint of each
// service's configuration, and what its xDS proxies did with the routing
// it serves. With them the leader counts a change applied only when the
// proxies of every live replica took it up (Presence.Router), a follower
// finds the leader's API to forward commands to (Presence.LeaderURL), and
// configurations that differ between replicas are reported. A dead
// replica's record, and its proxies, drop out when its lease (or the
// Board's TTL) expires.
//
// It imports the etcd client and the traffic model; it must not import
// the rollout, autoscale, xds, api or kube packages (its tests use kube's
// Board as a Transport).
package ha
