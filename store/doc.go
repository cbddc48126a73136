// Package store persists controller state in a bbolt file (DB, one
// replica) or in etcd (Etcd, several replicas sharing it): one current
// state per object (a rollout, an autoscaler) and a bounded history of its
// events, written together in one transaction so that a crash leaves
// either the old or the new state, never half of one.
//
// Values are JSON documents; the store does not know their types. Both
// kinds pass the same conformance tests. An Etcd store made Fenced by the
// leader election applies a write only in a transaction that checks this
// replica still leads; otherwise the write fails with ErrFenced and nothing
// changes.
//
// It imports bbolt, the etcd client and the standard library and must not
// import the packages whose state it keeps.
//
// Usage:
//
//	db, err := store.Open("vane.db", store.Options{HistoryLimit: 1000})
//	err = db.Save("rollout", "checkout", state, event1, event2)
//	states, err := db.Load("rollout")          // name → JSON
//	events, err := db.History("rollout", "checkout", 50)
//	db.Close()
package store
