package slo

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/internal/yamlpos"
)

// Error is one problem in a spec, at a place users can find: file, line,
// column and the field's path (e.g. "slos[0].sli.events.error_query"),
// formatted "file:line:col: field: message". It is the configuration's
// error type too, so every YAML problem in Vane reads the same.
type Error = yamlpos.Error

// walker reads YAML nodes of one file and collects positioned errors.
type walker struct {
	file string
	errs []error
	// warns are problems that do not stop loading (unknown keys in
	// lenient mode, OpenSLO alert policies Vane cannot map).
	warns []error
	// lenient makes unknown keys warnings instead of errors.
	lenient bool
}

// warnf records a warning at n.
func (w *walker) warnf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: w.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	w.warns = append(w.warns, e)
}

func (w *walker) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: w.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	w.errs = append(w.errs, e)
}

func (w *walker) source(n *yaml.Node) string {
	if n == nil {
		return w.file
	}
	return fmt.Sprintf("%s:%d", w.file, n.Line)
}

// object is a YAML mapping whose keys were checked against a known set.
type object struct {
	w      *walker
	node   *yaml.Node
	path   string
	fields map[string]*yaml.Node // value nodes by key
	keys   map[string]*yaml.Node // key nodes by key
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string { return yamlpos.Describe(n) }

// resolve follows aliases, so that anchors and merges of plain YAML work.
func resolve(n *yaml.Node) *yaml.Node { return yamlpos.Resolve(n) }

// object checks that n is a mapping with only the allowed keys (each at most
// once). It returns nil, after recording an error, when n is not a mapping,
// and nil without an error when n is absent (callers report missing fields).
func (w *walker) object(n *yaml.Node, path string, allowed ...string) *object {
	n = resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if n != nil && n.Tag == "!!null" {
			// An empty mapping written as "key:" reads as null: treat as {}.
			return &object{w: w, node: n, path: path, fields: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
		}
		w.errorf(n, path, "must be a mapping, got %s", kindName(n))
		return nil
	}
	o := &object{w: w, node: n, path: path, fields: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			w.errorf(k, path, "YAML merge keys (<<) are not supported")
			continue
		}
		if _, dup := o.fields[k.Value]; dup {
			w.errorf(k, join(path, k.Value), "duplicate field")
			continue
		}
		if !ok[k.Value] {
			if w.lenient {
				w.warnf(k, join(path, k.Value), "unknown field ignored (allowed: %s)", strings.Join(sortedCopy(allowed), ", "))
			} else {
				w.errorf(k, join(path, k.Value), "%s", yamlpos.UnknownFieldMsg(k.Value, allowed))
			}
			continue
		}
		o.fields[k.Value] = resolve(v)
		o.keys[k.Value] = k
	}
	return o
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func (o *object) has(key string) bool {
	if o == nil {
		return false
	}
	_, ok := o.fields[key]
	return ok
}

// get returns the value node of key, or nil.
func (o *object) get(key string) *yaml.Node {
	if o == nil {
		return nil
	}
	return o.fields[key]
}

// at returns the best node to blame for key: its value, or the mapping.
func (o *object) at(key string) *yaml.Node {
	if n := o.get(key); n != nil {
		return n
	}
	return o.node
}

// str reads a string field; required fields report their absence.
func (o *object) str(key string, required bool) string {
	if o == nil {
		return ""
	}
	n := o.get(key)
	if n == nil || n.Tag == "!!null" {
		if required {
			o.w.errorf(o.node, join(o.path, key), "required field is missing")
		}
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		o.w.errorf(n, join(o.path, key), "must be a string, got %s", kindName(n))
		return ""
	}
	if required && strings.TrimSpace(n.Value) == "" {
		o.w.errorf(n, join(o.path, key), "must not be empty")
	}
	return n.Value
}

// number reads a float field; ok is false when it is absent or invalid.
func (o *object) number(key string, required bool) (float64, bool) {
	if o == nil {
		return 0, false
	}
	n := o.get(key)
	if n == nil || n.Tag == "!!null" {
		if required {
			o.w.errorf(o.node, join(o.path, key), "required field is missing")
		}
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		o.w.errorf(n, join(o.path, key), "must be a number, got %s", kindName(n))
		return 0, false
	}
	x, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil {
		o.w.errorf(n, join(o.path, key), "must be a number: %v", err)
		return 0, false
	}
	return x, true
}

// boolean reads a bool field (false when absent).
func (o *object) boolean(key string) bool {
	if o == nil {
		return false
	}
	n := o.get(key)
	if n == nil || n.Tag == "!!null" {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		o.w.errorf(n, join(o.path, key), "must be true or false, got %s", kindName(n))
		return false
	}
	var b bool
	_ = n.Decode(&b)
	return b
}

// strMap reads a map of strings (labels, annotations).
func (o *object) strMap(key string) map[string]string {
	if o == nil {
		return nil
	}
	n := o.get(key)
	if n == nil || n.Tag == "!!null" {
		return nil
	}
	path := join(o.path, key)
	if n.Kind != yaml.MappingNode {
		o.w.errorf(n, path, "must be a mapping of strings, got %s", kindName(n))
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if _, dup := m[k.Value]; dup {
			o.w.errorf(k, join(path, k.Value), "duplicate key")
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			o.w.errorf(v, join(path, k.Value), "must be a string, got %s", kindName(v))
			continue
		}
		m[k.Value] = v.Value
	}
	return m
}

// list returns the items of a sequence field.
func (o *object) list(key string, required bool) []*yaml.Node {
	if o == nil {
		return nil
	}
	n := o.get(key)
	if n == nil || n.Tag == "!!null" {
		if required {
			o.w.errorf(o.node, join(o.path, key), "required field is missing")
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.w.errorf(n, join(o.path, key), "must be a list, got %s", kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}
