package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultHistoryLimit is the number of events kept per object when
// Options.HistoryLimit is 0.
const DefaultHistoryLimit = 1000

// ErrNotFound is returned (wrapped) when an object has no stored state.
var ErrNotFound = errors.New("store: not found")

// Options configures Open.
type Options struct {
	// HistoryLimit bounds the events kept per object (default 1000); the
	// oldest are dropped first.
	HistoryLimit int
	// Timeout bounds the wait for the file lock held by another process
	// (default 5s).
	Timeout time.Duration
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	db    *bolt.DB
	limit int
}

// Open opens or creates the bbolt file at path.
func Open(path string, o Options) (*DB, error) {
	if o.HistoryLimit == 0 {
		o.HistoryLimit = DefaultHistoryLimit
	}
	if o.HistoryLimit < 0 {
		return nil, fmt.Errorf("store: history limit %d is negative", o.HistoryLimit)
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is locked by another process (is another vane running?): %w", path, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &DB{db: db, limit: o.HistoryLimit}, nil
}

// Close closes the file. It is safe to call more than once.
func (d *DB) Close() error {
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Path returns the file's path.
func (d *DB) Path() string { return d.db.Path() }

func stateBucket(kind string) []byte   { return []byte(kind + "/state") }
func historyBucket(kind string) []byte { return []byte(kind + "/history") }

// Save writes the object's state and appends events to its history in
// one durable transaction (fsync'ed before Save returns), then trims the
// history to the limit.
func (d *DB) Save(kind, name string, state any, events ...any) error {
	sb, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("store: encode %s %q: %w", kind, name, err)
	}
	evs := make([][]byte, len(events))
	for i, e := range events {
		if evs[i], err = json.Marshal(e); err != nil {
			return fmt.Errorf("store: encode %s %q event: %w", kind, name, err)
		}
	}
	err = d.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(stateBucket(kind))
		if err != nil {
			return err
		}
		if err := b.Put([]byte(name), sb); err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		hb, err := tx.CreateBucketIfNotExists(historyBucket(kind))
		if err != nil {
			return err
		}
		h, err := hb.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		for _, e := range evs {
			seq, err := h.NextSequence()
			if err != nil {
				return err
			}
			if err := h.Put(seqKey(seq), e); err != nil {
				return err
			}
		}
		return trim(h, d.limit)
	})
	if err != nil {
		return fmt.Errorf("store: save %s %q: %w", kind, name, err)
	}
	return nil
}

func seqKey(n uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, n)
	return k
}

func trim(h *bolt.Bucket, limit int) error {
	// Keys are consecutive sequence numbers, the oldest first: the bucket
	// holds last-first+1 events, and trimming deletes from the front.
	c := h.Cursor()
	k, _ := c.First()
	lk, _ := c.Last()
	if k == nil {
		return nil
	}
	first, last := binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(lk)
	if n := last - first + 1; n > uint64(limit) {
		// Deleting under a cursor that then moves on skips keys in bbolt:
		// delete by key instead.
		for seq := first; seq <= last-uint64(limit); seq++ {
			if err := h.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get returns one object's state.
func (d *DB) Get(kind, name string, into any) error {
	var raw []byte
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(stateBucket(kind))
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(name)); v != nil {
			raw = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: get %s %q: %w", kind, name, err)
	}
	if raw == nil {
		return fmt.Errorf("store: %s %q: %w", kind, name, ErrNotFound)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("store: decode %s %q: %w", kind, name, err)
	}
	return nil
}

// Load returns every stored state of a kind, by name.
func (d *DB) Load(kind string) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(stateBucket(kind))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = append(json.RawMessage(nil), v...)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: load %s: %w", kind, err)
	}
	return out, nil
}

// Names returns the stored names of a kind, sorted.
func (d *DB) Names(kind string) ([]string, error) {
	m, err := d.Load(kind)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(m)), nil
}

// History returns up to limit of the object's latest events, oldest
// first (limit ≤ 0: all that are kept).
func (d *DB) History(kind, name string, limit int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	err := d.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(historyBucket(kind))
		if hb == nil {
			return nil
		}
		h := hb.Bucket([]byte(name))
		if h == nil {
			return nil
		}
		c := h.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			out = append(out, append(json.RawMessage(nil), v...))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history %s %q: %w", kind, name, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
