package yamlpos

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Doc is one parsed YAML document and its file's name.
type Doc struct {
	File string
	// Root is the document's top node; nil for an empty document.
	Root *yaml.Node
	// Scalars checks, by Go type, the scalar values Decode puts into
	// fields of that type, before the type's own decoder (whose message may
	// be poorer, e.g. a duration). Optional.
	Scalars map[reflect.Type]func(value string) error
	// origin names where a node set by Set came from.
	origin map[*yaml.Node]string
}

// Parse parses data, the YAML document of file. A syntax error is an
// *Error at its line.
func Parse(file string, data []byte) (*Doc, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, Syntax(file, err)
	}
	d := &Doc{File: file}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		d.Root = n.Content[0]
	}
	return d, nil
}

// segment is one step of a field path: a mapping key, then list indexes.
type segment struct {
	key     string
	indexes []int
}

// parsePath splits "a.b[2].c" into its segments; ok is false when s is not
// a path of lower-case keys and indexes (model messages start with one).
func parsePath(s string) (segs []segment, ok bool) {
	if s == "" {
		return nil, false
	}
	for _, part := range strings.Split(s, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key == "" || strings.IndexFunc(key, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' }) >= 0 {
			return nil, false
		}
		seg := segment{key: key}
		for rest != "" {
			num, after, found := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !found || err != nil || i < 0 {
				return nil, false
			}
			seg.indexes = append(seg.indexes, i)
			if after == "" {
				break
			}
			if rest, found = strings.CutPrefix(after, "["); !found {
				return nil, false
			}
		}
		segs = append(segs, seg)
	}
	return segs, true
}

// find returns the node that best shows path: the deepest existing node
// along it (a mapping entry's key, a list's item).
func (d *Doc) find(path string) *yaml.Node {
	n := Resolve(d.Root)
	at := n
	segs, _ := parsePath(path)
	if segs == nil && path != "" {
		// A map key such as a label name: walk by dots only.
		for _, k := range strings.Split(path, ".") {
			segs = append(segs, segment{key: k})
		}
	}
	for _, s := range segs {
		if n == nil || n.Kind != yaml.MappingNode {
			return at
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s.key {
				at, next = n.Content[i], Resolve(n.Content[i+1])
			}
		}
		if next == nil {
			return at
		}
		n = next
		if _, set := d.origin[n]; set {
			at = n
		}
		for _, i := range s.indexes {
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return at
			}
			n = Resolve(n.Content[i])
			at = n
		}
	}
	return at
}

// place returns an Error at n about path.
func (d *Doc) place(n *yaml.Node, path, msg string) *Error {
	e := &Error{File: d.File, Field: path, Msg: msg}
	if o, ok := d.origin[n]; ok {
		e.File = o
		return e
	}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Errorf returns a problem of the field at path ("a.b[2].c"), placed at
// the deepest part of path the document has.
func (d *Doc) Errorf(path, format string, a ...any) *Error {
	return d.place(d.find(path), path, fmt.Sprintf(format, a...))
}

// Place places the problems of a model's validation (err, possibly
// joined) of the value at base: an *Error with a relative Field, or a
// message that starts with a path relative to base ("steps[3]: …"), goes
// to that field; any other message to base.
func (d *Doc) Place(base string, err error) []error {
	var out []error
	for _, e := range Unjoin(err) {
		var pe *Error
		if errors.As(e, &pe) && pe.File == "" {
			p := join(base, pe.Field)
			placed := d.Errorf(p, "%s", pe.Msg)
			if pe.Line > 0 && placed.Line > 0 {
				placed.Line, placed.Column = pe.Line, pe.Column
			}
			out = append(out, placed)
			continue
		}
		msg := e.Error()
		if rel, rest, ok := strings.Cut(msg, ": "); ok {
			if _, isPath := parsePath(rel); isPath {
				out = append(out, d.Errorf(join(base, rel), "%s", rest))
				continue
			}
		}
		out = append(out, d.Errorf(base, "%s", msg))
	}
	return out
}

// Unjoin flattens err, possibly made by errors.Join (nested), into its
// single errors; nil gives none.
func Unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

func join(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	case strings.HasPrefix(key, "["):
		return path + key
	}
	return path + "." + key
}

