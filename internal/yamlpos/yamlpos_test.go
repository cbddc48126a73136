package yamlpos

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestClosest(t *testing.T) {
	allowed := []string{"alerting", "description", "labels", "name", "objective", "sli", "window"}
	for name, want := range map[string]string{"windw": "window", "objectiv": "objective", "nmae": "name", "zzz": "", "alertingz": "alerting", "SLI": "sli"} {
		if got := Closest(name, allowed); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestErrorFormats(t *testing.T) {
	for want, e := range map[string]*Error{
		"f.yaml:3:5: a.b: bad":  {File: "f.yaml", Line: 3, Column: 5, Field: "a.b", Msg: "bad"},
		"f.yaml:3: bad":         {File: "f.yaml", Line: 3, Msg: "bad"},
		"VANE_X: a.b: bad":      {File: "VANE_X", Field: "a.b", Msg: "bad"},
		"line 2:4: weight: bad": {Line: 2, Column: 4, Field: "weight", Msg: "bad"},
		"weight: bad":           {Field: "weight", Msg: "bad"},
	} {
		if got := e.Error(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestSyntaxErrorsAreAtTheirLine(t *testing.T) {
	_, err := Parse("f.yaml", []byte("a:\n  - [\n"))
	var e *Error
	if !errors.As(err, &e) || e.File != "f.yaml" || e.Line != 2 || strings.Contains(e.Msg, "line") || strings.HasPrefix(e.Msg, "yaml:") {
		t.Fatalf("got %#v", err)
	}
}

type step struct{ Weight int }

// UnmarshalYAML reports its problems relative to its node, as models do.
func (s *step) UnmarshalYAML(n *yaml.Node) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Value != "weight" {
			return At(k, k.Value, "%s", UnknownFieldMsg(k.Value, []string{"weight"}))
		}
	}
	type plain step
	return n.Decode((*plain)(s))
}

type section struct {
	Listen string            `yaml:"listen"`
	Limit  *int              `yaml:"limit"`
	Labels map[string]string `yaml:"labels"`
}

type doc struct {
	HTTP   section `yaml:"http"`
	Steps  []step  `yaml:"steps"`
	Inline struct {
		Extra bool `yaml:"extra"`
	} `yaml:",inline"`
}

func TestDecodePlacesEveryProblem(t *testing.T) {
	in := "base: &b {listen: x}\nhttp:\n  <<: *b\n  limit: many\n  lsten: y\n  labels: [a]\nsteps:\n  - {weight: 1}\n  - {wait: 2}\nextra: maybe\nextra: true\n"
	d, err := Parse("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var out doc
	err = d.Decode(&out)
	for _, want := range []string{
		`f.yaml:1:1: base: unknown field (allowed: extra, http, steps)`,
		`f.yaml:4:10: http.limit: must be an integer, got the str "many"`,
		`f.yaml:5:3: http.lsten: unknown field (allowed: labels, limit, listen); did you mean "listen"?`,
		`f.yaml:6:11: http.labels: must be a mapping, got a list`,
		`f.yaml:9:6: steps[1].wait: unknown field (allowed: weight)`,
		`f.yaml:10:8: extra: must be true or false, got the str "maybe"`,
		`f.yaml:11:1: extra: duplicate field`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "<<") {
		t.Errorf("the merge key is reported: %v", err)
	}
	if out.HTTP.Listen != "" || out.Steps != nil {
		t.Errorf("out changed despite errors: %+v", out)
	}
	d, _ = Parse("f.yaml", []byte("base: &b {listen: x}\nhttp: {<<: *b, limit: 3}\n"))
	var ok struct {
		Base section `yaml:"base"`
		HTTP section `yaml:"http"`
	}
	if err := d.Decode(&ok); err != nil || ok.HTTP.Listen != "x" || *ok.HTTP.Limit != 3 {
		t.Errorf("a merge: %+v %v", ok, err)
	}
}

func TestSetOverridesAndNamesTheOrigin(t *testing.T) {
	d, err := Parse("f.yaml", []byte("http: {listen: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for path, val := range map[string]string{"http.listen": "b", "http.limit": "x", "steps": "1"} {
		if err := d.Set(path, val, "VANE_"+strings.ToUpper(strings.ReplaceAll(path, ".", "_"))); err != nil {
			t.Fatal(err)
		}
	}
	var out doc
	err = d.Decode(&out)
	for _, want := range []string{`VANE_HTTP_LIMIT: http.limit: must be an integer, got the str "x"`, "VANE_STEPS: steps: must be a list"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %s", err, want)
		}
	}
	if e := d.Errorf("http.listen", "bad"); e.Error() != "VANE_HTTP_LISTEN: http.listen: bad" {
		t.Errorf("Errorf on a set value: %s", e)
	}
	d, _ = Parse("f.yaml", nil)
	if err := d.Set("http.listen", "c", "--http-listen"); err != nil {
		t.Fatal(err)
	}
	if e := d.Errorf("http", "bad"); e.Error() != "--http-listen: http: bad" {
		t.Errorf("Errorf on a section made by Set: %s", e)
	}
	if err := d.Decode(&out); err != nil || out.HTTP.Listen != "c" {
		t.Errorf("Set on an empty document: %+v %v", out, err)
	}
}

func TestPlacePutsModelMessagesAtTheirField(t *testing.T) {
	d, _ := Parse("f.yaml", []byte("svc:\n  rollout:\n    steps:\n      - weight: 1\n      - weight: 2\n"))
	errs := d.Place("svc.rollout", errors.Join(errors.New("steps[1].weight: too much"), errors.New("endpoint \"x\": no port"),
		At(&yaml.Node{Line: 4, Column: 9}, "steps[0]", "relative")))
	want := []string{
		"f.yaml:5:9: svc.rollout.steps[1].weight: too much",
		`f.yaml:2:3: svc.rollout: endpoint "x": no port`,
		"f.yaml:4:9: svc.rollout.steps[0]: relative",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %v", errs)
	}
	for i, e := range errs {
		if e.Error() != want[i] {
			t.Errorf("got %q, want %q", e, want[i])
		}
	}
}
