package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vaneproj/vane/internal/etcdtest"
	"github.com/vaneproj/vane/internal/kubetest"
)

// backend is what both stores offer.
type backend interface {
	Save(kind, name string, state any, events ...any) error
	Get(kind, name string, into any) error
	Load(kind string) (map[string]json.RawMessage, error)
	Names(kind string) ([]string, error)
	History(kind, name string, limit int) ([]json.RawMessage, error)
	Close() error
}

// backends opens each store kind with the given history limit.
func backends(t *testing.T) map[string]func(limit int) backend {
	srv := etcdtest.Start(t)
	cluster := kubetest.Start(t)
	client := cluster.Clientset(t)
	var n int
	return map[string]func(int) backend{
		"bbolt": func(limit int) backend {
			n++
			db, err := Open(filepath.Join(t.TempDir(), fmt.Sprintf("v%d.db", n)), Options{HistoryLimit: limit})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"etcd": func(limit int) backend {
			n++
			db, err := OpenEtcd(context.Background(), EtcdOptions{Endpoints: srv.Endpoints(), Prefix: fmt.Sprintf("/t%d", n), HistoryLimit: limit})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"kubernetes": func(limit int) backend {
			n++
			db, err := OpenKube(context.Background(), client, KubeOptions{Namespace: "default", Name: fmt.Sprintf("t%d", n), HistoryLimit: limit})
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
}

func TestConformance(t *testing.T) {
	for kind, open := range backends(t) {
		t.Run(kind, func(t *testing.T) {
			t.Run("SaveGetHistoryTrim", func(t *testing.T) {
				db := open(3)
				for i := range 5 {
					if err := db.Save("rollout", "checkout", doc{Step: i}, doc{Step: i, Note: "a"}, doc{Step: i, Note: "b"}); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.Save("rollout", "cart", doc{Step: 9}); err != nil {
					t.Fatal(err)
				}
				if err := db.Save("autoscaler", "checkout", doc{Step: 7}, doc{Note: "x"}); err != nil {
					t.Fatal(err)
				}
				var got doc
				if err := db.Get("rollout", "checkout", &got); err != nil || got.Step != 4 {
					t.Fatalf("Get = %+v, %v; want step 4", got, err)
				}
				if err := db.Get("rollout", "nope", &got); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get(nope) = %v, want ErrNotFound", err)
				}
				names, err := db.Names("rollout")
				if err != nil || fmt.Sprint(names) != "[cart checkout]" {
					t.Fatalf("Names = %v, %v", names, err)
				}
				if m, err := db.Load("autoscaler"); err != nil || len(m) != 1 || string(m["checkout"]) != `{"step":7,"note":""}` {
					t.Fatalf("Load(autoscaler) = %s, %v", m, err)
				}
				if got := steps(t, db, "rollout", "checkout", 0); got != "[3b 4a 4b]" {
					t.Fatalf("history = %v, want the 3 latest [3b 4a 4b]", got)
				}
				if got := steps(t, db, "rollout", "checkout", 2); got != "[4a 4b]" {
					t.Fatalf("History limit 2 = %v", got)
				}
				if got := steps(t, db, "rollout", "cart", 0); got != "[]" {
					t.Fatalf("history without events = %v", got)
				}
				if got := steps(t, db, "autoscaler", "checkout", 0); got != "[0x]" {
					t.Fatalf("other kind's history = %v", got)
				}
			})
			t.Run("NamesWithSlashesDoNotMix", func(t *testing.T) {
				db := open(10)
				if err := db.Save("rollout", "a", doc{Step: 1}, doc{Note: "a"}); err != nil {
					t.Fatal(err)
				}
				if err := db.Save("rollout", "a/b", doc{Step: 2}, doc{Note: "ab"}); err != nil {
					t.Fatal(err)
				}
				if got := steps(t, db, "rollout", "a", 0); got != "[0a]" {
					t.Fatalf("history of a = %v", got)
				}
				names, err := db.Names("rollout")
				if err != nil || fmt.Sprint(names) != "[a a/b]" {
					t.Fatalf("Names = %v, %v", names, err)
				}
			})
			t.Run("ConcurrentSavesKeepEveryEvent", func(t *testing.T) {
				db := open(1000)
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range 10 {
							if err := db.Save("rollout", "x", doc{Step: i}, doc{Step: w*100 + i}); err != nil {
								t.Error(err)
							}
						}
					}()
				}
				wg.Wait()
				if h, err := db.History("rollout", "x", 0); err != nil || len(h) != 40 {
					t.Fatalf("History = %d events, %v; want 40", len(h), err)
				}
			})
			t.Run("BadStateIsAnErrorAndChangesNothing", func(t *testing.T) {
				db := open(10)
				if err := db.Save("rollout", "x", doc{Step: 1}); err != nil {
					t.Fatal(err)
				}
				if err := db.Save("rollout", "x", make(chan int)); err == nil {
					t.Fatal("Save of an unencodable state succeeded")
				}
				var got doc
				if err := db.Get("rollout", "x", &got); err != nil || got.Step != 1 {
					t.Fatalf("Get = %+v, %v", got, err)
				}
			})
		})
	}
}

func steps(t *testing.T, db backend, kind, name string, limit int) string {
	t.Helper()
	h, err := db.History(kind, name, limit)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, r := range h {
		var d doc
		if err := json.Unmarshal(r, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d%s", d.Step, d.Note))
	}
	return fmt.Sprint(out)
}

// fixedFence is a Fence frozen at one election key and revision.
type fixedFence struct {
	cmp clientv3.Cmp
	ok  bool
}

func (f fixedFence) FenceCmp() (clientv3.Cmp, bool) { return f.cmp, f.ok }

func TestEtcdFencedWrites(t *testing.T) {
	srv := etcdtest.Start(t)
	db, err := OpenEtcd(context.Background(), EtcdOptions{Endpoints: srv.Endpoints(), Prefix: "/f"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	put, err := db.Client().Put(ctx, "/f/leader/abc", "me")
	if err != nil {
		t.Fatal(err)
	}
	rev := put.Header.Revision
	leading := db.Fenced(fixedFence{clientv3.Compare(clientv3.CreateRevision("/f/leader/abc"), "=", rev), true})
	if err := leading.Save("rollout", "x", doc{Step: 1}, doc{Note: "a"}); err != nil {
		t.Fatalf("leader's write: %v", err)
	}
	if err := db.Fenced(fixedFence{}).Save("rollout", "x", doc{Step: 2}); !errors.Is(err, ErrFenced) {
		t.Fatalf("follower's write = %v, want ErrFenced", err)
	}
	// The key is deleted and created again (another term): the old
	// revision no longer matches.
	if _, err := db.Client().Delete(ctx, "/f/leader/abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Client().Put(ctx, "/f/leader/abc", "other"); err != nil {
		t.Fatal(err)
	}
	if err := leading.Save("rollout", "x", doc{Step: 3}, doc{Note: "b"}); !errors.Is(err, ErrFenced) {
		t.Fatalf("deposed leader's write = %v, want ErrFenced", err)
	}
	var got doc
	if err := db.Get("rollout", "x", &got); err != nil || got.Step != 1 {
		t.Fatalf("state = %+v, %v; want the leader's step 1 only", got, err)
	}
	if got := steps(t, db, "rollout", "x", 0); got != "[0a]" {
		t.Fatalf("history = %v", got)
	}
}

func TestEtcdUnreachableIsAClearError(t *testing.T) {
	_, err := OpenEtcd(context.Background(), EtcdOptions{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: 300e6})
	if err == nil {
		t.Fatal("OpenEtcd of a closed port succeeded")
	}
	t.Log(err)
}