// Set sets the scalar at path (mapping keys only: "a.b.c") to value,
// creating the mappings on the way, as written by origin (such as the
// environment variable it came from): problems of that value name origin
// instead of a line.
func (d *Doc) Set(path, value, origin string) error {
	if d.origin == nil {
		d.origin = map[*yaml.Node]string{}
	}
	if d.Root == nil || d.Root.ShortTag() == "!!null" {
		d.Root = &yaml.Node{Kind: yaml.MappingNode}
	}
	n := Resolve(d.Root)
	keys := strings.Split(path, ".")
	for i, k := range keys {
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: %s: cannot set %s: %s is not a mapping", origin, path, path, strings.Join(keys[:i], "."))
		}
		last := i == len(keys)-1
		var slot **yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == k {
				slot = &n.Content[j+1]
			}
		}
		if slot == nil {
			key := &yaml.Node{Kind: yaml.ScalarNode, Value: k}
			d.origin[key] = origin
			n.Content = append(n.Content, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"})
			slot = &n.Content[len(n.Content)-1]
		}
		switch {
		case last:
			*slot = &yaml.Node{Kind: yaml.ScalarNode, Value: value}
			d.origin[*slot] = origin
		case Resolve(*slot).ShortTag() == "!!null":
			*slot = &yaml.Node{Kind: yaml.MappingNode}
			d.origin[*slot] = origin
		}
		n = Resolve(*slot)
	}
	return nil
}

// Decode decodes the document into out (a pointer) strictly: every key
// must be a field of the type it fills (its yaml tag), every value must fit
// its field, and types that decode themselves must accept their node. All
// problems are returned together, each an *Error at its key or value with
// its path; then out is unchanged. Fields absent from the document keep
// out's values (defaults set before).
func (d *Doc) Decode(out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("yamlpos: Decode needs a non-nil pointer, got %T", out)
	}
	if d.Root == nil {
		return nil
	}
	if errs := d.check(d.Root, rv.Type().Elem(), ""); len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := d.Root.Decode(out); err != nil {
		// check accepts what the decoder does; this is a safety net.
		return d.decodeError(d.Root, "", err)
	}
	return nil
}

var (
	unmarshaler         = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshaler = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
)

