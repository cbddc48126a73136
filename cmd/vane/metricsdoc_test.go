package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vaneproj/vane/config"
)

var updateMetricsDoc = flag.Bool("update-metrics-doc", false, "rewrite docs/metrics.md from the registered collectors")

// recordingRegistry is a registry that remembers every collector
// registered with it.
type recordingRegistry struct {
	*prometheus.Registry
	mu sync.Mutex
	cs []prometheus.Collector
}

func (r *recordingRegistry) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
	return nil
}

func (r *recordingRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

var descRE = regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*"), help: ("(?:[^"\\]|\\.)*"), unit: "[^"]*", constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}\}$`)

// metricRow is one line of the metrics reference.
type metricRow struct{ name, typ, labels, help string }

// metricRows describes every vane_* metric of the collectors.
func metricRows(t *testing.T, cs []prometheus.Collector) []metricRow {
	t.Helper()
	seen := map[string]bool{}
	var rows []metricRow
	for _, c := range cs {
		typ := collectorType(c)
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := descRE.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read %s", d)
			}
			name, _ := strconv.Unquote(m[1])
			help, _ := strconv.Unquote(m[2])
			if !strings.HasPrefix(name, "vane_") || seen[name] {
				continue
			}
			seen[name] = true
			var labels []string
			if m[4] != "" {
				labels = append(labels, strings.Split(m[4], ",")...)
			}
			for _, cl := range strings.Split(m[3], ",") {
				if k, _, ok := strings.Cut(cl, "="); ok {
					labels = append(labels, k)
				}
			}
			rows = append(rows, metricRow{name, typ, strings.Join(labels, ", "), help})
		}
	}
	slices.SortFunc(rows, func(a, b metricRow) int { return strings.Compare(a.name, b.name) })
	return rows
}

// collectorType is the metric type of a collector: from what it collects,
// or, for a vector with no series yet, from its Go type.
func collectorType(c prometheus.Collector) string {
	switch c.(type) {
	case *prometheus.CounterVec:
		return "counter"
	case *prometheus.GaugeVec:
		return "gauge"
	case *prometheus.HistogramVec:
		return "histogram"
	case *prometheus.SummaryVec:
		return "summary"
	}
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	typ := "untyped"
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		switch {
		case pb.Counter != nil:
			typ = "counter"
		case pb.Gauge != nil:
			typ = "gauge"
		case pb.Histogram != nil:
			typ = "histogram"
		case pb.Summary != nil:
			typ = "summary"
		}
	}
	return typ
}

func renderMetricsDoc(rows []metricRow) string {
	var b strings.Builder
	b.WriteString("# Metrics of `vane run`\n\n")
	b.WriteString("Generated from the collectors `vane run` registers (`go test ./cmd/vane -run TestMetricsReference\n")
	b.WriteString("-update-metrics-doc` rewrites it; the test fails when a metric is missing here). `vane run` also\n")
	b.WriteString("serves Go's `go_*` and `process_*` metrics and, with the embedded Prometheus, its `prometheus_*` metrics.\n\n")
	b.WriteString("| metric | type | labels | meaning |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.name, r.typ, r.labels, strings.ReplaceAll(r.help, "|", `\|`))
	}
	return b.String()
}

// TestMetricsReference runs the controller as `vane run` does (embedded
// Prometheus, an Alertmanager URL, one service), records every collector it
// registers, and checks that docs/metrics.md documents each vane_* metric
// exactly as registered.
func TestMetricsReference(t *testing.T) {
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	cfgText := fmt.Sprintf(`xds: {listen: %q}
http: {listen: %q}
alertmanager: {url: "http://127.0.0.1:1"}
scrape:
  jobs: [{name: app, targets: [%q]}]
services:
  - name: checkout
    stable: {version: v1, endpoints: ["127.0.0.1:9001"]}
    rollout: {analysis: {requests_metric: demo_requests_total}}
`, freeAddr(t), httpAddr, freeAddr(t))
	file := filepath.Join(dir, "vane.yaml")
	if err := os.WriteFile(file, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := &recordingRegistry{Registry: prometheus.NewRegistry()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runControllerWith(ctx, cfg, slog.New(slog.DiscardHandler), reg) }()
	waitFor(t, 30*time.Second, "vane run ready", func() bool {
		r, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == http.StatusOK
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	reg.mu.Lock()
	rows := metricRows(t, reg.cs)
	reg.mu.Unlock()
	want := renderMetricsDoc(rows)
	path := "../../docs/metrics.md"
	if *updateMetricsDoc {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/vane -run TestMetricsReference -update-metrics-doc)", err)
	}
	for _, r := range rows {
		if !strings.Contains(string(got), "| `"+r.name+"` |") {
			t.Errorf("metric %s is not documented in docs/metrics.md", r.name)
		}
	}
	if string(got) != want {
		t.Errorf("docs/metrics.md differs from the registered metrics; rewrite it with -update-metrics-doc")
	}
	if !slices.ContainsFunc(rows, func(r metricRow) bool { return r.name == "vane_build_info" }) {
		t.Error("vane_build_info is not registered")
	}
}
