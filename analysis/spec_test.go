package analysis

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestSpecValidate(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	tests := map[string]struct {
		spec  Spec
		field string // "" means valid
	}{
		"A sequential spec with only the metric name is valid.": {
			spec: Spec{Kind: KindSequential, RequestsMetric: "http_requests_total"},
		},
		"A missing kind names the kind field.": {
			spec: Spec{RequestsMetric: "x"}, field: "kind",
		},
		"An unknown kind names the kind field.": {
			spec: Spec{Kind: "bayes"}, field: "kind",
		},
		"A sequential spec without metric names requests_metric.": {
			spec: Spec{Kind: KindSequential}, field: "requests_metric",
		},
		"Alpha out of range names alpha.": {
			spec: Spec{Kind: KindSequential, RequestsMetric: "r", Alpha: 0.7}, field: "alpha",
		},
		"A tolerance at or below one names tolerance.": {
			spec: Spec{Kind: KindSequential, RequestsMetric: "r", Tolerance: 0.9}, field: "tolerance",
		},
		"Latency without a threshold names latency_threshold.": {
			spec: Spec{Kind: KindSequential, SLI: SLILatency, LatencyMetric: "h"}, field: "latency_threshold",
		},
		"A threshold spec needs a query.": {
			spec: Spec{Kind: KindThreshold, Min: f(99)}, field: "query",
		},
		"A threshold spec needs a bound.": {
			spec: Spec{Kind: KindThreshold, Query: "up"}, field: "min",
		},
		"A threshold spec with min above max names max.": {
			spec: Spec{Kind: KindThreshold, Query: "up", Min: f(2), Max: f(1)}, field: "max",
		},
		"An unknown template variable names the query.": {
			spec: Spec{Kind: KindThreshold, Query: `up{job="{{.namespace}}"}`, Min: f(1)}, field: "query",
		},
		"PromQL syntax errors after substitution name the query.": {
			spec: Spec{Kind: KindThreshold, Query: `sum(rate(x[{{.window}}])`, Min: f(1)}, field: "query",
		},
		"A valid threshold spec with all variables passes.": {
			spec: Spec{Kind: KindThreshold, Min: f(99), Query: `sum(rate(x{service="{{.service}}",version="{{.version}}"}[{{.window}}])) / {{.interval | printf "%q" | len}}`},
		},
		"A burn-rate spec needs an objective.": {
			spec: Spec{Kind: KindBurnRate, RequestsMetric: "r"}, field: "objective",
		},
		"Burn-rate windows must be ordered.": {
			spec: Spec{Kind: KindBurnRate, RequestsMetric: "r", Objective: 0.999, ShortWindow: Duration(2 * time.Hour)}, field: "short_window",
		},
		"Mann-Whitney needs a query.": {
			spec: Spec{Kind: KindMannWhitney}, field: "query",
		},
		"Fields of another kind are rejected.": {
			spec: Spec{Kind: KindSequential, RequestsMetric: "r", Query: "up"}, field: "query",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error naming %q, got nil", tc.field)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *FieldError, got %T %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("error %q does not name field %q", err, tc.field)
			}
		})
	}
}

func TestSpecUnmarshal(t *testing.T) {
	src := `
name: errors
kind: sequential
requests_metric: http_requests_total
interval: 30s
alpha: 0.05
`
	var s Spec
	if err := yaml.Unmarshal([]byte(src), &s); err != nil {
		t.Fatal(err)
	}
	if s.Interval.D() != 30*time.Second || s.Alpha != 0.05 || s.Kind != KindSequential {
		t.Fatalf("unexpected %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	var j Spec
	if err := json.Unmarshal([]byte(`{"kind":"burn-rate","requests_metric":"r","objective":0.999,"long_window":"1d"}`), &j); err != nil {
		t.Fatal(err)
	}
	if j.LongWindow.D() != 24*time.Hour {
		t.Fatalf("long_window = %s", j.LongWindow)
	}
	if err := yaml.Unmarshal([]byte("interval: 5 minutes"), &s); err == nil {
		t.Fatal("want an error for a bad duration")
	}
	d := s.WithDefaults()
	if d.MinBad != DefaultMinBad || d.Tolerance != DefaultTolerance || d.Name != "errors" {
		t.Fatalf("defaults not applied: %+v", d)
	}
}

func TestQueryTemplateRender(t *testing.T) {
	qt, err := ParseQueryTemplate(`sum(rate(r{service="{{.service}}",version="{{.version}}"}[{{.window}}]))`)
	if err != nil {
		t.Fatal(err)
	}
	q, err := qt.Render(Vars{Service: "checkout", Version: "v2", Window: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if want := `sum(rate(r{service="checkout",version="v2"}[5m]))`; q != want {
		t.Fatalf("got %s want %s", q, want)
	}
	for _, bad := range []string{"", "{{.foo}}", "{{", "sum(", `{{template "x"}}`} {
		if _, err := ParseQueryTemplate(bad); err == nil {
			t.Errorf("ParseQueryTemplate(%q): want error", bad)
		}
	}
}

func FuzzParseQueryTemplate(f *testing.F) {
	f.Add(`sum(rate(r{service="{{.service}}"}[{{.window}}]))`)
	f.Add(`{{.version}}`)
	f.Add(`{{range .x}}{{end}}`)
	f.Fuzz(func(t *testing.T, src string) {
		qt, err := ParseQueryTemplate(src)
		if err != nil {
			return
		}
		if _, err := qt.Render(Vars{Service: "a", Version: "b"}); err != nil {
			t.Fatalf("parsed template %q does not render: %v", src, err)
		}
	})
}

func FuzzSpecYAML(f *testing.F) {
	f.Add("kind: sequential\nrequests_metric: http_requests_total\n")
	f.Add("kind: threshold\nquery: up\nmin: 1\nfailure_limit: 2\ninterval: 1m\n")
	f.Add("kind: mann-whitney\nquery: x\nlifetime: 1h\n")
	f.Fuzz(func(t *testing.T, src string) {
		var s Spec
		if err := yaml.Unmarshal([]byte(src), &s); err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			return
		}
		// A valid spec builds.
		if _, err := s.Build(Vars{Service: "a", Version: "b", Stable: "c"}); err != nil {
			t.Fatalf("valid spec %q does not build: %v", src, err)
		}
	})
}
