package xds

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"

	"github.com/vaneproj/vane/traffic"
)

// maxInFlight bounds the responses remembered per stream and type while
// their ACK is outstanding; a client ACKs responses in order, so older ones
// are superseded.
const maxInFlight = 8

// tracker follows every ADS stream from the server callbacks: the node, what
// it subscribes to, which response (nonce → version) it was sent, and what
// it ACKed or NACKed. Apply registers a wait on it for a set of changed
// resources and learns when every subscribed stream has taken them up.
//
// The sotw server calls the callbacks of one stream from that stream's
// goroutine; the tracker's lock orders them against Apply.
type tracker struct {
	prefix  string
	metrics *Metrics
	now     func() time.Time

	mu      sync.Mutex
	streams map[int64]*streamState
	waits   map[*wait]struct{}

	// changed is signalled (without blocking; pending signals merge) when
	// a stream opens or closes and when one ACKs or NACKs: what Holding
	// reports may then differ.
	changed chan struct{}
}

type streamState struct {
	node string
	// types holds the state per typeIndex; other, rarely used, that of
	// types Vane does not serve.
	types [numTypes]*typeState
	other map[string]*typeState
}

// typeState returns the stream's state for url, creating it if create is
// set (else it may return nil).
func (st *streamState) typeState(url string, create bool) *typeState {
	i := typeIndex(url)
	var ts *typeState
	if i >= 0 {
		ts = st.types[i]
	} else {
		ts = st.other[url]
	}
	if ts != nil || !create {
		return ts
	}
	ts = &typeState{}
	if i >= 0 {
		st.types[i] = ts
	} else {
		if st.other == nil {
			st.other = map[string]*typeState{}
		}
		st.other[url] = ts
	}
	return ts
}

type typeState struct {
	wildcard  bool
	names     map[string]struct{}
	lastNonce string
	sent      []sentResponse
	acked     uint64 // highest version ACKed
	nacked    uint64 // highest version NACKed
	nackErr   string
}

type sentResponse struct {
	nonce   string
	version uint64
	at      time.Time
}

// target is what a wait needs for one type: every stream subscribed to one
// of names must take up version or a later one.
type target struct {
	version uint64
	names   []string
}

// wait is one Apply waiting for its change to be taken up.
type wait struct {
	// versions is the target version per typeIndex (types Vane does not
	// serve are never targets).
	versions [numTypes]uint64
	// remaining holds, per stream still to hear from, the bit set
	// (1<<typeIndex) of the types it has not taken up yet.
	remaining map[int64]uint8
	acked     map[string]struct{}
	nacked    []traffic.NodeStatus
	done      chan struct{}
}

func newTracker(prefix string, m *Metrics, now func() time.Time) *tracker {
	return &tracker{prefix: prefix, metrics: m, now: now, streams: map[int64]*streamState{}, waits: map[*wait]struct{}{},
		changed: make(chan struct{}, 1)}
}

