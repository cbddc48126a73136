package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/slo"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// unknownFields walks the YAML node n against the Go type t that it decodes
// into and reports every mapping key t has no field for, as slo reports
// spec errors (slo.Error: file:line:col, the field's path, the allowed
// fields and the closest one), instead of the decoder's "field x not found
// in type y". Types that decode themselves (yaml.Unmarshaler) check their
// own keys.
func unknownFields(file string, n *yaml.Node, t reflect.Type, path string) []error {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports type mismatches
		}
		fields := map[string]reflect.Type{}
		var names []string
		yamlFields(t, fields, &names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				errs = append(errs, &slo.Error{File: file, Line: k.Line, Column: k.Column, Field: p, Msg: slo.UnknownFieldMsg(k.Value, names)})
				continue
			}
			errs = append(errs, unknownFields(file, v, ft, p)...)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, unknownFields(file, n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value)...)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range n.Content {
			errs = append(errs, unknownFields(file, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
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
