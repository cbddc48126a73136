package main

import (
	"encoding/pem"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaneproj/vane/rollout"
)

// `vane rollout --ca-file` trusts the CA of an HTTPS API; without it the
// client refuses the unknown certificate.
func TestRolloutCommandsOverHTTPSWithACAFile(t *testing.T) {
	dir := t.TempDir()
	_, srv := startRolloutAPI(t, dir, rollout.Plan{}, "", httptest.NewTLSServer)
	ca := filepath.Join(dir, "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})), 0o600)
	run := func(args ...string) (string, error) {
		return runCLI(append([]string{"rollout", "list", "--server", srv.URL}, args...)...)
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