// check reports what keeps n from decoding into a value of type t.
func (d *Doc) check(n *yaml.Node, t reflect.Type, path string) []error {
	n = Resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
		return nil // null leaves a field at its zero or default value
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if f := d.Scalars[t]; f != nil {
		if n.Kind != yaml.ScalarNode {
			return []error{d.place(n, path, "must be "+want(t)+", got "+Describe(n))}
		}
		if err := f(n.Value); err != nil {
			return []error{d.place(n, path, err.Error())}
		}
		return nil
	}
	if k, ok := reflect.Zero(t).Interface().(Kinded); ok && n.Kind == yaml.MappingNode {
		return d.checkKinded(n, t, k, path)
	}
	switch {
	case Opaque(t):
		return d.decodeWith(n, t, path)
	case reflect.PointerTo(t).Implements(obsoleteUnmarshaler):
		// A section that decodes itself leniently (prometheus/common's
		// TLSConfig): check its keys as a plain struct first.
		if errs := d.checkStruct(n, t, path); len(errs) > 0 {
			return errs
		}
		return d.decodeWith(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.checkStruct(n, t, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return []error{d.place(n, path, "must be a mapping, got "+Describe(n))}
		}
		var errs []error
		for _, kv := range pairs(n) {
			errs = append(errs, d.check(kv[1], t.Elem(), join(path, kv[0].Value))...)
		}
		return errs
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return []error{d.place(n, path, "must be a list, got "+Describe(n))}
		}
		var errs []error
		for i, item := range n.Content {
			errs = append(errs, d.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	case reflect.Interface:
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return []error{d.place(n, path, "must be "+want(t)+", got "+Describe(n))}
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return []error{d.place(n, path, "must be "+want(t)+", got "+Describe(n))}
	}
	return nil
}

// Opaque reports whether values of t decode themselves and are not
// walked field by field: a yaml.Unmarshaler (which checks its own keys), or
// a type with an old-style UnmarshalYAML(func(any) error) that is no
// section of yaml-tagged fields (prometheus/common's URL, Secret).
func Opaque(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	if pt.Implements(unmarshaler) {
		return true
	}
	if !pt.Implements(obsoleteUnmarshaler) {
		return false
	}
	if t.Kind() != reflect.Struct {
		return true
	}
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("yaml") != "" {
			return false
		}
	}
	return true
}

// Kinded is a type that decodes a mapping into one of several types, the
// one a discriminating field names (a judge by its kind). Decode checks
// such a mapping against the fields of the chosen type, plus the
// discriminating field, then lets the type decode itself.
type Kinded interface {
	// DecodeTarget returns a value of the type the mapping n decodes into
	// and the name of the discriminating field; a missing or unknown
	// value of that field is an error.
	DecodeTarget(n *yaml.Node) (any, string, error)
}

// checkKinded checks the mapping n of the Kinded type t.
func (d *Doc) checkKinded(n *yaml.Node, t reflect.Type, k Kinded, path string) []error {
	target, field, err := k.DecodeTarget(n)
	if err != nil {
		at := n
		for _, kv := range pairs(n) {
			if kv[0].Value == field {
				at = kv[1]
			}
		}
		msg := strings.TrimPrefix(err.Error(), field+": ")
		return []error{d.place(at, join(path, field), msg)}
	}
	tt := reflect.TypeOf(target)
	for tt.Kind() == reflect.Pointer {
		tt = tt.Elem()
	}
	if errs := d.checkStruct(n, tt, path, field); len(errs) > 0 {
		return errs
	}
	return d.decodeWith(n, t, path)
}

// checkStruct checks a mapping's keys against t's fields (and extra, one
// more allowed key when not ""), then each value.
func (d *Doc) checkStruct(n *yaml.Node, t reflect.Type, path string, extra ...string) []error {
	if n.Kind != yaml.MappingNode {
		return []error{d.place(n, path, "must be a mapping, got "+Describe(n))}
	}
	fields := map[string]reflect.Type{}
	var names []string
	for _, x := range extra {
		names = append(names, x)
		fields[x] = reflect.TypeFor[string]()
	}
	Fields(t, fields, &names)
	rest := inlineMap(t)
	var errs []error
	seen := map[string]bool{}
	for _, kv := range pairs(n) {
		k, v := kv[0], kv[1]
		p := join(path, k.Value)
		ft, ok := fields[k.Value]
		if !ok && rest != nil {
			ft, ok = rest, true // a key of the inline map
		}
		switch {
		case !ok:
			errs = append(errs, d.place(k, p, UnknownFieldMsg(k.Value, names)))
		case seen[k.Value]:
			errs = append(errs, d.place(k, p, "duplicate field"))
		default:
			errs = append(errs, d.check(v, ft, p)...)
		}
		seen[k.Value] = true
	}
	return errs
}

// pairs returns a mapping's key and value nodes, with merged mappings
// (<<: *anchor) expanded before the keys written next to them.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			v = Resolve(v)
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				if m = Resolve(m); m.Kind == yaml.MappingNode {
					out = append(out, pairs(m)...)
				}
			}
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// decodeWith decodes n into a new value of type t and places its error.
func (d *Doc) decodeWith(n *yaml.Node, t reflect.Type, path string) []error {
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return Unjoin(d.decodeError(n, path, err))
	}
	return nil
}

// decodeError places an error of decoding n, the value at path: an
// *Error with a relative path (from a model's UnmarshalYAML), the
// decoder's type errors (each at its line), or any other error at n.
func (d *Doc) decodeError(n *yaml.Node, path string, err error) error {
	var pe *Error
	var te *yaml.TypeError
	switch {
	case errors.As(err, &pe) && pe.File == "":
		e := d.place(n, join(path, pe.Field), pe.Msg)
		if pe.Line > 0 && e.File == d.File {
			e.Line, e.Column = pe.Line, pe.Column
		}
		return e
	case errors.As(err, &te):
		var errs []error
		for _, m := range te.Errors {
			line, msg := cutLine(m)
			e := d.place(n, path, msg)
			if line > 0 && e.File == d.File && line != e.Line {
				e.Line, e.Column = line, 0
			}
			errs = append(errs, e)
		}
		return errors.Join(errs...)
	}
	_, msg := cutLine(err.Error())
	return d.place(n, path, msg)
}

// want describes the values of a scalar type for "must be …" messages.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// inlineMap returns the element type of t's inline map (`yaml:",inline"`
// on a map field, such as prometheus/common's Headers), which takes the
// keys that are not fields; nil when t has none.
func inlineMap(t reflect.Type) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !strings.Contains(","+opts+",", ",inline,") {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Map:
			return ft.Elem()
		case reflect.Struct:
			if m := inlineMap(ft); m != nil {
				return m
			}
		}
	}
	return nil
}

// Fields collects the YAML names of struct type t's fields (inline ones
// included, "-" excluded) and their types, names in declaration order.
func Fields(t reflect.Type, fields map[string]reflect.Type, names *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				Fields(ft, fields, names)
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
