package analysis

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

func TestSpecValidate(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	tests := map[string]struct {
		spec  Spec
		field string // "" means valid
	}{
		"A sequential spec with only the metric name is valid.": {
			spec: Spec{Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "http_requests_total"}}},
		},
		"A spec without a judge names the kind field.": {
			spec: Spec{}, field: "kind",
		},
		"A sequential spec without metric names requests_metric.": {
			spec: Spec{Judge: &SequentialSpec{}}, field: "requests_metric",
		},
		"Alpha out of range names alpha.": {
			spec: Spec{Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "r"}, Alpha: 0.7}}, field: "alpha",
		},
		"A tolerance at or below one names tolerance.": {
			spec: Spec{Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "r"}, Tolerance: 0.9}}, field: "tolerance",
		},
		"Latency without a threshold names latency_threshold.": {
			spec: Spec{Judge: &SequentialSpec{Counters: Counters{SLI: SLILatency, LatencyMetric: "h"}}}, field: "latency_threshold",
		},
		"A threshold spec needs a query.": {
			spec: Spec{Judge: &ThresholdSpec{Min: f(99)}}, field: "query",
		},
		"A threshold spec needs a bound.": {
			spec: Spec{Judge: &ThresholdSpec{Query: "up"}}, field: "min",
		},
		"A threshold spec with min above max names max.": {
			spec: Spec{Judge: &ThresholdSpec{Query: "up", Min: f(2), Max: f(1)}}, field: "max",
		},
		"An unknown template variable names the query.": {
			spec: Spec{Judge: &ThresholdSpec{Query: `up{job="{{.namespace}}"}`, Min: f(1)}}, field: "query",
		},
		"PromQL syntax errors after substitution name the query.": {
			spec: Spec{Judge: &ThresholdSpec{Query: `sum(rate(x[{{.window}}])`, Min: f(1)}}, field: "query",
		},
		"A valid threshold spec with all variables passes.": {
			spec: Spec{Judge: &ThresholdSpec{Min: f(99), Query: `sum(rate(x{service="{{.service}}",version="{{.version}}"}[{{.window}}])) / {{.interval | printf "%q" | len}}`}},
		},
		"A burn-rate spec needs an objective.": {
			spec: Spec{Judge: &BurnRateSpec{Counters: Counters{RequestsMetric: "r"}}}, field: "objective",
		},
		"Burn-rate windows must be ordered.": {
			spec: Spec{Judge: &BurnRateSpec{Counters: Counters{RequestsMetric: "r"}, Objective: 0.999, ShortWindow: model.Duration(2 * time.Hour)}}, field: "short_window",
		},
		"Mann-Whitney needs a query.": {
			spec: Spec{Judge: &MannWhitneySpec{}}, field: "query",
		},
		"Latency buckets are only for the sequential judge.": {
			spec: Spec{Judge: &BurnRateSpec{Counters: Counters{RequestsMetric: "r", SLI: SLILatencyBuckets}, Objective: 0.999}}, field: "sli",
		},
		"A negative interval names interval.": {
			spec: Spec{Judge: &MannWhitneySpec{CommonSpec: CommonSpec{Interval: model.Duration(-time.Second)}, Query: "up"}}, field: "interval",
		},
		"A lifetime shorter than three intervals names lifetime.": {
			spec: Spec{Judge: &MannWhitneySpec{Query: "up", Lifetime: model.Duration(2 * time.Minute)}}, field: "lifetime",
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
	seq, ok := s.Judge.(*SequentialSpec)
	if !ok || time.Duration(seq.Interval) != 30*time.Second || seq.Alpha != 0.05 || seq.RequestsMetric != "http_requests_total" {
		t.Fatalf("unexpected %T %+v", s.Judge, s.Judge)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	d := s.WithDefaults().Judge.(*SequentialSpec)
	if d.MinBad != DefaultMinBad || d.Tolerance != DefaultTolerance || d.Name != "errors" || d.BadCodes != HTTPBadCodes {
		t.Fatalf("defaults not applied: %+v", d)
	}
	if seq.MinBad != 0 {
		t.Fatal("WithDefaults changed the spec it was called on")
	}
	var j Spec
	if err := json.Unmarshal([]byte(`{"kind":"burn-rate","requests_metric":"r","objective":0.999,"long_window":"1d"}`), &j); err != nil {
		t.Fatal(err)
	}
	if br, ok := j.Judge.(*BurnRateSpec); !ok || time.Duration(br.LongWindow) != 24*time.Hour {
		t.Fatalf("unexpected %T %+v", j.Judge, j.Judge)
	}
}

// TestSpecYAMLIsTheKindsOwn checks that a judge reads only its own kind's
// fields, and that a missing or unknown kind, a field of another kind and
// a bad duration name their line.
func TestSpecYAMLIsTheKindsOwn(t *testing.T) {
	tests := map[string]struct {
		src  string
		want string
	}{
		"A field of another kind is unknown, with the kind's own fields.": {
			"kind: sequential\nrequests_metric: r\nquery: up\n",
			`line 3: query: unknown field (allowed: alpha, bad_codes, bad_query, bucket_query, code_label, interval, kind, latency_metric, latency_threshold, max_sample_age, min_bad, min_requests, name, requests_metric, service_label, sli, timeout, tolerance, total_query, version_label, window)`,
		},
		"A misspelled field gets the closest one.": {
			"kind: threshold\nquery: up\nmni: 1\n",
			`line 3: mni: unknown field (allowed: failure_limit, interval, kind, max, max_sample_age, min, name, query, timeout, window); did you mean "min"?`,
		},
		"A missing kind names the kinds.": {
			"requests_metric: r\n",
			"line 1: kind: is required: one of sequential, threshold, burn-rate, mann-whitney",
		},
		"An unknown kind gets the closest one.": {
			"kind: treshold\nquery: up\n",
			`line 1: kind: "treshold" is not one of sequential, threshold, burn-rate, mann-whitney; did you mean "threshold"?`,
		},
		"A Go duration is refused with its Prometheus form.": {
			"kind: threshold\nquery: up\nmax: 1\ninterval: 1.5s\n",
			`line 4: interval: "1.5s" is not a Prometheus duration: write 1500ms`,
		},
		"A judge is a mapping.": {
			"[sequential]\n",
			"line 1: a judge is a mapping with a kind field",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var s Spec
			err := yaml.Unmarshal([]byte(tc.src), &s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestSpecRoundTrip checks that each kind writes its kind first and reads
// back what it wrote, in YAML and JSON.
func TestSpecRoundTrip(t *testing.T) {
	one := 1.0
	for _, s := range []Spec{
		{Judge: &SequentialSpec{CommonSpec: CommonSpec{Name: "errors", Interval: model.Duration(30 * time.Second)}, Counters: Counters{RequestsMetric: "r"}, Alpha: 0.05}},
		{Judge: &ThresholdSpec{Query: "up", Min: &one, FailureLimit: 2}},
		{Judge: &BurnRateSpec{Counters: Counters{RequestsMetric: "r"}, Objective: 0.999, LongWindow: model.Duration(24 * time.Hour)}},
		{Judge: &MannWhitneySpec{Query: "up", Direction: Either}},
	} {
		y, err := yaml.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := "kind: " + string(s.Kind()) + "\n"; !strings.HasPrefix(string(y), want) {
			t.Errorf("YAML %q does not start with %q", y, want)
		}
		var fromYAML Spec
		if err := yaml.Unmarshal(y, &fromYAML); err != nil {
			t.Fatalf("%s: %v", y, err)
		}
		j, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"kind":"` + string(s.Kind()) + `"`; !strings.HasPrefix(string(j), want) {
			t.Errorf("JSON %s does not start with %s", j, want)
		}
		var fromJSON Spec
		if err := json.Unmarshal(j, &fromJSON); err != nil {
			t.Fatalf("%s: %v", j, err)
		}
		for _, got := range []Spec{fromYAML, fromJSON} {
			if !reflect.DeepEqual(got, s) {
				t.Errorf("read back %+v, want %+v", got.Judge, s.Judge)
			}
		}
	}
	if b, err := json.Marshal(Spec{}); err != nil || string(b) != "null" {
		t.Errorf("a spec without a judge: %s, %v", b, err)
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
