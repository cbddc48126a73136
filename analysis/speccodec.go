package analysis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/internal/yamlpos"
	"github.com/vaneproj/vane/slo"
)

var durationType = reflect.TypeFor[model.Duration]()

// KindField is the key of a judge's kind in YAML and JSON.
const KindField = "kind"

// DecodeTarget returns the empty judge the YAML mapping n decodes into,
// the one its kind field names, and the name of that field. A tool that
// checks a file's fields before decoding it (the vane.yaml loader) checks
// each judge against its own kind's fields with it. A missing or unknown
// kind is a *FieldError.
func (Spec) DecodeTarget(n *yaml.Node) (any, string, error) {
	j, err := judgeOf(n)
	return j, KindField, err
}

// judgeOf returns the empty judge of the kind the mapping n names.
func judgeOf(n *yaml.Node) (Judge, error) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, errors.New("a judge is a mapping with a kind field")
	}
	var kind string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == KindField {
			kind = n.Content[i+1].Value
		}
	}
	return NewJudge(Kind(kind))
}

// UnmarshalYAML reads the kind, then the mapping as that kind's spec. A
// field that is not the kind's own is an error naming its line, the
// allowed fields and the closest one.
func (s *Spec) UnmarshalYAML(n *yaml.Node) error {
	j, err := judgeOf(n)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	names, types := yamlFields(j)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		t, ok := types[k.Value]
		if !ok {
			return fmt.Errorf("line %d: %s: %s", k.Line, k.Value, yamlpos.UnknownFieldMsg(k.Value, names))
		}
		if t == durationType && v.Tag != "!!null" {
			// The decoder would drop the line of a bad duration.
			if _, err := slo.ParseDuration(v.Value); err != nil || v.Kind != yaml.ScalarNode {
				if err == nil {
					err = errors.New("a duration such as 30s or 5m is expected")
				}
				return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
			}
		}
	}
	// The kind key is no field of the kind's type: decode the rest.
	rest := *n
	rest.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != KindField {
			rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
		}
	}
	if err := rest.Decode(j); err != nil {
		return err
	}
	s.Judge = j
	return nil
}

// yamlFields returns the YAML names of the fields of j's kind, the kind
// field first, and the type of each.
func yamlFields(j Judge) ([]string, map[string]reflect.Type) {
	names := []string{KindField}
	types := map[string]reflect.Type{KindField: reflect.TypeFor[Kind]()}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case name == "-" || !f.IsExported():
			case strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct:
				walk(f.Type)
			default:
				if name == "" {
					name = strings.ToLower(f.Name)
				}
				names = append(names, name)
				types[name] = f.Type
			}
		}
	}
	walk(reflect.TypeOf(j).Elem())
	return names, types
}

// MarshalYAML writes the kind, then the kind's fields.
func (s Spec) MarshalYAML() (any, error) {
	if s.Judge == nil {
		return nil, nil
	}
	var n yaml.Node
	if err := n.Encode(s.Judge); err != nil {
		return nil, err
	}
	n.Content = append([]*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: KindField},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(s.Judge.Kind())},
	}, n.Content...)
	return &n, nil
}

// MarshalJSON writes the kind, then the kind's fields.
func (s Spec) MarshalJSON() ([]byte, error) {
	if s.Judge == nil {
		return []byte("null"), nil
	}
	b, err := json.Marshal(s.Judge)
	if err != nil {
		return nil, err
	}
	k, err := json.Marshal(s.Judge.Kind())
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString(`{"` + KindField + `":`)
	out.Write(k)
	if rest := bytes.TrimPrefix(b, []byte("{")); !bytes.Equal(rest, []byte("}")) {
		out.WriteByte(',')
		out.Write(rest)
	} else {
		out.WriteByte('}')
	}
	return out.Bytes(), nil
}

// UnmarshalJSON reads the kind, then the object as that kind's spec.
func (s *Spec) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*s = Spec{}
		return nil
	}
	var k struct {
		Kind Kind `json:"kind"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return err
	}
	j, err := NewJudge(k.Kind)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, j); err != nil {
		return err
	}
	s.Judge = j
	return nil
}