func (t *tracker) version(v string) uint64 {
	s, ok := strings.CutPrefix(v, t.prefix)
	if !ok {
		return 0
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func (t *tracker) open(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.streams[id] = &streamState{}
	t.metrics.connectedStreams.Inc()
	t.notify()
}

// notify signals a change of the streams' state without blocking.
func (t *tracker) notify() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

func (t *tracker) closed(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.streams[id]; !ok {
		return
	}
	delete(t.streams, id)
	t.metrics.connectedStreams.Dec()
	t.notify()
	for w := range t.waits {
		delete(w.remaining, id)
		w.check()
	}
}

func (t *tracker) request(id int64, req *discovery.DiscoveryRequest) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.streams[id]
	if st == nil {
		return
	}
	if st.node == "" {
		st.node = req.GetNode().GetId()
	}
	url := req.GetTypeUrl()
	ts := st.typeState(url, false)
	first := ts == nil
	if first {
		ts = st.typeState(url, true)
	}
	nonce := req.GetResponseNonce()
	if nonce != "" {
		t.answer(id, st, url, ts, nonce, req)
	}
	// A request with a stale nonce is ignored by the server, so it does not
	// change the subscription either.
	if nonce == "" || nonce == ts.lastNonce {
		names := req.GetResourceNames()
		if !sameNames(ts.names, names) {
			ts.names = make(map[string]struct{}, len(names))
			for _, n := range names {
				ts.names[n] = struct{}{}
			}
		}
		_, wildcard := ts.names["*"]
		// An empty first request of a full-state type is the legacy wildcard.
		if len(names) == 0 && fullState(url) && (first || ts.wildcard) {
			wildcard = true
		}
		ts.wildcard = wildcard
	}
}

// answer handles the ACK or NACK of the response with this nonce.
func (t *tracker) answer(id int64, st *streamState, url string, ts *typeState, nonce string, req *discovery.DiscoveryRequest) {
	i := slices.IndexFunc(ts.sent, func(s sentResponse) bool { return s.nonce == nonce })
	if i < 0 {
		return
	}
	sent := ts.sent[i]
	ts.sent = slices.Delete(ts.sent, 0, i+1)
	t.notify()
	ti := typeIndex(url)
	// settles reports whether this answer settles w's wait on the stream
	// for its type.
	settles := func(w *wait) (uint8, bool) {
		if ti < 0 {
			return 0, false
		}
		rem, ok := w.remaining[id]
		return rem, ok && rem&(1<<ti) != 0 && w.versions[ti] <= sent.version
	}
	if d := req.GetErrorDetail(); d != nil {
		typeCounter(t.metrics.nacks, &t.metrics.nacksByType, url).Inc()
		if sent.version >= ts.nacked {
			ts.nacked, ts.nackErr = sent.version, d.GetMessage()
		}
		for w := range t.waits {
			if _, ok := settles(w); ok {
				delete(w.remaining, id)
				w.nacked = append(w.nacked, traffic.NodeStatus{Node: st.node, Error: d.GetMessage(), TypeURL: url})
				w.check()
			}
		}
		return
	}
	t.metrics.ackLatency.Observe(t.now().Sub(sent.at).Seconds())
	ts.acked = max(ts.acked, sent.version)
	for w := range t.waits {
		if rem, ok := settles(w); ok {
			if rem &^= 1 << ti; rem == 0 {
				delete(w.remaining, id)
				w.acked[st.node] = struct{}{}
			} else {
				w.remaining[id] = rem
			}
			w.check()
		}
	}
}

func (t *tracker) response(id int64, resp *discovery.DiscoveryResponse) {
	url := resp.GetTypeUrl()
	typeCounter(t.metrics.pushes, &t.metrics.pushesByType, url).Inc()
	version, at := t.version(resp.GetVersionInfo()), t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.streams[id]
	if st == nil {
		return
	}
	ts := st.typeState(url, true)
	ts.lastNonce = resp.GetNonce()
	if len(ts.sent) == maxInFlight {
		ts.sent = slices.Delete(ts.sent, 0, 1)
	}
	ts.sent = append(ts.sent, sentResponse{nonce: resp.GetNonce(), version: version, at: at})
}

// sameNames reports whether set holds exactly names (ACKs usually repeat
// the subscription unchanged).
func sameNames(set map[string]struct{}, names []string) bool {
	if set == nil || len(set) != len(names) {
		return false
	}
	for _, n := range names {
		if _, ok := set[n]; !ok {
			return false
		}
	}
	return true
}

// subscribes reports whether ts asks for any of names.
func (ts *typeState) subscribes(names []string) bool {
	if ts.wildcard {
		return true
	}
	for _, n := range names {
		if _, ok := ts.names[n]; ok {
			return true
		}
	}
	return false
}

// indexedTarget is a target with its type's index and URL.
type indexedTarget struct {
	i   int
	url string
	tg  target
}

func indexTargets(targets map[string]target) []indexedTarget {
	var tgs []indexedTarget
	for url, tg := range targets {
		if i := typeIndex(url); i >= 0 {
			tgs = append(tgs, indexedTarget{i, url, tg})
		}
	}
	return tgs
}

// classify reports what one stream did with the targets: whether it
// subscribes to any of them, the NACK that settles it (if any), and the
// bit set of the types it has not taken up yet. Called with t.mu held.
func classify(st *streamState, tgs []indexedTarget) (involved bool, nack *traffic.NodeStatus, rem uint8) {
	for _, x := range tgs {
		url, tg := x.url, x.tg
		ts := st.types[x.i]
		if ts == nil || !ts.subscribes(tg.names) {
			continue
		}
		involved = true
		// The stream's latest answer counts: a NACK of this version or a
		// later one, not followed by an ACK, means it lacks the change.
		// (Versions are per type, so an ACK of a later response that
		// did not carry these resources also counts as taking them.)
		switch {
		case ts.nacked >= tg.version && ts.nacked > ts.acked:
			if nack == nil {
				nack = &traffic.NodeStatus{Node: st.node, Error: ts.nackErr, TypeURL: url}
			}
		case ts.acked >= tg.version:
		default:
			rem |= 1 << x.i
		}
	}
	return involved, nack, rem
}

// register starts a wait for targets over the streams connected now.
// Streams that already took up (or rejected) the versions are settled at once.
func (t *tracker) register(targets map[string]target) *wait {
	w := &wait{remaining: map[int64]uint8{}, acked: map[string]struct{}{}, done: make(chan struct{})}
	tgs := indexTargets(targets)
	for _, x := range tgs {
		w.versions[x.i] = x.tg.version
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, st := range t.streams {
		involved, nack, rem := classify(st, tgs)
		switch {
		case nack != nil:
			w.nacked = append(w.nacked, *nack)
		case rem != 0:
			w.remaining[id] = rem
		case involved:
			w.acked[st.node] = struct{}{}
		}
	}
	t.waits[w] = struct{}{}
	w.check()
	return w
}

// holding reports, without waiting, what the streams connected now did
// with targets: the nodes that hold them, those that rejected them, and
// how many streams have not answered yet.
func (t *tracker) holding(targets map[string]target) (acked []string, nacked []traffic.NodeStatus, pending int) {
	tgs := indexTargets(targets)
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := map[string]struct{}{}
	for _, st := range t.streams {
		involved, nack, rem := classify(st, tgs)
		switch {
		case nack != nil:
			nacked = append(nacked, *nack)
		case rem != 0:
			pending++
		case involved:
			if _, ok := seen[st.node]; !ok {
				seen[st.node] = struct{}{}
				acked = append(acked, st.node)
			}
		}
	}
	slices.Sort(acked)
	slices.SortFunc(nacked, func(a, b traffic.NodeStatus) int { return strings.Compare(a.Node, b.Node) })
	return acked, nacked, pending
}

// streamCount returns the number of connected streams.
func (t *tracker) streamCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.streams)
}

// finish ends w and returns the nodes that ACKed and NACKed it.
func (t *tracker) finish(w *wait) (acked []string, nacked []traffic.NodeStatus, pending int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.waits, w)
	for n := range w.acked {
		acked = append(acked, n)
	}
	slices.Sort(acked)
	nacked = slices.Clone(w.nacked)
	slices.SortFunc(nacked, func(a, b traffic.NodeStatus) int { return strings.Compare(a.Node, b.Node) })
	return acked, nacked, len(w.remaining)
}

// check closes done once no stream is left to hear from. Called with the
// tracker locked.
func (w *wait) check() {
	if len(w.remaining) == 0 {
		select {
		case <-w.done:
		default:
			close(w.done)
		}
	}
}
