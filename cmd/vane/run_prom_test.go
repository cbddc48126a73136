package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/controller"
	"github.com/vaneproj/vane/prom"
)

// TestPrometheusBasicAuthFromTheConfigFile checks that vane.yaml's
// prometheus.basic_auth reaches the Prometheus server.
func TestPrometheusBasicAuthFromTheConfigFile(t *testing.T) {
	var user, pass string
	var ok bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "vane.yaml")
	yml := "prometheus:\n  url: " + srv.URL + "\n  basic_auth: {username: vane, password_file: password}\n"
	cfg, err := config.Parse(file, []byte(yml), nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: cfg.Prometheus.URL, Client: controller.PromHTTPClientConfig(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Query(context.Background(), "up", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !ok || user != "vane" || pass != "s3cret" {
		t.Fatalf("basic auth sent: %v %q %q, want vane/s3cret", ok, user, pass)
	}
}
