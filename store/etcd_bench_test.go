package store

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vaneproj/vane/internal/etcdtest"
)

// benchState is about the size of a stored rollout state (2 KiB of JSON).
type benchState struct {
	Step    int    `json:"step"`
	Padding string `json:"padding"`
}

// BenchmarkEtcdSave measures fenced saves to a real (embedded, one-member,
// on-disk) etcd, as the leader writes them: a state alone (an autoscaler
// tick), a state with one event (a rollout step: one read of the event
// counter, then one transaction), and the latter from 16 writers at once
// (16 writers per GOMAXPROCS, as many rollouts stepping together). It
// reports writes/s.
//
//	go test ./store -run '^$' -bench BenchmarkEtcdSave -benchtime 3s
func BenchmarkEtcdSave(b *testing.B) {
	srv := etcdtest.Start(b)
	db, err := OpenEtcd(context.Background(), EtcdOptions{Endpoints: srv.Endpoints(), Prefix: "/bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	put, err := db.Client().Put(context.Background(), "/bench/leader/x", "me")
	if err != nil {
		b.Fatal(err)
	}
	fenced := db.Fenced(fixedFence{clientv3.Compare(clientv3.CreateRevision("/bench/leader/x"), "=", put.Header.Revision), true})
	benchSaves(b, fenced.Save)
}

// benchSaves runs the save benchmarks shared by the stores: a state alone,
// a state with one event, and the latter from 16 writers per GOMAXPROCS,
// each reporting writes/s.
func benchSaves(b *testing.B, save func(kind, name string, state any, events ...any) error) {
	pad := strings.Repeat("x", 2000)
	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	}
	b.Run("state", func(b *testing.B) {
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			if err := save("autoscaler", "checkout", benchState{Step: i, Padding: pad}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, start)
	})
	b.Run("state+event", func(b *testing.B) {
		start := time.Now()
		for i := 0; b.Loop(); i++ {
			if err := save("rollout", "checkout", benchState{Step: i, Padding: pad}, benchState{Step: i}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, start)
	})
	b.Run("state+event-parallel", func(b *testing.B) {
		var n atomic.Int64
		start := time.Now()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			name := fmt.Sprintf("svc-%d", n.Add(1))
			for i := 0; pb.Next(); i++ {
				if err := save("rollout", name, benchState{Step: i, Padding: pad}, benchState{Step: i}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, start)
	})
}
