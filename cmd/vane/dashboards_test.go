package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaneproj/vane/internal/promtest"
)

func TestDashboardsGenerate(t *testing.T) {
	ex := filepath.Join("..", "..", "examples", "slos")
	dir := t.TempDir()
	_, errOut, err := runVane(t, "dashboards", "generate", "-f", filepath.Join(ex, "sloth-checkout.yaml"), "-f", filepath.Join(ex, "native-api.yaml"),
		"-o", dir, "--runbook-url", "http://vane.example/runbooks")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "wrote 4 dashboards and 3 runbooks") {
		t.Errorf("output: %s", errOut)
	}
	for _, f := range []string{"executive.json", "oncall.json", "debug.json", "slo-detail.json", "runbooks/checkout-requests-availability.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "oncall.json"))
	if !strings.Contains(string(b), "http://vane.example/runbooks/checkout-requests-availability.md") {
		t.Error("the on-call dashboard does not link the runbook")
	}
	if _, _, err := runVane(t, "dashboards", "generate", "-o", dir); err == nil || !strings.Contains(err.Error(), "no SLOs") {
		t.Errorf("without SLOs: %v", err)
	}
	if _, _, err := runVane(t, "dashboards", "generate", "-f", "nope.yaml", "-o", dir); err == nil {
		t.Error("a missing spec file is not an error")
	}
}

// TestRunbooksServedAndLinkedFromAlerts: the rule file vane run loads gives
// every alert a runbook_url, promtool accepts it, and the URL's path is
// served.
func TestRunbooksServedAndLinkedFromAlerts(t *testing.T) {
	// The spec sets no runbook_url of its own.
	slos, err := loadSpecs([]string{filepath.Join("..", "..", "examples", "slos", "native-api.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	path, remove, err := sloRuleFile(slos, nil, "http://127.0.0.1:8080/runbooks")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	out, err := exec.Command(promtest.Tool(t, "promtool"), "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(path)
	// Every alert has a runbook_url: the spec's own, else the generated one.
	if n, alerts := strings.Count(string(b), "runbook_url: "), strings.Count(string(b), "- alert:"); n != alerts || n == 0 {
		t.Fatalf("%d of %d alerts carry a runbook_url", n, alerts)
	}
	if !strings.Contains(string(b), "runbook_url: http://127.0.0.1:8080/runbooks/api-latency.md") {
		t.Fatalf("the SLO without a runbook_url of its own does not link the generated runbook:\n%s", b)
	}
	h, err := runbooks(slos, "http://127.0.0.1:8080/runbooks")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/runbooks", h))
	defer srv.Close()
	for path, want := range map[string]string{
		"/runbooks/":                    "api-availability.md",
		"/runbooks/api-availability.md": "vane rollout abort NAME",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d\n%s", path, resp.StatusCode, body)
		}
	}
}

func TestSLOGenerateLinksRunbooks(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if _, _, err := runVane(t, "slo", "generate", "-f", filepath.Join("..", "..", "examples", "slos", "native-api.yaml"), "-o", rules,
		"--runbook-url", "http://vane.example/runbooks/"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(rules)
	if !strings.Contains(string(b), "runbook_url: http://vane.example/runbooks/api-latency.md") {
		t.Fatalf("rules:\n%s", b)
	}
}
