package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/dashboards"
	"github.com/vaneproj/vane/slo"
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

// checkDashboardQueries runs every query of the dashboards and runbooks
// generated for slos against vane run's embedded Prometheus (base is its
// /prometheus URL) and fails for each one that finds no data; it waits up
// to 30 s for late series. The run must have had what some of them read:
// an autoscaler and a fast burn (a tier holding, an alert firing).
func checkDashboardQueries(t *testing.T, base string, slos []*slo.SLO) {
	t.Helper()
	files, err := dashboards.Generate(slos, dashboards.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$__range", "1h",
		"$service", slos[0].Service, "$slo", slos[0].Name)
	promqlBlock := regexp.MustCompile("(?s)```promql\n(.*?)\n```")
	var queries []string
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".md") {
			for _, m := range promqlBlock.FindAllStringSubmatch(string(f.Data), -1) {
				queries = append(queries, m[1])
			}
			continue
		}
		var d struct {
			Panels []struct {
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				queries = append(queries, vars.Replace(tg.Expr))
			}
		}
	}
	client, err := promapi.NewClient(promapi.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(client)
	var empty []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		empty = empty[:0]
		for _, q := range queries {
			v, _, _, err := api.Query(context.Background(), q, time.Now())
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if v.String() == "" {
				empty = append(empty, q)
			}
		}
		if len(empty) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(empty) > 0 {
		t.Errorf("%d of %d dashboard and runbook queries find no data:\n%s", len(empty), len(queries), strings.Join(empty, "\n"))
	}
	t.Logf("%d dashboard and runbook queries: %d find data in the embedded Prometheus", len(queries), len(queries)-len(empty))
}

// testSpecs loads SLO spec files as vane slo validate does, or fails t.
func testSpecs(t *testing.T, paths ...string) []*slo.SLO {
	t.Helper()
	slos, _, err := loadSpecs(&cobra.Command{}, io.Discard, paths, nil, slo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return slos
}
