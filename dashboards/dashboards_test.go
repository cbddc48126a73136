package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/slo"
	"github.com/vaneproj/vane/xds"
)

var update = flag.Bool("update", false, "rewrite examples/ (the golden files) from the generator")

// loadExamples reads the repository's example SLO specs.
func loadExamples(t *testing.T) []*slo.SLO {
	t.Helper()
	paths, err := filepath.Glob("../examples/slos/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("example specs: %v %v", paths, err)
	}
	var files []slo.File
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, slo.File{Name: filepath.Base(p), Data: b})
	}
	slos, err := slo.Load(files...)
	if err != nil {
		t.Fatal(err)
	}
	return slos
}

// TestExamplesGolden generates the dashboards and runbooks of the example
// specs; examples/ holds them (go test ./dashboards -run Golden -update).
func TestExamplesGolden(t *testing.T) {
	files, err := Generate(loadExamples(t), Options{RunbookBaseURL: "http://127.0.0.1:8080/runbooks"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join("examples", f.Name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./dashboards -update)", err)
		}
		if !bytes.Equal(want, f.Data) {
			t.Errorf("%s differs from the generator's output (run go test ./dashboards -update and review the diff)", path)
		}
	}
}

// descCollector records the names of every metric registered on it.
type descCollector struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *descCollector) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		m := fqName.FindStringSubmatch(desc.String())
		if m == nil {
			continue
		}
		d.names[m[1]] = true
		// A histogram's series; the extra names are harmless for others.
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			d.names[m[1]+suf] = true
		}
	}
	return nil
}

func (d *descCollector) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d *descCollector) Unregister(prometheus.Collector) bool { return true }

// knownSeries is every series name a dashboard may read: the generated
// rules' records and ALERTS, the series their expressions (the specs' SLI
// queries) read, and the metrics Vane registers, the embedded Prometheus's
// included.
func knownSeries(t *testing.T, slos []*slo.SLO) map[string]bool {
	t.Helper()
	reg := &descCollector{names: map[string]bool{}}
	rollout.NewMetrics(reg)
	xds.NewMetrics(reg)
	prom.NewMetrics(reg)
	autoscale.NewMetrics(reg)
	if _, err := api.New(api.Options{Rollouts: noRollouts{}, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	e, err := prom.NewEmbedded(prom.EmbeddedConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	known := reg.names
	p := parser.NewParser(parser.Options{})
	for _, g := range slo.Rules(slos, slo.GenerateOptions{}).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = true
			} else {
				known["ALERTS"], known["ALERTS_FOR_STATE"] = true, true
			}
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("generated rule %s%s: %v", r.Record, r.Alert, err)
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
					known[vs.Name] = true
				}
				return nil
			})
		}
	}
	return known
}

// grafanaVars stand in for Grafana's variables so queries parse.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$service", "svc", "$slo", "slo")

// checkQuery fails for a query that does not parse or reads a series
// name no known source produces.
func checkQuery(t *testing.T, where, q string, known map[string]bool) {
	t.Helper()
	if err := unknownSeries(q, known); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

func unknownSeries(q string, known map[string]bool) error {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(q))
	if err != nil {
		return fmt.Errorf("%q does not parse: %w", q, err)
	}
	var errs []error
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != model.MetricNameLabel {
				continue
			}
			found := false
			for k := range known {
				if m.Matches(k) {
					found = true
					break
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("%q reads %s, which neither the generated rules, the SLI queries nor Vane's metrics produce", q, m))
			}
		}
		return nil
	})
	return errors.Join(errs...)
}

// labelValues matches a template variable's query: label_values(selector, label).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// TestEveryQueryReadsKnownSeries checks every dashboard query, template
// variable and runbook query with Prometheus's PromQL parser against the
// series Vane's rules, SLIs and metrics produce.
func TestEveryQueryReadsKnownSeries(t *testing.T) {
	slos := loadExamples(t)
	known := knownSeries(t, slos)
	files, err := Generate(slos, Options{})
	if err != nil {
		t.Fatal(err)
	}
	promqlBlock := regexp.MustCompile("(?s)```promql\n(.*?)\n```")
	var n int
	for _, f := range files {
		if strings.HasSuffix(f.Name, ".md") {
			for _, m := range promqlBlock.FindAllStringSubmatch(string(f.Data), -1) {
				checkQuery(t, f.Name, m[1], known)
				n++
			}
			continue
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
			Templating struct {
				List []struct {
					Name  string `json:"name"`
					Type  string `json:"type"`
					Query any    `json:"query"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				checkQuery(t, f.Name+": "+p.Title, tg.Expr, known)
				n++
			}
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, _ := v.Query.(string)
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("%s: variable %s: query %q is not label_values(selector, label)", f.Name, v.Name, q)
				continue
			}
			checkQuery(t, f.Name+": variable "+v.Name, m[1], known)
			n++
		}
	}
	if n < 40 {
		t.Fatalf("only %d queries checked", n)
	}
	// The check itself catches what nobody produces, or a typo.
	for _, bad := range []string{`rate(vane_rollout_weight[5m])`, `{__name__=~"slo:nope.+"}`, `slo:sli_error:ratio_rate1h{slo="x"`} {
		if unknownSeries(bad, known) == nil {
			t.Errorf("%s passed the check", bad)
		}
	}
	t.Logf("%d queries checked against %d known series names", n, len(known))
}

// noRollouts is an empty rollout controller, enough to build the API
// server and see its metrics.
type noRollouts struct{ api.Rollouts }
