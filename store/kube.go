package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// TermFence makes a Kubernetes store's writes conditional on the writer's
// leadership term being the last one started. The Lease election
// implements it.
type TermFence interface {
	// Term returns the term this replica started with Kube.BeginTerm, and
	// false when this replica is not the leader.
	Term() (int64, bool)
}

// KubeOptions configures OpenKube.
type KubeOptions struct {
	// Namespace of the ConfigMaps. Required.
	Namespace string
	// Name is the ConfigMaps' base name (default "vane"): the state lives
	// in <name>-state, histories in <name>-history-<hash>.
	Name string
	// HistoryLimit bounds the events kept per object (default 1000).
	HistoryLimit int
	// HistoryBytes bounds the encoded events kept per object (default
	// 512 KiB; a ConfigMap holds at most 1 MiB); the oldest are dropped
	// first.
	HistoryBytes int
	// OpTimeout bounds each read and each write with its retries (default
	// 10s).
	OpTimeout time.Duration
}

// Kube is a store kept in ConfigMaps through the Kubernetes API, for
// clusters without an etcd of their own: the same kinds, states and
// bounded histories as DB, shared by several replicas. It is safe for
// concurrent use.
//
// Layout: the ConfigMap <name>-state holds the leadership term, every
// object's state and, per object, the events of its latest Save with their
// sequence numbers; one ConfigMap <name>-history-<hash of kind and name>
// per object keeps its older events, bounded by count and bytes. A Save
// writes the state and its events in one resourceVersion-preconditioned
// update of the state ConfigMap (so they are one atomic write), then
// copies the events to the history ConfigMap; History merges both, so an
// interruption between the two loses nothing, and the next Save of that
// object finishes the copy before it replaces the events.
//
// Fencing: a fenced store (Fenced) writes the state ConfigMap only if the
// term it holds is the writer's. A new leader bumps the term in that same
// ConfigMap (BeginTerm) before it acts; a deposed leader's next write was
// prepared on an older resourceVersion, so the API server refuses it with
// a conflict, the store reads the ConfigMap again, sees the newer term and
// fails with ErrFenced. Every object's state sits in the one state
// ConfigMap, so all states together must stay under Kubernetes' 1 MiB
// object size (about 400 rollouts of 2 KiB); a Save that would pass it is
// refused with an error saying so.
type Kube struct {
	client   kubernetes.Interface
	ns       string
	name     string
	limit    int
	maxBytes int
	timeout  time.Duration
	fence    TermFence
	sh       *kubeCache // shared by the fenced views
}

// kubeCache is what this process last wrote or read of the ConfigMaps, so
// that a write needs no read first while no other process writes.
type kubeCache struct {
	mu    sync.Mutex        // serializes this process's writes of the state ConfigMap
	state *corev1.ConfigMap // guarded by mu

	hmu     sync.Mutex
	history map[string]*corev1.ConfigMap // by name
	flushed map[string]uint64            // by name: the last event known in the history ConfigMap
}

func (c *kubeCache) flushedUpTo(name string) uint64 {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	return c.flushed[name]
}

func (c *kubeCache) cachedHistory(name string) *corev1.ConfigMap {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	return c.history[name]
}

// historyWritten records the history ConfigMap as last written or read
// (nil: unknown) and the last event it holds.
func (c *kubeCache) historyWritten(name string, cm *corev1.ConfigMap, last uint64) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if cm == nil {
		delete(c.history, name)
		return
	}
	if old := c.history[name]; old != nil && last < c.flushed[name] {
		return // a concurrent flush got further
	}
	c.history[name] = cm
	c.flushed[name] = last
}

// Keys in the state ConfigMap.
const (
	kubeTermKey   = "term"
	kubeHolderKey = "holder"
	// kubeMaxObject is the size the state ConfigMap's data must stay
	// under: Kubernetes refuses objects over 1 MiB (etcd's request
	// limit), and the metadata needs some room.
	kubeMaxObject = 1<<20 - 16<<10
)

