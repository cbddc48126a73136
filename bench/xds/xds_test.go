package xds

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The tuned baseline re-pushes only the route on a weight change (one
// version per resource type), and every stream ACKs it; Vane's server does
// the same. Both run in-process with a few real ADS streams.
func TestServersPushOnlyTheRoute(t *testing.T) {
	for _, mode := range []string{Vane, Snapshot} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			const streams = 3
			var srv benchXDSServer
			var err error
			if mode == Vane {
				srv, err = startBenchVane(ctx, streams)
			} else {
				srv, err = startBenchSnapshot(ctx, streams)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer srv.stop()
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			ready := make(chan struct{}, streams)
			for i := range streams {
				go func() {
					_ = benchADSStream(sctx, srv.addr, fmt.Sprintf("node-%d", i), func() { ready <- struct{}{} })
				}()
			}
			for range streams {
				select {
				case <-ready:
				case <-ctx.Done():
					t.Fatal("streams did not subscribe")
				}
			}
			for srv.connected() < streams {
				time.Sleep(5 * time.Millisecond)
			}
			if err := srv.change(ctx, 1); err != nil { // warm-up: first ACKs settle
				t.Fatal(err)
			}
			before := srv.pushes()
			const changes = 3
			for i := 2; i < 2+changes; i++ {
				if err := srv.change(ctx, i); err != nil {
					t.Fatal(err)
				}
			}
			// A push is counted when it is sent, which may trail the ACK
			// the change waited for: wait for the count, then check it.
			deadline := time.Now().Add(5 * time.Second)
			for srv.pushes()-before < streams*changes && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := (srv.pushes() - before) / changes; got != streams {
				t.Fatalf("%v pushes per change, want %d (the route to each stream)", got, streams)
			}
		})
	}
}

// TestMemSample reads this process's live heap and resident set from procfs.
func TestMemSample(t *testing.T) {
	heap, rss := memSample()
	if heap == 0 || rss < heap {
		t.Fatalf("heap %d bytes, rss %d bytes: want 0 < heap <= rss", heap, rss)
	}
}
