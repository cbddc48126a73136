package xds

import (
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
)

const rds = resourcev3.RouteType

// fakeStream drives the tracker the way the sotw server's callbacks do.
type fakeStream struct {
	tr    *tracker
	id    int64
	nonce int
}

func (f *fakeStream) subscribe(node string, names ...string) {
	f.tr.request(f.id, &discovery.DiscoveryRequest{Node: &core.Node{Id: node}, TypeUrl: rds, ResourceNames: names})
}

// push records a response of version v and returns its nonce.
func (f *fakeStream) push(v string) string {
	f.nonce++
	n := string(rune('a' + f.nonce))
	f.tr.response(f.id, &discovery.DiscoveryResponse{TypeUrl: rds, VersionInfo: v, Nonce: n})
	return n
}

func (f *fakeStream) ack(nonce string, names ...string) {
	f.tr.request(f.id, &discovery.DiscoveryRequest{TypeUrl: rds, ResponseNonce: nonce, ResourceNames: names})
}

func (f *fakeStream) nack(nonce, msg string, names ...string) {
	f.tr.request(f.id, &discovery.DiscoveryRequest{TypeUrl: rds, ResponseNonce: nonce, ResourceNames: names,
		ErrorDetail: &status.Status{Message: msg}})
}

func newTestTracker() *tracker {
	return newTracker("p-", NewMetrics(nil), func() time.Time { return time.Unix(0, 0) })
}

func settled(w *wait) bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func TestTrackerWaitsForSubscribedStreamsOnly(t *testing.T) {
	tr := newTestTracker()
	a, b := &fakeStream{tr: tr, id: 1}, &fakeStream{tr: tr, id: 2}
	tr.open(1)
	tr.open(2)
	a.subscribe("node-a", "svc")
	b.subscribe("node-b", "other")
	w := tr.register(map[string]target{rds: {version: 3, names: []string{"svc"}}})
	if settled(w) {
		t.Fatal("settled before any ACK")
	}
	old := a.push("p-2")
	a.ack(old, "svc")
	if settled(w) {
		t.Fatal("an ACK of an older version settled the wait")
	}
	a.ack(a.push("p-3"), "svc")
	if !settled(w) {
		t.Fatal("the ACK of version 3 did not settle the wait")
	}
	acked, nacked, pending := tr.finish(w)
	if len(acked) != 1 || acked[0] != "node-a" || len(nacked) != 0 || pending != 0 {
		t.Errorf("acked %v nacked %v pending %d", acked, nacked, pending)
	}
}

func TestTrackerReportsNACKAndStreamClose(t *testing.T) {
	tr := newTestTracker()
	a, b := &fakeStream{tr: tr, id: 1}, &fakeStream{tr: tr, id: 2}
	tr.open(1)
	tr.open(2)
	a.subscribe("node-a", "svc")
	b.subscribe("node-b", "svc")
	w := tr.register(map[string]target{rds: {version: 5, names: []string{"svc"}}})
	a.nack(a.push("p-5"), "bad regex", "svc")
	if settled(w) {
		t.Fatal("settled while node-b has not answered")
	}
	tr.closed(2)
	if !settled(w) {
		t.Fatal("closing the last pending stream did not settle the wait")
	}
	acked, nacked, _ := tr.finish(w)
	if len(acked) != 0 || len(nacked) != 1 || nacked[0].Node != "node-a" || nacked[0].Error != "bad regex" || nacked[0].TypeURL != rds {
		t.Errorf("acked %v nacked %+v", acked, nacked)
	}
	// A later wait for the same version sees the NACK at once.
	w = tr.register(map[string]target{rds: {version: 5, names: []string{"svc"}}})
	if !settled(w) {
		t.Fatal("a wait for an already NACKed version did not settle")
	}
	if _, nacked, _ := tr.finish(w); len(nacked) != 1 {
		t.Errorf("nacked %+v", nacked)
	}
}

func TestTrackerIgnoresStaleNoncesForSubscriptions(t *testing.T) {
	tr := newTestTracker()
	a := &fakeStream{tr: tr, id: 1}
	tr.open(1)
	a.subscribe("node-a", "svc")
	first := a.push("p-1")
	a.push("p-2")
	// A request with the older nonce must not change the subscription.
	a.ack(first)
	w := tr.register(map[string]target{rds: {version: 9, names: []string{"svc"}}})
	if settled(w) {
		t.Fatal("a stale request unsubscribed the stream")
	}
	tr.finish(w)
}

func TestTrackerCountsAnACKThatCameBeforeTheWait(t *testing.T) {
	tr := newTestTracker()
	a := &fakeStream{tr: tr, id: 1}
	tr.open(1)
	a.subscribe("node-a", "svc")
	a.ack(a.push("p-4"), "svc")
	w := tr.register(map[string]target{rds: {version: 4, names: []string{"svc"}}})
	if !settled(w) {
		t.Fatal("an ACK that arrived before the wait was missed")
	}
	if acked, _, _ := tr.finish(w); len(acked) != 1 {
		t.Errorf("acked %v", acked)
	}
}

// TestTrackerHoldingReportsWithoutWaiting: holding reports, at any moment,
// which subscribed streams hold a version, which rejected it and how many
// have not answered, and every change of that is signalled.
func TestTrackerHoldingReportsWithoutWaiting(t *testing.T) {
	tr := newTestTracker()
	signalled := func() bool {
		select {
		case <-tr.changed:
			return true
		default:
			return false
		}
	}
	a, b, c := &fakeStream{tr: tr, id: 1}, &fakeStream{tr: tr, id: 2}, &fakeStream{tr: tr, id: 3}
	for _, f := range []*fakeStream{a, b, c} {
		tr.open(f.id)
	}
	if !signalled() {
		t.Fatal("opening streams was not signalled")
	}
	a.subscribe("node-a", "svc")
	b.subscribe("node-b", "svc")
	c.subscribe("node-c", "other")
	target := map[string]target{rds: {version: 4, names: []string{"svc"}}}
	if acked, nacked, pending := tr.holding(target); len(acked) != 0 || len(nacked) != 0 || pending != 2 {
		t.Fatalf("before any answer: acked %v nacked %v pending %d; want 2 pending (node-c does not use svc)", acked, nacked, pending)
	}
	a.ack(a.push("p-4"), "svc")
	if !signalled() {
		t.Fatal("an ACK was not signalled")
	}
	b.nack(b.push("p-4"), "bad route", "svc")
	acked, nacked, pending := tr.holding(target)
	if len(acked) != 1 || acked[0] != "node-a" || len(nacked) != 1 || nacked[0].Node != "node-b" || pending != 0 {
		t.Fatalf("acked %v nacked %+v pending %d", acked, nacked, pending)
	}
	tr.closed(2)
	if !signalled() {
		t.Fatal("a closed stream was not signalled")
	}
	if _, nacked, _ := tr.holding(target); len(nacked) != 0 {
		t.Fatalf("a closed stream still counts: %+v", nacked)
	}
	if n := tr.streamCount(); n != 2 {
		t.Fatalf("streamCount = %d, want 2", n)
	}
}
