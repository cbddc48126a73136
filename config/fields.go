package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/slo"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// kinded is a type that decodes a mapping into one of several types, the
// one a discriminating field names (analysis.Spec, by its kind).
type kinded interface {
	// DecodeTarget returns the value n decodes into and the name of the
	// discriminating field; a missing or unknown value of that field is
	// an error.
	DecodeTarget(n *yaml.Node) (any, string, error)
}

var kindedType = reflect.TypeFor[kinded]()

var durationType = reflect.TypeFor[model.Duration]()

// checkFields walks the YAML node n against the Go type t that it decodes
// into and reports every mapping key t has no field for, as slo reports
// spec errors (slo.Error: file:line:col, the field's path, the allowed
// fields and the closest one), instead of the decoder's "field x not found
// in type y", and every value of a duration field that is not a
// Prometheus duration (the decoder would drop its place). Types that
// decode themselves (yaml.Unmarshaler) check their own keys, except that a
// kinded type's mapping is checked against the fields of the type its
// discriminating field chooses.
func checkFields(file string, n *yaml.Node, t reflect.Type, path string) []error {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil {
		return nil
	}
	if t == durationType {
		if n.Tag == "!!null" {
			return nil
		}
		_, err := slo.ParseDuration(n.Value)
		if err == nil && n.Kind != yaml.ScalarNode {
			err = errors.New("a duration such as 30s or 5m is expected")
		}
		if err != nil {
			return []error{&slo.Error{File: file, Line: n.Line, Column: n.Column, Field: path, Msg: err.Error()}}
		}
		return nil
	}
	if t.Implements(kindedType) && n.Kind == yaml.MappingNode {
		return kindFields(file, n, t, path)
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports type mismatches
		}
		return structFields(file, n, t, path, "")
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkFields(file, n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value)...)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range n.Content {
			errs = append(errs, checkFields(file, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

// structFields checks the mapping n against the fields of the struct t;
// extra is one more allowed key (a kinded type's discriminating field).
func structFields(file string, n *yaml.Node, t reflect.Type, path, extra string) []error {
	fields := map[string]reflect.Type{}
	var names []string
	if extra != "" {
		names = append(names, extra)
	}
	yamlFields(t, fields, &names)
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		if k.Value == extra {
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			errs = append(errs, &slo.Error{File: file, Line: k.Line, Column: k.Column, Field: p, Msg: slo.UnknownFieldMsg(k.Value, names)})
			continue
		}
		errs = append(errs, checkFields(file, v, ft, p)...)
	}
	return errs
}

// kindFields checks the mapping n of the kinded type t against the fields
// of the type its discriminating field chooses; a missing or unknown
// discriminator is reported at that field.
func kindFields(file string, n *yaml.Node, t reflect.Type, path string) []error {
	target, field, err := reflect.Zero(t).Interface().(kinded).DecodeTarget(n)
	if err != nil {
		at := n
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == field {
				at = n.Content[i+1]
			}
		}
		// The error names the field, and so does the path.
		msg := strings.TrimPrefix(err.Error(), field+": ")
		return []error{&slo.Error{File: file, Line: at.Line, Column: at.Column, Field: join(path, field), Msg: msg}}
	}
	tt := reflect.TypeOf(target)
	for tt.Kind() == reflect.Pointer {
		tt = tt.Elem()
	}
	return structFields(file, n, tt, path, field)
}

// yamlFields collects the YAML names of t's fields (inline structs
// included) and their types.
func yamlFields(t reflect.Type, fields map[string]reflect.Type, names *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				yamlFields(ft, fields, names)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, dup := fields[name]; !dup {
			*names = append(*names, name)
		}
		fields[name] = f.Type
	}
}