// OpenKube checks that the API server answers and that the state
// ConfigMap can be read (creating it when missing). A missing permission
// is an error naming it.
func OpenKube(ctx context.Context, client kubernetes.Interface, o KubeOptions) (*Kube, error) {
	if o.Namespace == "" {
		return nil, errors.New("store: kubernetes needs a namespace")
	}
	if o.Name == "" {
		o.Name = "vane"
	}
	if o.HistoryLimit == 0 {
		o.HistoryLimit = DefaultHistoryLimit
	}
	if o.HistoryLimit < 0 {
		return nil, fmt.Errorf("store: history limit %d is negative", o.HistoryLimit)
	}
	if o.HistoryBytes == 0 {
		o.HistoryBytes = 512 << 10
	}
	if o.HistoryBytes < 0 || o.HistoryBytes > kubeMaxObject {
		return nil, fmt.Errorf("store: history bytes %d must be positive and under 1 MiB", o.HistoryBytes)
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 10 * time.Second
	}
	k := &Kube{client: client, ns: o.Namespace, name: o.Name, limit: o.HistoryLimit, maxBytes: o.HistoryBytes, timeout: o.OpTimeout,
		sh: &kubeCache{history: map[string]*corev1.ConfigMap{}, flushed: map[string]uint64{}}}
	cctx, cancel := context.WithTimeout(ctx, o.OpTimeout)
	defer cancel()
	if _, err := k.state(cctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Fenced returns a view of the store whose writes apply only while the
// state ConfigMap holds the term f returns.
func (k *Kube) Fenced(f TermFence) *Kube {
	c := *k
	c.fence = f
	return &c
}

// Close releases nothing (the client is shared); it exists for the
// store's interface.
func (k *Kube) Close() error { return nil }

// Path describes where the state lives (for logs).
func (k *Kube) Path() string {
	return fmt.Sprintf("kubernetes configmap %s/%s", k.ns, k.stateName())
}

// Namespace returns the ConfigMaps' namespace.
func (k *Kube) Namespace() string { return k.ns }

// Name returns the ConfigMaps' base name.
func (k *Kube) Name() string { return k.name }

func (k *Kube) stateName() string { return k.name + "-state" }

func (k *Kube) historyName(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "/" + name))
	return k.name + "-history-" + hex.EncodeToString(sum[:8])
}

func (k *Kube) labels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "vane", "vane.dev/store": k.name}
}

// permission wraps a Forbidden error with the permission that is missing.
func (k *Kube) permission(err error, verb string) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("store: the API server refuses %s on configmaps in namespace %s: grant get, list, watch, create and update "+
			"on configmaps there (deploy/kubernetes/vane-lease.yaml has the Role): %w", verb, k.ns, err)
	}
	return err
}

// state reads the state ConfigMap, creating it when missing.
func (k *Kube) state(ctx context.Context) (*corev1.ConfigMap, error) {
	for {
		cm, err := k.client.CoreV1().ConfigMaps(k.ns).Get(ctx, k.stateName(), metav1.GetOptions{})
		if err == nil {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			return cm, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("store: read configmap %s/%s: %w", k.ns, k.stateName(), k.permission(err, "get"))
		}
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: k.stateName(), Namespace: k.ns, Labels: k.labels()},
			Data: map[string]string{kubeTermKey: "0"}}
		created, err := k.client.CoreV1().ConfigMaps(k.ns).Create(ctx, cm, metav1.CreateOptions{})
		switch {
		case err == nil:
			return created, nil
		case apierrors.IsAlreadyExists(err):
			continue // another replica created it
		default:
			return nil, fmt.Errorf("store: create configmap %s/%s: %w", k.ns, k.stateName(), k.permission(err, "create"))
		}
	}
}

// escape makes s a part of a ConfigMap key ([-._a-zA-Z0-9]): letters,
// digits and '-' stay, every other byte becomes _ and two hex digits.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02x", c)
	}
	return b.String()
}

func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

func stateKey(kind, name string) string   { return "s." + escape(kind) + "." + escape(name) }
func pendingKey(kind, name string) string { return "e." + escape(kind) + "." + escape(name) }

// seqEvent is an event with its sequence number.
type seqEvent struct {
	Seq   uint64          `json:"seq"`
	Event json.RawMessage `json:"event"`
}

// pending is the state ConfigMap's record of an object's latest events.
type pending struct {
	// Last is the sequence number of the object's last event.
	Last uint64 `json:"last"`
	// Events are the latest Save's events, numbered up to Last.
	Events []seqEvent `json:"events"`
}

func decodePending(s string) (pending, error) {
	var p pending
	if s == "" {
		return p, nil
	}
	err := json.Unmarshal([]byte(s), &p)
	return p, err
}

func dataSize(d map[string]string) int {
	n := 0
	for k, v := range d {
		n += len(k) + len(v)
	}
	return n
}

