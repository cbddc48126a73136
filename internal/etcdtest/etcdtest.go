// Package etcdtest starts a real, single-member etcd server inside a test
// process (go.etcd.io/etcd/server/v3/embed) on loopback ports, silent, with
// its data in the test's temporary directory. It can be stopped and
// started again on the same ports and data, to test what replicas do
// while etcd is away.
//
// It is for tests only and must not be imported by non-test code.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is a running (or stopped) embedded etcd.
type Server struct {
	t            testing.TB
	dir          string
	client, peer url.URL
	etcd         *embed.Etcd
}

// Start starts etcd and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(),
		client: url.URL{Scheme: "http", Host: freeAddr(t)}, peer: url.URL{Scheme: "http", Host: freeAddr(t)}}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Endpoints returns the client URLs.
func (s *Server) Endpoints() []string { return []string{s.client.String()} }

// Stop stops etcd; it is safe to call when stopped.
func (s *Server) Stop() {
	if s.etcd == nil {
		return
	}
	s.etcd.Close()
	<-s.etcd.Server.StopNotify()
	s.etcd = nil
}

// Restart starts etcd (again) on the same ports and data directory and
// waits until it serves.
func (s *Server) Restart() {
	s.t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "vane-test"
	cfg.Dir = s.dir
	cfg.ListenClientUrls = []url.URL{s.client}
	cfg.AdvertiseClientUrls = []url.URL{s.client}
	cfg.ListenPeerUrls = []url.URL{s.peer}
	cfg.AdvertisePeerUrls = []url.URL{s.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	var err error
	// A port just released may still be in TIME_WAIT for a moment.
	for range 50 {
		if s.etcd, err = embed.StartEtcd(cfg); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("start embedded etcd: %v", err)
	}
	select {
	case <-s.etcd.Server.ReadyNotify():
	case <-time.After(20 * time.Second):
		s.etcd.Close()
		s.t.Fatal("embedded etcd not ready within 20s")
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
