package controller

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/store"
)

// The controller built from a vane.yaml serves its API, reports ready once
// the rollout loops published the services, and stops cleanly when its
// context ends: Run returns nil, in the reverse order of the start, and
// the store is closed (it opens again).
func TestControllerRunsAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vane.yaml")
	yaml := `xds: {listen: 127.0.0.1:0, min_proxies: 0}
http: {listen: 127.0.0.1:0}
scrape: {interval: 1s}
services:
  - name: checkout
    stable: {version: v1, endpoints: [127.0.0.1:9]}
    rollout: {steps: [{weight: 10}, {pause: {}}]}
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(file, []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs promtest.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := New(ctx, Options{Config: cfg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.HTTPAddr().String(), "127.0.0.1:") || strings.HasSuffix(c.HTTPAddr().String(), ":0") {
		t.Fatalf("HTTP address %s: want the port picked", c.HTTPAddr())
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	base := "http://" + c.HTTPAddr().String()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.Rollouts().Get("checkout"); err == nil {
		t.Fatal("a rollout exists before any was started")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after ctx ended: %v", err)
		}
	case <-time.After(DefaultShutdownBudget + 5*time.Second):
		t.Fatal("Run did not return within the shutdown budget")
	}
	// The parts stopped last started first.
	order := []string{"config watcher", "http api", "autoscalers", "autoscale actuators", "rollout controller", "xds server", "embedded prometheus"}
	out := logs.String()
	last := -1
	for _, name := range order {
		v := name
		if strings.Contains(v, " ") {
			v = strconv.Quote(v)
		}
		i := strings.Index(out, "msg=Stopped component="+v+" ")
		if i < 0 {
			t.Fatalf("no stop of %s logged:\n%s", name, out)
		}
		if i < last {
			t.Fatalf("%s stopped before a part started after it:\n%s", name, out)
		}
		last = i
	}
	db, err := store.Open(cfg.Resolve(cfg.Store.Path), store.Options{})
	if err != nil {
		t.Fatalf("the store is still held after Run: %v", err)
	}
	_ = db.Close()
}
