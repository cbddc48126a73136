package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// stepTrace writes a short trace (a doubling at 2 minutes) to a CSV file
// in dir.
func stepTrace(t *testing.T, dir string) string {
	t.Helper()
	csv := filepath.Join(dir, "mine.csv")
	if err := os.WriteFile(csv, []byte("t_seconds,rps\n0,80\n120,80\n121,160\n300,160\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return csv
}

func TestBenchAutoscaleReplaysACSVTrace(t *testing.T) {
	dir := t.TempDir()
	csv := stepTrace(t, dir)
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs([]string{"bench", "autoscale", "--json", "--trace", csv, "--plot", dir})
	if err := root.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	policies := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var row map[string]any
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		for _, k := range []string{"policy", "trace", "violation_minutes", "budget_spent", "replica_hours", "actions", "reversals"} {
			if _, ok := row[k]; !ok {
				t.Fatalf("row lacks %q: %v", k, row)
			}
		}
		if row["trace"] != "mine" {
			t.Fatalf("trace %v, want mine", row["trace"])
		}
		policies[row["policy"].(string)] = true
	}
	for _, p := range []string{"vane", "hpa", "keda", "knative-kpa", "static-peak", "oracle"} {
		if !policies[p] {
			t.Errorf("no row for %s", p)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "autoscale-mine.png")); err != nil || fi.Size() < 1000 {
		t.Fatalf("plot: %v", err)
	}
	if !strings.Contains(errOut.String(), "[6/6]") {
		t.Fatalf("no progress on stderr: %s", errOut.String())
	}
}

func TestBenchAutoscaleBadTraceNamesTheLine(t *testing.T) {
	csv := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(csv, []byte("0,10\n60,ten\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs([]string{"bench", "autoscale", "--trace", csv})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), csv+":2:") {
		t.Fatalf("err %v, want %s:2", err, csv)
	}
	if out.Len() != 0 {
		t.Fatalf("printed a table for a bad trace: %s", out.String())
	}
}

func TestBenchAutoscaleSeveralSeeds(t *testing.T) {
	csv := stepTrace(t, t.TempDir())
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs([]string{"bench", "autoscale", "--trace", csv, "--seed", "3", "--seeds", "2"})
	if err := root.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{"seeds 3 to 4, summed:", "targets met (vane against the peers), of the seeds run:", "vs hpa", "of 2", "all: "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "seed 4 [6/6]") {
		t.Fatalf("no per-seed progress on stderr: %s", errOut.String())
	}
	// The summed rows are the per-seed runs' sums.
	sum := 0
	for _, s := range []string{"3", "4"} {
		var o, e bytes.Buffer
		r := newRootCmd(&o, &e)
		r.SetArgs([]string{"bench", "autoscale", "--trace", csv, "--seed", s, "--json"})
		if err := r.Execute(); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(o.String()), "\n") {
			var row struct {
				Policy  string `json:"policy"`
				Seed    int    `json:"seed"`
				Actions int    `json:"actions"`
			}
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatal(err)
			}
			if row.Seed != map[string]int{"3": 3, "4": 4}[s] {
				t.Fatalf("row of --seed %s says seed %d", s, row.Seed)
			}
			if row.Policy == "vane" {
				sum += row.Actions
			}
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) == 8 && f[1] == "vane" {
			if f[2] != "2" || f[6] != strconv.Itoa(sum) {
				t.Fatalf("vane's summed row %q, want 2 seeds and %d actions", line, sum)
			}
			return
		}
	}
	t.Fatalf("no vane row:\n%s", out.String())
}

func TestBenchAutoscaleRefusesZeroSeeds(t *testing.T) {
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs([]string{"bench", "autoscale", "--seeds", "0"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--seeds must be at least 1") {
		t.Fatalf("err %v", err)
	}
}
