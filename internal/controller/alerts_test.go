package controller

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
	"github.com/vaneproj/vane/slo"
)

func TestSLORuleFile(t *testing.T) {
	slos := loadSpec(t, filepath.Join("..", "..", "examples", "slos", "sloth-checkout.yaml"))
	path, remove, err := sloRuleFile(slos, []string{"sloth-checkout.yaml"}, "http://127.0.0.1:8080/runbooks")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(path)
	remove()
	if err != nil || !strings.Contains(string(rules), "slo:current_burn_rate:ratio") {
		t.Fatalf("rule file: %v\n%s", err, rules)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("remove left the file")
	}
}

// TestRunbooksServedAndLinkedFromAlerts: the rule file vane run loads gives
// every alert a runbook_url, promtool accepts it, and the URL's path is
// served.
func TestRunbooksServedAndLinkedFromAlerts(t *testing.T) {
	// The spec sets no runbook_url of its own.
	slos := loadSpec(t, filepath.Join("..", "..", "examples", "slos", "native-api.yaml"))
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

// loadSpec loads one SLO spec file.
func loadSpec(t *testing.T, path string) []*slo.SLO {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	slos, err := slo.Load(slo.File{Name: filepath.Base(path), Data: b})
	if err != nil {
		t.Fatal(err)
	}
	return slos
}