// BeginTerm starts a new leadership term: it increments the term in the
// state ConfigMap (a preconditioned update, retried on conflicts) and
// returns it. Writes fenced by an older term fail from then on.
func (k *Kube) BeginTerm(ctx context.Context, holder string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	for {
		cm, err := k.state(ctx)
		if err != nil {
			return 0, err
		}
		term, err := strconv.ParseInt(cm.Data[kubeTermKey], 10, 64)
		if err != nil && cm.Data[kubeTermKey] != "" {
			return 0, fmt.Errorf("store: configmap %s/%s: term %q: %w", k.ns, k.stateName(), cm.Data[kubeTermKey], err)
		}
		term++
		cm.Data[kubeTermKey] = strconv.FormatInt(term, 10)
		cm.Data[kubeHolderKey] = holder
		_, err = k.client.CoreV1().ConfigMaps(k.ns).Update(ctx, cm, metav1.UpdateOptions{})
		switch {
		case err == nil:
			return term, nil
		case apierrors.IsConflict(err):
			continue
		default:
			return 0, fmt.Errorf("store: start term %d in configmap %s/%s: %w", term, k.ns, k.stateName(), k.permission(err, "update"))
		}
	}
}

// Term returns the term the state ConfigMap holds and who started it.
func (k *Kube) Term(ctx context.Context) (int64, string, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	cm, err := k.state(ctx)
	if err != nil {
		return 0, "", err
	}
	term, _ := strconv.ParseInt(cm.Data[kubeTermKey], 10, 64)
	return term, cm.Data[kubeHolderKey], nil
}

