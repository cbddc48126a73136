package store

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ErrFenced is returned (wrapped) by a fenced Etcd store's writes when the
// writer is not, or no longer, the leader: nothing was written. It has a
// method Fenced() bool (true), so that packages that must not import store
// can recognize it.
var ErrFenced error = fencedError{}

type fencedError struct{}

func (fencedError) Error() string { return "store: not the leader; write refused" }

// Fenced reports that the write was refused because the writer does not lead.
func (fencedError) Fenced() bool { return true }

// Fence makes writes conditional on the writer holding leadership. The
// leader election (package ha) implements it.
type Fence interface {
	// FenceCmp returns the comparison a write must pass to be applied (the
	// election key still has the create revision this replica won with),
	// and false when this replica is not the leader.
	FenceCmp() (clientv3.Cmp, bool)
}

// EtcdOptions configures OpenEtcd.
type EtcdOptions struct {
	// Endpoints are etcd client URLs. Required.
	Endpoints []string
	// Prefix is the key prefix (default /vane).
	Prefix string
	// TLS, when set, secures the client connection.
	TLS *tls.Config
	// DialTimeout bounds the first contact with etcd (default 5s).
	DialTimeout time.Duration
	// OpTimeout bounds each read and write (default 5s).
	OpTimeout time.Duration
	// HistoryLimit bounds the events kept per object (default 1000).
	HistoryLimit int
	// Logger receives the etcd client's own logs; nil discards them.
	Logger *zap.Logger
}

// Etcd is a store kept in etcd under a prefix: the same kinds, states and
// bounded histories as DB, so several replicas share them. It is safe for
// concurrent use.
//
// Keys: <prefix>/state/<kind>/<name> holds the state, <prefix>/seq/<kind>/<name>
// the number of the last event, <prefix>/history/<kind>/<name>/<%016x seq>
// each event; kind and name are path-escaped.
type Etcd struct {
	cli     *clientv3.Client
	own     bool
	prefix  string
	limit   int
	timeout time.Duration
	fence   Fence
}

// OpenEtcd connects to etcd and checks, within the dial timeout, that it
// answers a linearizable read; an unreachable etcd is an error (there is
// no fallback to a file).
func OpenEtcd(ctx context.Context, o EtcdOptions) (*Etcd, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("store: etcd needs at least one endpoint")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: o.Endpoints, DialTimeout: o.DialTimeout, TLS: o.TLS,
		Logger: o.Logger, Context: context.WithoutCancel(ctx)})
	if err != nil {
		return nil, fmt.Errorf("store: etcd %v: %w", o.Endpoints, err)
	}
	e, err := NewEtcd(cli, o)
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	e.own = true
	cctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	if _, err := cli.Get(cctx, e.prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("store: etcd at %s does not answer within %s (is it running and reachable?): %w",
			strings.Join(o.Endpoints, ","), o.DialTimeout, err)
	}
	return e, nil
}

// NewEtcd wraps an existing client (which Close leaves open).
func NewEtcd(cli *clientv3.Client, o EtcdOptions) (*Etcd, error) {
	if o.Prefix == "" {
		o.Prefix = "/vane"
	}
	if o.HistoryLimit == 0 {
		o.HistoryLimit = DefaultHistoryLimit
	}
	if o.HistoryLimit < 0 {
		return nil, fmt.Errorf("store: history limit %d is negative", o.HistoryLimit)
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = 5 * time.Second
	}
	return &Etcd{cli: cli, prefix: strings.TrimSuffix(o.Prefix, "/"), limit: o.HistoryLimit, timeout: o.OpTimeout}, nil
}

// Client returns the etcd client (for the leader election).
func (e *Etcd) Client() *clientv3.Client { return e.cli }

// Prefix returns the key prefix.
func (e *Etcd) Prefix() string { return e.prefix }

// Fenced returns a view of the store whose writes apply only while f says
// this replica leads, in the same transaction as the check.
func (e *Etcd) Fenced(f Fence) *Etcd {
	c := *e
	c.own = false
	c.fence = f
	return &c
}

// Close closes the client if OpenEtcd made it.
func (e *Etcd) Close() error {
	if !e.own {
		return nil
	}
	if err := e.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("store: close etcd client: %w", err)
	}
	return nil
}

// Path describes where the state lives (for logs).
func (e *Etcd) Path() string {
	return "etcd " + strings.Join(e.cli.Endpoints(), ",") + " " + e.prefix
}

