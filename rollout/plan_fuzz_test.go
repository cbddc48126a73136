package rollout

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzPlanYAML checks that no plan text makes decoding, validation or
// defaults panic, and that a valid plan keeps validating after defaults.
func FuzzPlanYAML(f *testing.F) {
	for _, s := range []string{
		"steps: [{weight: 5}, {analysis: {duration: 1m}}, promote]",
		"strategy: blue-green\n",
		"steps:\n  - pause: {}\n  - weight: 101\n",
		"steps:\n  - headers: {x-a: b}\n  - analysis: {duration: 1d}\n",
		"min_traffic: {requests: 5, query: 'sum({{.service}})'}",
		"steps: [promote: {}]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var p Plan
		dec := yaml.NewDecoder(strings.NewReader(in))
		dec.KnownFields(true)
		if err := dec.Decode(&p); err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			return
		}
		d := p.WithDefaults()
		if err := d.Validate(); err != nil {
			t.Fatalf("valid plan %q invalid after defaults: %v", in, err)
		}
		if len(d.Steps) == 0 || !d.Steps[len(d.Steps)-1].Promote {
			t.Fatalf("plan %q: defaults do not end with promote", in)
		}
	})
}
