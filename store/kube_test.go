package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaneproj/vane/internal/kubetest"
)

// fixedTerm is a TermFence frozen at one term.
type fixedTerm struct {
	term int64
	ok   bool
}

func (f fixedTerm) Term() (int64, bool) { return f.term, f.ok }

// TestKubeFencedWrites checks the Kubernetes store's fencing against a real
// kube-apiserver: a write without a term is refused; the leader's write
// under its term applies; once a successor started its term in the state
// ConfigMap, the deposed leader's writes are refused with ErrFenced and
// change neither the state nor the history.
func TestKubeFencedWrites(t *testing.T) {
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	ctx := context.Background()
	db, err := OpenKube(ctx, client, KubeOptions{Namespace: "default", Name: "fence"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Fenced(fixedTerm{}).Save("rollout", "x", doc{Step: 1}); !errors.Is(err, ErrFenced) {
		t.Fatalf("a write without a term = %v, want ErrFenced", err)
	}
	term, err := db.BeginTerm(ctx, "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	leading := db.Fenced(fixedTerm{term, true})
	if err := leading.Save("rollout", "x", doc{Step: 1}, doc{Note: "a"}); err != nil {
		t.Fatalf("the leader's write: %v", err)
	}
	next, err := db.BeginTerm(ctx, "replica-b")
	if err != nil {
		t.Fatal(err)
	}
	if next != term+1 {
		t.Fatalf("successor's term %d after %d", next, term)
	}
	err = leading.Save("rollout", "x", doc{Step: 2}, doc{Note: "b"})
	if !errors.Is(err, ErrFenced) || !strings.Contains(err.Error(), "replica-b") {
		t.Fatalf("the deposed leader's write = %v, want ErrFenced naming replica-b", err)
	}
	var got doc
	if err := db.Get("rollout", "x", &got); err != nil || got.Step != 1 {
		t.Fatalf("state = %+v, %v; want the leader's step 1 only", got, err)
	}
	if got := steps(t, db, "rollout", "x", 0); got != "[0a]" {
		t.Fatalf("history = %v", got)
	}
	if err := db.Fenced(fixedTerm{next, true}).Save("rollout", "x", doc{Step: 3}, doc{Note: "c"}); err != nil {
		t.Fatalf("the successor's write: %v", err)
	}
	if got := steps(t, db, "rollout", "x", 0); got != "[0a 0c]" {
		t.Fatalf("history = %v", got)
	}
	if cur, holder, err := db.Term(ctx); err != nil || cur != next || holder != "replica-b" {
		t.Fatalf("Term = %d %q %v", cur, holder, err)
	}
}

// TestKubeHistoryBoundedByBytes checks that an object's history ConfigMap
// keeps its newest events within the byte bound, and that events written
// with the state but not yet copied to the history are still listed.
func TestKubeHistoryBoundedByBytes(t *testing.T) {
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	ctx := context.Background()
	db, err := OpenKube(ctx, client, KubeOptions{Namespace: "default", Name: "bytes", HistoryBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 100)
	for i := range 40 {
		if err := db.Save("rollout", "x", doc{Step: i}, doc{Step: i, Note: pad}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := db.History("rollout", "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) < 5 || len(h) > 2000/100 {
		t.Fatalf("history keeps %d events of ~130 bytes under a 2000-byte bound", len(h))
	}
	if got := steps(t, db, "rollout", "x", 1); got != "[39"+pad+"]" {
		t.Fatalf("newest event = %v", got)
	}
	// The history ConfigMap loses its copy (an interrupted Save): the
	// latest events are still read from the state ConfigMap.
	if err := client.CoreV1().ConfigMaps("default").Delete(ctx, db.historyName("rollout", "x"), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := steps(t, db, "rollout", "x", 0); got != "[39"+pad+"]" {
		t.Fatalf("history without its ConfigMap = %v", got)
	}
}

// TestKubeTwoWritersKeepEveryEvent: two stores on the same ConfigMaps (as
// two processes, each with its own copy of what it last wrote) save the
// same object at once: their updates conflict and are retried on a fresh
// read, and every event reaches the history once.
func TestKubeTwoWritersKeepEveryEvent(t *testing.T) {
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	ctx := context.Background()
	var dbs []*Kube
	for range 2 {
		db, err := OpenKube(ctx, client, KubeOptions{Namespace: "default", Name: "two"})
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	var wg sync.WaitGroup
	for w, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				if err := db.Save("rollout", "x", doc{Step: i}, doc{Step: w*100 + i}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	h, err := dbs[0].History("rollout", "x", 0)
	if err != nil || len(h) != 30 {
		t.Fatalf("History = %d events, %v; want 30", len(h), err)
	}
	seen := map[int]bool{}
	for _, r := range h {
		var d doc
		if err := json.Unmarshal(r, &d); err != nil {
			t.Fatal(err)
		}
		if seen[d.Step] {
			t.Fatalf("event %d twice", d.Step)
		}
		seen[d.Step] = true
	}
}

// TestKubeWatch: a store's Watch signals at once, then when another
// store (as another process) saves a state of the kind, and the state it
// then reads is that one.
func TestKubeWatch(t *testing.T) {
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var dbs []*Kube
	for range 2 {
		db, err := OpenKube(ctx, client, KubeOptions{Namespace: "default", Name: "watch"})
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	ch := dbs[0].Watch(ctx, "rollout")
	next := func(what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("no signal %s within 20s", what)
		}
	}
	next("at the start")
	for i := 1; i <= 3; i++ {
		if err := dbs[1].Save("rollout", "x", doc{Step: i}); err != nil {
			t.Fatal(err)
		}
		// Signals may merge, and one may be left from before: wait until
		// a signal comes with the new state readable.
		deadline := time.Now().Add(20 * time.Second)
		for {
			next(fmt.Sprintf("after save %d", i))
			var got doc
			if err := dbs[0].Get("rollout", "x", &got); err == nil && got.Step == i {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("save %d never signalled", i)
			}
		}
	}
}