func (e *Etcd) key(parts ...string) string {
	var b strings.Builder
	b.WriteString(e.prefix)
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

func (e *Etcd) stateKey(kind, name string) string { return e.key("state", kind, name) }
func (e *Etcd) seqKey(kind, name string) string   { return e.key("seq", kind, name) }
func (e *Etcd) histPrefix(kind, name string) string {
	return e.key("history", kind, name) + "/"
}
func histKey(prefix string, seq uint64) string { return fmt.Sprintf("%s%016x", prefix, seq) }

// Save writes the object's state, appends the events and trims the history
// in one etcd transaction; on a fenced store the transaction also checks
// that this replica still leads, and fails with ErrFenced otherwise.
func (e *Etcd) Save(kind, name string, state any, events ...any) error {
	sb, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("store: encode %s %q: %w", kind, name, err)
	}
	evs := make([][]byte, len(events))
	for i, ev := range events {
		if evs[i], err = json.Marshal(ev); err != nil {
			return fmt.Errorf("store: encode %s %q event: %w", kind, name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	// The event counter is read, then compared in the transaction; a
	// concurrent writer (there is none under leadership) makes it retry.
	for attempt := 0; ; attempt++ {
		err := e.saveOnce(ctx, kind, name, sb, evs)
		if !errors.Is(err, errRetry) {
			if err != nil {
				return fmt.Errorf("store: save %s %q: %w", kind, name, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: save %s %q: the event counter kept changing under concurrent writers: %w", kind, name, ctx.Err())
		case <-time.After(time.Duration(attempt%8) * time.Millisecond):
		}
	}
}

var errRetry = errors.New("retry")

func (e *Etcd) saveOnce(ctx context.Context, kind, name string, state []byte, evs [][]byte) error {
	ops := []clientv3.Op{clientv3.OpPut(e.stateKey(kind, name), string(state))}
	var conds []clientv3.Cmp
	if len(evs) > 0 {
		sk := e.seqKey(kind, name)
		resp, err := e.cli.Get(ctx, sk)
		if err != nil {
			return err
		}
		var last uint64
		var rev int64
		if len(resp.Kvs) > 0 {
			if last, err = strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64); err != nil {
				return fmt.Errorf("event counter %s: %w", sk, err)
			}
			rev = resp.Kvs[0].ModRevision
		}
		conds = append(conds, clientv3.Compare(clientv3.ModRevision(sk), "=", rev))
		hp := e.histPrefix(kind, name)
		for _, ev := range evs {
			last++
			ops = append(ops, clientv3.OpPut(histKey(hp, last), string(ev)))
		}
		ops = append(ops, clientv3.OpPut(sk, strconv.FormatUint(last, 10)))
		if last > uint64(e.limit) {
			ops = append(ops, clientv3.OpDelete(hp, clientv3.WithRange(histKey(hp, last-uint64(e.limit)+1))))
		}
	}
	inner := clientv3.OpTxn(conds, ops, nil)
	txn := e.cli.Txn(ctx)
	if e.fence != nil {
		cmp, ok := e.fence.FenceCmp()
		if !ok {
			return ErrFenced
		}
		txn = txn.If(cmp)
	}
	resp, err := txn.Then(inner).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return ErrFenced
	}
	if !resp.Responses[0].GetResponseTxn().Succeeded {
		return errRetry
	}
	return nil
}

// Get returns one object's state.
func (e *Etcd) Get(kind, name string, into any) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	resp, err := e.cli.Get(ctx, e.stateKey(kind, name))
	if err != nil {
		return fmt.Errorf("store: get %s %q: %w", kind, name, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("store: %s %q: %w", kind, name, ErrNotFound)
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, into); err != nil {
		return fmt.Errorf("store: decode %s %q: %w", kind, name, err)
	}
	return nil
}

// Load returns every stored state of a kind, by name.
func (e *Etcd) Load(kind string) (map[string]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	p := e.key("state", kind) + "/"
	resp, err := e.cli.Get(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", kind, err)
	}
	out := make(map[string]json.RawMessage, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		name, err := url.PathUnescape(strings.TrimPrefix(string(kv.Key), p))
		if err != nil {
			return nil, fmt.Errorf("store: load %s: key %q: %w", kind, kv.Key, err)
		}
		out[name] = append(json.RawMessage(nil), kv.Value...)
	}
	return out, nil
}

// Names returns the stored names of a kind, sorted.
func (e *Etcd) Names(kind string) ([]string, error) {
	m, err := e.Load(kind)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(m)), nil
}

// History returns up to limit of the object's latest events, oldest
// first (limit ≤ 0: all that are kept).
func (e *Etcd) History(kind, name string, limit int) ([]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}
	if limit > 0 {
		opts = append(opts, clientv3.WithLimit(int64(limit)))
	}
	resp, err := e.cli.Get(ctx, e.histPrefix(kind, name), opts...)
	if err != nil {
		return nil, fmt.Errorf("store: history %s %q: %w", kind, name, err)
	}
	out := make([]json.RawMessage, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[len(out)-1-i] = append(json.RawMessage(nil), kv.Value...)
	}
	return out, nil
}

// Watch signals, until ctx ends, every change to the stored states of a
// kind (once at the start too); signals that come while one is pending
// are merged.
func (e *Etcd) Watch(ctx context.Context, kind string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	ch <- struct{}{}
	p := e.key("state", kind) + "/"
	go func() {
		for ctx.Err() == nil {
			for resp := range e.cli.Watch(clientv3.WithRequireLeader(ctx), p, clientv3.WithPrefix()) {
				if resp.Err() != nil {
					break
				}
				select {
				case ch <- struct{}{}:
				default:
				}
			}
			select {
			case ch <- struct{}{}: // something may have been missed
			default:
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return ch
}
