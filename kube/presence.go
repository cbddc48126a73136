package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// StorePermissions are the RBAC verbs that replicas sharing their state
// through the Kubernetes API (store.kind kubernetes) need in their
// namespace: the ConfigMaps of the state, the histories and the replicas'
// records, and the Lease of the election.
var StorePermissions = []Permission{
	{Group: "", Resource: "configmaps", Verb: "get"},
	{Group: "", Resource: "configmaps", Verb: "list"},
	{Group: "", Resource: "configmaps", Verb: "watch"},
	{Group: "", Resource: "configmaps", Verb: "create"},
	{Group: "", Resource: "configmaps", Verb: "update"},
	{Group: "", Resource: "configmaps", Verb: "delete"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "get"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "create"},
	{Group: "coordination.k8s.io", Resource: "leases", Verb: "update"},
}

// BoardOptions configures a Board.
type BoardOptions struct {
	// Namespace of the records. Required.
	Namespace string
	// Name is the base name: each replica's record is the ConfigMap
	// <name>-replica-<hash of its ID>, labelled vane.dev/replicas=<name>.
	// Required.
	Name string
	// ID is this replica's ID. Required.
	ID string
	// TTL is how long a record counts as live after the last change this
	// replica saw of it; the publisher renews its record every TTL/3.
	// Required.
	TTL time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Board carries the replicas' presence records (package ha's Transport)
// in ConfigMaps, for replicas without etcd: each replica writes its own
// and renews it every TTL/3; every replica follows them with an informer.
// A record counts as live while this replica saw it change within the TTL
// (its own clock, as client-go's leader election does, so the replicas'
// clocks need not agree); a record that stopped changing for three TTLs
// is deleted by whichever replica notices.
type Board struct {
	client kubernetes.Interface
	o      BoardOptions
	log    *slog.Logger
}

// NewBoard checks the options.
func NewBoard(client kubernetes.Interface, o BoardOptions) (*Board, error) {
	if o.Namespace == "" || o.Name == "" || o.ID == "" || o.TTL <= 0 {
		return nil, fmt.Errorf("kube: BoardOptions.Namespace, Name, ID and a positive TTL are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Board{client: client, o: o, log: o.Logger}, nil
}

const (
	boardLabel   = "vane.dev/replicas"
	recordKey    = "record"
	renewedKey   = "renewed"
	replicaIDKey = "vane.dev/replica"
)

func (b *Board) recordName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return b.o.Name + "-replica-" + hex.EncodeToString(sum[:8])
}

// Publish writes this replica's record at once, whenever it changes and
// every TTL/3; when ctx ends it deletes it, when halt closes it leaves it
// to expire.
func (b *Board) Publish(ctx context.Context, record func() []byte, changed <-chan struct{}, halt <-chan struct{}) {
	var last []byte
	var wrote time.Time
	timer := time.NewTimer(0) // the first write
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := b.client.CoreV1().ConfigMaps(b.o.Namespace).Delete(dctx, b.recordName(b.o.ID), metav1.DeleteOptions{})
			cancel()
			if err != nil && !apierrors.IsNotFound(err) {
				b.log.Warn("Could not withdraw this replica's record; it expires", "err", err)
			}
			return
		case <-halt:
			return
		case <-changed:
		case <-timer.C:
		}
		rec := record()
		if rec == nil || string(rec) == string(last) && time.Since(wrote) < b.o.TTL/3 {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := b.write(wctx, rec)
		cancel()
		timer.Stop()
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("Could not publish this replica's record; retrying", "err", err)
				timer.Reset(500 * time.Millisecond)
			}
			continue
		}
		last, wrote = rec, time.Now()
		timer.Reset(b.o.TTL / 3)
	}
}

// write creates or replaces this replica's record.
func (b *Board) write(ctx context.Context, rec []byte) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: b.recordName(b.o.ID), Namespace: b.o.Namespace,
		Labels:      map[string]string{boardLabel: b.o.Name, "app.kubernetes.io/managed-by": "vane"},
		Annotations: map[string]string{replicaIDKey: b.o.ID}},
		Data: map[string]string{recordKey: string(rec), renewedKey: time.Now().UTC().Format(time.RFC3339Nano)}}
	cms := b.client.CoreV1().ConfigMaps(b.o.Namespace)
	_, err := cms.Update(ctx, cm, metav1.UpdateOptions{}) // unconditional: the record is this replica's alone
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("kube: record %s/%s: %w", b.o.Namespace, cm.Name, err)
	}
	return nil
}

// seen is one record as this replica last saw it change.
type seen struct {
	rv     string
	record []byte
	at     time.Time // when this replica saw it change
}

// Watch follows the records with an informer and calls set with the live
// ones whenever that set or a record changes, and when one expires.
func (b *Board) Watch(ctx context.Context, set func([][]byte)) {
	inf := informers.NewSharedInformerFactoryWithOptions(b.client, 0, informers.WithNamespace(b.o.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = boardLabel + "=" + b.o.Name })).
		Core().V1().ConfigMaps().Informer()
	var mu sync.Mutex
	recs := map[string]seen{}
	poke := make(chan struct{}, 1)
	observe := func(obj any) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return
		}
		now := time.Now()
		mu.Lock()
		if old, ok := recs[cm.Name]; !ok || old.rv != cm.ResourceVersion {
			at := now
			// A record first seen whose writer last renewed it long ago
			// (more than two TTLs, beyond any reasonable clock skew) is a
			// dead replica's.
			if r, err := time.Parse(time.RFC3339Nano, cm.Data[renewedKey]); !ok && err == nil && now.Sub(r) > 2*b.o.TTL {
				at = r
			}
			recs[cm.Name] = seen{rv: cm.ResourceVersion, record: []byte(cm.Data[recordKey]), at: at}
		}
		mu.Unlock()
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if cm, ok := obj.(*corev1.ConfigMap); ok {
				mu.Lock()
				delete(recs, cm.Name)
				mu.Unlock()
				select {
				case poke <- struct{}{}:
				default:
				}
			}
		},
	})
	if err != nil {
		b.log.Error("Could not follow the replicas' records", "err", err)
		return
	}
	done := make(chan struct{})
	go func() { defer close(done); inf.RunWithContext(ctx) }()
	defer func() { <-done }()
	tick := time.NewTicker(b.o.TTL / 4)
	defer tick.Stop()
	var last string
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-poke:
		case <-tick.C:
		}
		now := time.Now()
		mu.Lock()
		var live [][]byte
		var key strings.Builder
		var gone []seen
		for _, name := range slices.Sorted(maps.Keys(recs)) {
			r := recs[name]
			age := now.Sub(r.at)
			if age > 3*b.o.TTL {
				gone = append(gone, seen{rv: r.rv, record: []byte(name)})
			}
			if age > b.o.TTL {
				continue
			}
			live = append(live, r.record)
			key.WriteString(name + "@" + r.rv + ",")
		}
		mu.Unlock()
		for _, g := range gone {
			b.collect(ctx, string(g.record), g.rv)
		}
		if k := key.String(); k != last || first {
			last, first = k, false
			set(live)
		}
	}
}

// collect deletes a record that stopped changing long ago, unless it
// changed since.
func (b *Board) collect(ctx context.Context, name, rv string) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := b.client.CoreV1().ConfigMaps(b.o.Namespace).Delete(dctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if err == nil {
		b.log.Info("Deleted the record of a replica gone for three TTLs", "configmap", b.o.Namespace+"/"+name)
	}
}
