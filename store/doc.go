// Package store persists controller state in a bbolt file (DB, one
// replica), in etcd (Etcd, several replicas sharing it) or in ConfigMaps
// through the Kubernetes API (Kube, several replicas without an etcd of
// their own): one current
// state per object (a rollout, an autoscaler) and a bounded history of its
// events, written together in one transaction so that a crash leaves
// either the old or the new state, never half of one.
//
// Values are JSON documents; the store does not know their types. All
// three kinds pass the same conformance tests. An Etcd store made Fenced by
// the leader election applies a write only in a transaction that checks
// this replica still leads; otherwise the write fails with ErrFenced and
// nothing changes.
//
// Kubernetes has no multi-object transactions, so a Kube store keeps
// everything a decision writes in one object: the ConfigMap <name>-state
// holds the leadership term, every object's state and the events of its
// latest save, and each write is an update preconditioned on the
// resourceVersion it read (optimistic concurrency). A new leader increments
// the term in that ConfigMap before it acts (BeginTerm); a Kube store made
// Fenced writes only while the ConfigMap holds its own term, so a deposed
// leader's write fails its precondition, is read again, meets the newer
// term and fails with ErrFenced. Older events move to one history
// ConfigMap per object, bounded by count and bytes (a ConfigMap holds at
// most 1 MiB); History merges both, so a save interrupted between the two
// writes loses no event. All states share the state ConfigMap's 1 MiB.
//
// It imports bbolt, the etcd client, client-go and the standard library
// and must not import the packages whose state it keeps.
//
// Usage:
//
//	db, err := store.Open("vane.db", store.Options{HistoryLimit: 1000})
//	err = db.Save("rollout", "checkout", state, event1, event2)
//	states, err := db.Load("rollout")          // name → JSON
//	events, err := db.History("rollout", "checkout", 50)
//	db.Close()
package store
