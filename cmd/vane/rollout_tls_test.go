package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

// `vane rollout --ca-file` trusts the CA of an HTTPS API; without it the
// client refuses the unknown certificate.
func TestRolloutCommandsOverHTTPSWithACAFile(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "vane.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	router := traffic.RouterFunc(func(context.Context, traffic.Service, traffic.Routing) (traffic.Applied, error) {
		return traffic.Applied{Version: "1"}, nil
	})
	svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:9001"}}}
	m, err := rollout.NewManager(rollout.Options{Router: router, Store: db}, []rollout.ServiceConfig{{Service: svc}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s, err := api.New(api.Options{Rollouts: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s.Handler())
	defer srv.Close()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for !m.Ready() {
		time.Sleep(time.Millisecond)
	}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetArgs(append([]string{"rollout", "list", "--server", srv.URL}, args...))
		err := root.ExecuteContext(context.Background())
		return out.String(), err
	}
	if out, err := run("--ca-file", ca); err != nil || out != "no rollouts\n" {
		t.Fatalf("list over HTTPS with --ca-file: %q %v", out, err)
	}
	if _, err := run(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("list over HTTPS without the CA: %v", err)
	}
	if _, err := run("--ca-file", filepath.Join(dir, "vane.db")); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("a CA file without a certificate: %v", err)
	}
}
