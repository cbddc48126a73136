package main

import (
	"context"
	"encoding/pem"
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

// TestPrometheusClientSettingsReachTheServer checks that prometheus/common
// client settings written in vane.yaml's prometheus section — TLS under
// both its names, authorization, extra headers — reach an HTTPS server.
func TestPrometheusClientSettingsReachTheServer(t *testing.T) {
	var auth, org string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, org = r.Header.Get("Authorization"), r.Header.Get("X-Scope-OrgID")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("t0k3n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tlsKey := range []string{"tls_config", "tls"} {
		yml := "prometheus:\n  url: " + srv.URL + "\n  " + tlsKey + ": {ca_file: ca.pem}\n" +
			"  authorization: {type: Bearer, credentials_file: token}\n  http_headers: {X-Scope-OrgID: {values: [team-a]}}\n"
		cfg, err := config.Parse(filepath.Join(dir, "vane.yaml"), []byte(yml), nil)
		if err != nil {
			t.Fatal(err)
		}
		q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: cfg.Prometheus.URL, Client: controller.PromHTTPClientConfig(cfg)})
		if err != nil {
			t.Fatal(err)
		}
		auth, org = "", ""
		if _, err := q.Query(context.Background(), "up", time.Now()); err != nil {
			t.Fatalf("%s: %v", tlsKey, err)
		}
		if auth != "Bearer t0k3n" || org != "team-a" {
			t.Errorf("%s: the server saw Authorization %q, X-Scope-OrgID %q", tlsKey, auth, org)
		}
	}
}
