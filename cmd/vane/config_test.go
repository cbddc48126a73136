package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaneproj/vane/rollout"
)

// TestConfigDiscoveryEnvironmentAndFlags runs `vane run --check` as a user
// does: without -c it finds ./vane.yaml, else the XDG one; VANE_*
// variables set nested settings; a flag beats its variable; a bad
// variable is named in the error.
func TestConfigDiscoveryEnvironmentAndFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	xdg := filepath.Join(dir, "xdg")
	t.Setenv("XDG_CONFIG_HOME", xdg)
	if _, err := runCLI("run", "--check"); err == nil || !strings.Contains(err.Error(), "no configuration file: none of vane.yaml, "+filepath.Join(xdg, "vane", "vane.yaml")) {
		t.Fatalf("no file anywhere: %v", err)
	}
	xdgFile := filepath.Join(xdg, "vane", "vane.yaml")
	if err := os.MkdirAll(filepath.Dir(xdgFile), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, xdgFile, "http: {listen: \"127.0.0.1:8181\"}\n", 0o600)
	if out, err := runCLI("run", "--check"); err != nil || !strings.HasPrefix(out, xdgFile+": OK:") || !strings.Contains(out, "HTTP on 127.0.0.1:8181") {
		t.Fatalf("the XDG file: %q %v", out, err)
	}
	writeFile(t, "vane.yaml", "http: {listen: \"127.0.0.1:8282\"}\n", 0o600)
	t.Setenv("VANE_XDS_LISTEN", "127.0.0.1:18999")
	t.Setenv("VANE_HTTP_LISTEN", "127.0.0.1:8383")
	out, err := runCLI("run", "--check", "--http-listen", "127.0.0.1:8484")
	if err != nil || !strings.HasPrefix(out, "vane.yaml: OK:") || !strings.Contains(out, "xDS on 127.0.0.1:18999") || !strings.Contains(out, "HTTP on 127.0.0.1:8484") {
		t.Fatalf("./vane.yaml with a variable and a flag: %q %v", out, err)
	}
	t.Setenv("VANE_STORE_HISTORY_LIMIT", "lots")
	if _, err := runCLI("run", "--check"); err == nil || !strings.Contains(err.Error(), `VANE_STORE_HISTORY_LIMIT: store.history_limit: must be an integer, got the str "lots"`) {
		t.Fatalf("a bad variable: %v", err)
	}
}

// TestAPIFlagsBeatTheirVariables checks the API client's settings through
// viper: VANE_SERVER when --server is not given, --server when it is, on
// both commands that have the flag.
func TestAPIFlagsBeatTheirVariables(t *testing.T) {
	_, srv := startRolloutAPI(t, t.TempDir(), rollout.Plan{Steps: []rollout.PlanStep{rollout.WeightStep(10)}}, "", httptest.NewServer)
	t.Setenv("VANE_SERVER", srv.URL)
	if out, err := runCLI("rollout", "list"); err != nil || out != "no rollouts\n" {
		t.Fatalf("rollout list with VANE_SERVER: %q %v", out, err)
	}
	if _, err := runCLI("autoscale", "list"); err != nil {
		t.Fatalf("autoscale list with VANE_SERVER: %v", err)
	}
	if _, err := runCLI("rollout", "list", "--server", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("--server does not win over VANE_SERVER: %v", err)
	}
}