// Save writes the object's state and its events in one preconditioned
// update of the state ConfigMap, then copies the events to the object's
// history ConfigMap. On a fenced store the update applies only while the
// ConfigMap holds the writer's term; otherwise it fails with ErrFenced and
// nothing changes.
func (k *Kube) Save(kind, name string, state any, events ...any) error {
	sb, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("store: encode %s %q: %w", kind, name, err)
	}
	evs := make([]json.RawMessage, len(events))
	for i, ev := range events {
		if evs[i], err = json.Marshal(ev); err != nil {
			return fmt.Errorf("store: encode %s %q event: %w", kind, name, err)
		}
	}
	if len(stateKey(kind, name)) > 253 {
		return fmt.Errorf("store: %s %q: the escaped name is longer than a ConfigMap key may be (253)", kind, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	if err := k.save(ctx, kind, name, sb, evs); err != nil {
		return fmt.Errorf("store: save %s %q: %w", kind, name, err)
	}
	return nil
}

func (k *Kube) save(ctx context.Context, kind, name string, sb []byte, evs []json.RawMessage) error {
	sk, pk, hn := stateKey(kind, name), pendingKey(kind, name), k.historyName(kind, name)
	// This process's writes of the state ConfigMap take turns (they would
	// only conflict with each other), starting from the copy the last one
	// left; another process's write makes the update conflict, and the
	// ConfigMap is read again.
	k.sh.mu.Lock()
	cm := k.sh.state
	var next pending
	for attempt := 0; ; attempt++ {
		if cm == nil {
			fresh, err := k.state(ctx)
			if err != nil {
				k.sh.mu.Unlock()
				return err
			}
			cm = fresh
		}
		cm = cm.DeepCopy()
		if k.fence != nil {
			mine, ok := k.fence.Term()
			if !ok {
				k.sh.mu.Unlock()
				return ErrFenced
			}
			if cur, _ := strconv.ParseInt(cm.Data[kubeTermKey], 10, 64); cur != mine {
				if attempt == 0 {
					cm = nil // the copy may be old: decide on a fresh read
					continue
				}
				k.sh.mu.Unlock()
				return fmt.Errorf("%w (the state holds term %d, started by %s; this replica's is %d)", ErrFenced, cur, cm.Data[kubeHolderKey], mine)
			}
		}
		prev, err := decodePending(cm.Data[pk])
		if err != nil {
			k.sh.mu.Unlock()
			return fmt.Errorf("configmap %s/%s key %s: %w", k.ns, k.stateName(), pk, err)
		}
		if len(evs) > 0 {
			// The previous Save's events leave the state ConfigMap now:
			// copy them to the history first, unless they are known there.
			if prev.Last > k.sh.flushedUpTo(hn) {
				if err := k.flush(ctx, kind, name, prev.Events); err != nil {
					k.sh.mu.Unlock()
					return err
				}
			}
			next = pending{Last: prev.Last}
			for _, ev := range evs {
				next.Last++
				next.Events = append(next.Events, seqEvent{Seq: next.Last, Event: ev})
			}
			b, err := json.Marshal(next)
			if err != nil {
				k.sh.mu.Unlock()
				return err
			}
			cm.Data[pk] = string(b)
		}
		cm.Data[sk] = string(sb)
		if n := dataSize(cm.Data); n > kubeMaxObject {
			k.sh.mu.Unlock()
			return fmt.Errorf("configmap %s/%s would hold %d bytes, over the %d a Kubernetes object may (too many objects or states too large for store.kind kubernetes)",
				k.ns, k.stateName(), n, kubeMaxObject)
		}
		updated, err := k.client.CoreV1().ConfigMaps(k.ns).Update(ctx, cm, metav1.UpdateOptions{})
		switch {
		case err == nil:
			k.sh.state = updated
		case apierrors.IsConflict(err):
			// Another replica's write (or a new term) came first: read again.
			cm = nil
			if ctx.Err() != nil {
				k.sh.mu.Unlock()
				return fmt.Errorf("configmap %s/%s kept changing under concurrent writers: %w", k.ns, k.stateName(), ctx.Err())
			}
			continue
		default:
			k.sh.state = nil
			k.sh.mu.Unlock()
			return fmt.Errorf("update configmap %s/%s: %w", k.ns, k.stateName(), k.permission(err, "update"))
		}
		break
	}
	k.sh.mu.Unlock()
	if len(evs) > 0 {
		// Best effort: the events are safe in the state ConfigMap
		// (History reads them there), and the next Save copies them.
		_ = k.flush(ctx, kind, name, next.Events)
	}
	return nil
}

// history reads an object's history ConfigMap (nil when there is none).
func (k *Kube) history(ctx context.Context, kind, name string) (*corev1.ConfigMap, []seqEvent, error) {
	hn := k.historyName(kind, name)
	cm, err := k.client.CoreV1().ConfigMaps(k.ns).Get(ctx, hn, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read configmap %s/%s: %w", k.ns, hn, k.permission(err, "get"))
	}
	evs, err := decodeHistory(cm)
	return cm, evs, err
}

func decodeHistory(cm *corev1.ConfigMap) ([]seqEvent, error) {
	var evs []seqEvent
	if s := cm.Data["events"]; s != "" {
		if err := json.Unmarshal([]byte(s), &evs); err != nil {
			return nil, fmt.Errorf("configmap %s/%s: %w", cm.Namespace, cm.Name, err)
		}
	}
	return evs, nil
}

// flush appends to the object's history ConfigMap the events it lacks,
// then trims it to the limits; concurrent flushes of the same events
// append them once. It starts from the copy of the ConfigMap this process
// last wrote, and reads it again when that copy is stale.
func (k *Kube) flush(ctx context.Context, kind, name string, evs []seqEvent) error {
	if len(evs) == 0 {
		return nil
	}
	hn := k.historyName(kind, name)
	cm, fresh := k.sh.cachedHistory(hn), false
	for {
		var kept []seqEvent
		if cm == nil {
			var err error
			if cm, kept, err = k.history(ctx, kind, name); err != nil {
				return err
			}
			fresh = true
		} else {
			var err error
			if kept, err = decodeHistory(cm); err != nil {
				return err
			}
		}
		var last uint64
		if len(kept) > 0 {
			last = kept[len(kept)-1].Seq
		}
		n := len(kept)
		for _, ev := range evs {
			if ev.Seq > last {
				kept = append(kept, ev)
			}
		}
		if len(kept) == n {
			if !fresh {
				cm = nil // the copy may lag behind: check on a fresh read
				continue
			}
			k.sh.historyWritten(hn, cm, last)
			return nil // already there
		}
		b, err := k.encodeHistory(kept)
		if err != nil {
			return err
		}
		var written *corev1.ConfigMap
		if cm == nil {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: hn, Namespace: k.ns, Labels: k.labels(),
				Annotations: map[string]string{"vane.dev/kind": kind, "vane.dev/name": name}},
				Data: map[string]string{"events": string(b)}}
			written, err = k.client.CoreV1().ConfigMaps(k.ns).Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				cm, fresh = nil, false
				continue
			}
			if err != nil {
				return fmt.Errorf("create configmap %s/%s: %w", k.ns, hn, k.permission(err, "create"))
			}
		} else {
			cm = cm.DeepCopy()
			cm.Data = map[string]string{"events": string(b)}
			written, err = k.client.CoreV1().ConfigMaps(k.ns).Update(ctx, cm, metav1.UpdateOptions{})
			switch {
			case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
				if ctx.Err() != nil {
					return fmt.Errorf("configmap %s/%s kept changing under concurrent writers: %w", k.ns, hn, ctx.Err())
				}
				cm, fresh = nil, false
				continue
			case err != nil:
				k.sh.historyWritten(hn, nil, 0)
				return fmt.Errorf("update configmap %s/%s: %w", k.ns, hn, k.permission(err, "update"))
			}
		}
		k.sh.historyWritten(hn, written, kept[len(kept)-1].Seq)
		return nil
	}
}

