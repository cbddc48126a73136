package ha

import (
	"context"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Transport carries the replicas' records between them: etcd keys under a
// lease (the default), or Kubernetes objects (package kube's Presence
// board). Records are opaque bytes to it.
type Transport interface {
	// Publish keeps this replica's record published until ctx ends or halt
	// is closed: it writes record() at once and after each signal on
	// changed (when it differs from the last written), and renews it so
	// that it drops out within the TTL once this replica stops. When ctx
	// ends it withdraws the record; when halt closes it leaves it to
	// expire, as after a crash.
	Publish(ctx context.Context, record func() []byte, changed <-chan struct{}, halt <-chan struct{})
	// Watch calls set with every live replica's record whenever they
	// change, until ctx ends.
	Watch(ctx context.Context, set func(records [][]byte))
}

// etcdTransport keeps each record at <prefix>/replicas/<id>, attached to
// a lease of the replica's own.
type etcdTransport struct {
	cli *clientv3.Client
	pfx string
	id  string
	ttl time.Duration
	log *slog.Logger
}

func (e *etcdTransport) key(id string) string { return e.pfx + url.PathEscape(id) }

// Publish writes the record under a session's lease; a lost lease (etcd
// away longer than the TTL) is replaced and the record written again.
func (e *etcdTransport) Publish(ctx context.Context, record func() []byte, changed <-chan struct{}, halt <-chan struct{}) {
	for ctx.Err() == nil {
		s, err := concurrency.NewSession(e.cli, concurrency.WithTTL(int(e.ttl/time.Second)), concurrency.WithContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("Could not start the presence lease; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		e.publishLoop(ctx, s, record, changed, halt)
		select {
		case <-halt:
			s.Orphan() // no revoke: the record stays until the TTL, as after a crash
			return
		default:
		}
		if ctx.Err() != nil {
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = e.cli.Revoke(rctx, s.Lease())
			cancel()
			s.Orphan()
			return
		}
		e.log.Warn("Presence lease lost; publishing again under a new one")
	}
}

// publishLoop writes the record at once and whenever it changes, until
// ctx ends or the session does.
func (e *etcdTransport) publishLoop(ctx context.Context, s *concurrency.Session, record func() []byte, changed <-chan struct{}, halt <-chan struct{}) {
	var last []byte
	retry := time.NewTimer(0) // the first write
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.Done():
			return
		case <-halt:
			return
		case <-changed:
		case <-retry.C:
		}
		b := record()
		if b == nil || string(b) == string(last) {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := e.cli.Put(wctx, e.key(e.id), string(b), clientv3.WithLease(s.Lease()))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("Could not publish this replica's record; retrying", "err", err)
				retry.Reset(500 * time.Millisecond)
			}
			continue
		}
		last = b
	}
}

// Watch reads every record under the prefix, then follows their changes.
func (e *etcdTransport) Watch(ctx context.Context, set func([][]byte)) {
	for ctx.Err() == nil {
		resp, err := e.cli.Get(ctx, e.pfx, clientv3.WithPrefix())
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("Could not read the replicas' records; retrying", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		recs := map[string][]byte{}
		for _, kv := range resp.Kvs {
			recs[string(kv.Key)] = kv.Value
		}
		set(slices.Collect(maps.Values(recs)))
		wch := e.cli.Watch(clientv3.WithRequireLeader(ctx), e.pfx, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					delete(recs, string(ev.Kv.Key))
					continue
				}
				recs[string(ev.Kv.Key)] = ev.Kv.Value
			}
			set(slices.Collect(maps.Values(recs)))
		}
		if ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}
