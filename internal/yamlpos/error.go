package yamlpos

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem at a place in a YAML file: file, line, column and
// the field's path.
type Error struct {
	// File is the file's name, or where a value came from when it is not
	// a file (an environment variable). Empty while a model reports a
	// problem relative to its own node; Doc fills it in.
	File string
	// Line and Column count from 1; 0 when unknown.
	Line, Column int
	// Field is the field's path, such as "slos[0].sli.events.error_query";
	// relative to the node a model decoded when File is empty.
	Field string
	Msg   string
}

// Error formats the problem as "file:line:col: field: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// At returns a problem at n (nil: no position), for models that decode
// their own node: field is relative to n's parent.
func At(n *yaml.Node, field, format string, a ...any) *Error {
	e := &Error{Field: field, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Syntax places an error of the YAML parser (yaml.Unmarshal, a Decoder's
// Decode) in file, at the line the parser names.
func Syntax(file string, err error) *Error {
	line, msg := cutLine(err.Error())
	return &Error{File: file, Line: line, Msg: msg}
}

// cutLine splits the YAML library's "yaml: line N: message" (or "line N:
// message", as its type errors and unmarshalers write) into N and message.
func cutLine(s string) (int, string) {
	s = strings.TrimPrefix(s, "yaml: ")
	if rest, ok := strings.CutPrefix(s, "line "); ok {
		num, msg, ok := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			return n, msg
		}
	}
	return 0, s
}

// UnknownFieldMsg is the message for a field name that is not one of
// allowed: the allowed fields and, when one is close (a typo), the closest.
func UnknownFieldMsg(name string, allowed []string) string {
	sorted := append([]string(nil), allowed...)
	sort.Strings(sorted)
	msg := fmt.Sprintf("unknown field (allowed: %s)", strings.Join(sorted, ", "))
	if c := Closest(name, allowed); c != "" {
		msg += fmt.Sprintf("; did you mean %q?", c)
	}
	return msg
}

// Closest returns the candidate nearest to name by edit distance, when it
// is near enough to be a typo of it (at most a third of its letters, and at
// least one, differ); "" otherwise.
func Closest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, len(name)/3) {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance of a and b, in
// bytes: insertions, deletions, substitutions and swaps of two neighbours
// ("xsd" for "xds") cost 1 each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Describe names what n is, for "must be X, got Y" messages: "a mapping",
// "a list", "null", `the str "abc"`.
func Describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		tag := n.ShortTag()
		if tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the %s %q", strings.TrimPrefix(tag, "!!"), n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// Resolve follows aliases.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}
