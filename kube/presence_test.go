package kube

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaneproj/vane/internal/kubetest"
)

// TestBoardRecords runs two Boards on a real kube-apiserver: each sees both
// records; a record left by a replica that died long ago is not live and
// is deleted; a Board whose context ends deletes its own record.
func TestBoardRecords(t *testing.T) {
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	const ttl = time.Second
	ctx := context.Background()
	// A record its writer last renewed an hour ago.
	stale := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vane-replica-old", Namespace: "default",
		Labels: map[string]string{boardLabel: "vane"}},
		Data: map[string]string{recordKey: "old", renewedKey: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)}}
	if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	type seenBy struct {
		mu   sync.Mutex
		live []string
	}
	run := func(id string) (*seenBy, context.CancelFunc, chan struct{}) {
		b, err := NewBoard(client, BoardOptions{Namespace: "default", Name: "vane", ID: id, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		s := &seenBy{}
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); b.Publish(ctx, func() []byte { return []byte(id) }, nil, nil) }()
		go func() {
			defer wg.Done()
			b.Watch(ctx, func(recs [][]byte) {
				s.mu.Lock()
				s.live = s.live[:0]
				for _, r := range recs {
					s.live = append(s.live, string(r))
				}
				s.mu.Unlock()
			})
		}()
		go func() { wg.Wait(); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return s, cancel, done
	}
	live := func(s *seenBy) string {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := map[string]bool{}
		for _, r := range s.live {
			out[r] = true
		}
		switch {
		case len(out) == 2 && out["a"] && out["b"]:
			return "a b"
		case len(out) == 1 && out["a"]:
			return "a"
		}
		return ""
	}
	a, _, _ := run("a")
	_, stopB, doneB := run("b")
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("a sees a and b, not the old record", func() bool { return live(a) == "a b" })
	waitFor("the old record is deleted", func() bool {
		_, err := client.CoreV1().ConfigMaps("default").Get(ctx, "vane-replica-old", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	stopB()
	<-doneB
	waitFor("b's record is withdrawn", func() bool { return live(a) == "a" })
	b, _ := NewBoard(client, BoardOptions{Namespace: "default", Name: "vane", ID: "b", TTL: ttl})
	if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, b.recordName("b"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("b's record after it stopped: %v", err)
	}
}