// encodeHistory keeps the latest events within the count and byte limits
// and encodes them.
func (k *Kube) encodeHistory(evs []seqEvent) ([]byte, error) {
	if len(evs) > k.limit {
		evs = evs[len(evs)-k.limit:]
	}
	// The newest event is always kept; older ones while they fit.
	size, keep := 2, 0
	for i := len(evs) - 1; i >= 0; i-- {
		n := len(evs[i].Event) + 32 // the sequence number and the punctuation
		if keep > 0 && size+n > k.maxBytes {
			break
		}
		size += n
		keep++
	}
	return json.Marshal(evs[len(evs)-keep:])
}

// Get returns one object's state.
func (k *Kube) Get(kind, name string, into any) error {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	cm, err := k.state(ctx)
	if err != nil {
		return fmt.Errorf("store: get %s %q: %w", kind, name, err)
	}
	v, ok := cm.Data[stateKey(kind, name)]
	if !ok {
		return fmt.Errorf("store: %s %q: %w", kind, name, ErrNotFound)
	}
	if err := json.Unmarshal([]byte(v), into); err != nil {
		return fmt.Errorf("store: decode %s %q: %w", kind, name, err)
	}
	return nil
}

// Load returns every stored state of a kind, by name.
func (k *Kube) Load(kind string) (map[string]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	cm, err := k.state(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", kind, err)
	}
	return loadKind(cm.Data, kind)
}

func loadKind(data map[string]string, kind string) (map[string]json.RawMessage, error) {
	p := "s." + escape(kind) + "."
	out := map[string]json.RawMessage{}
	for key, v := range data {
		if !strings.HasPrefix(key, p) {
			continue
		}
		name, err := unescape(strings.TrimPrefix(key, p))
		if err != nil {
			return nil, fmt.Errorf("store: load %s: key %q: %w", kind, key, err)
		}
		out[name] = json.RawMessage(v)
	}
	return out, nil
}

// Names returns the stored names of a kind, sorted.
func (k *Kube) Names(kind string) ([]string, error) {
	m, err := k.Load(kind)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(m)), nil
}

// History returns up to limit of the object's latest events, oldest
// first (limit ≤ 0: all that are kept).
func (k *Kube) History(kind, name string, limit int) ([]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	// The state first: events the history lacks are there, and any event
	// the history gains in between has a number already seen.
	cm, err := k.state(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: history %s %q: %w", kind, name, err)
	}
	p, err := decodePending(cm.Data[pendingKey(kind, name)])
	if err != nil {
		return nil, fmt.Errorf("store: history %s %q: %w", kind, name, err)
	}
	_, evs, err := k.history(ctx, kind, name)
	if err != nil {
		return nil, fmt.Errorf("store: history %s %q: %w", kind, name, err)
	}
	var last uint64
	if len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	for _, ev := range p.Events {
		if ev.Seq > last {
			evs = append(evs, ev)
		}
	}
	if len(evs) > k.limit {
		evs = evs[len(evs)-k.limit:]
	}
	if limit > 0 && len(evs) > limit {
		evs = evs[len(evs)-limit:]
	}
	out := make([]json.RawMessage, len(evs))
	for i, ev := range evs {
		out[i] = ev.Event
	}
	return out, nil
}

// Watch signals, until ctx ends, every change to the stored states of a
// kind (once at the start too); signals that come while one is pending
// are merged.
func (k *Kube) Watch(ctx context.Context, kind string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	go func() {
		var last map[string]json.RawMessage
		changed := func(data map[string]string) {
			m, err := loadKind(data, kind)
			if err != nil || !maps.EqualFunc(m, last, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
				last = m
				signal()
			}
		}
		for ctx.Err() == nil {
			k.watchOnce(ctx, changed)
			signal() // something may have been missed
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return ch
}

// watchOnce reads the state ConfigMap and follows its changes until the
// watch ends.
func (k *Kube) watchOnce(ctx context.Context, changed func(map[string]string)) {
	gctx, cancel := context.WithTimeout(ctx, k.timeout)
	cm, err := k.state(gctx)
	cancel()
	if err != nil {
		return
	}
	changed(cm.Data)
	w, err := k.client.CoreV1().ConfigMaps(k.ns).Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", k.stateName()).String(),
		ResourceVersion: cm.ResourceVersion,
	})
	if err != nil {
		return
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Added, watch.Modified:
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok {
				changed(cm.Data)
			}
		case watch.Error:
			return
		}
	}
}
