package analysis

import (
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// TemplateVars are the names a query template may use: {{.service}},
// {{.version}}, {{.window}} and {{.interval}}. Any other name is an error
// when the template is loaded.
var TemplateVars = []string{"service", "version", "window", "interval"}

// Vars are the values substituted into query templates.
type Vars struct {
	// Service is the service under analysis ({{.service}}).
	Service string
	// Version is the version a query is about ({{.version}}). Checks that
	// compare two versions render their templates once with the canary's
	// version and once with Stable.
	Version string
	// Stable is the stable (baseline) version for comparing checks.
	Stable string
	// Window is the range a query aggregates over ({{.window}}); zero means
	// the spec's own window.
	Window time.Duration
	// Interval is the time between looks ({{.interval}}); zero means the
	// spec's own interval.
	Interval time.Duration
}

func (v Vars) data() map[string]string {
	return map[string]string{
		"service":  v.Service,
		"version":  v.Version,
		"window":   model.Duration(v.Window).String(),
		"interval": model.Duration(v.Interval).String(),
	}
}

// QueryTemplate is a parsed PromQL query template.
type QueryTemplate struct {
	src string
	t   *template.Template
}

// ParseQueryTemplate parses src as a Go text/template over TemplateVars and
// checks that it renders to valid PromQL with sample values. Unknown
// variables and PromQL syntax errors are errors.
func ParseQueryTemplate(src string) (*QueryTemplate, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty query")
	}
	t, err := template.New("query").Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	for _, name := range fieldNames(t.Tree.Root) {
		if !isTemplateVar(name) {
			return nil, fmt.Errorf("unknown variable {{.%s}} (known: %s)", name, strings.Join(TemplateVars, ", "))
		}
	}
	qt := &QueryTemplate{src: src, t: t}
	sample := Vars{Service: "svc", Version: "v1", Window: time.Minute, Interval: time.Minute}
	q, err := qt.Render(sample)
	if err != nil {
		return nil, err
	}
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(q); err != nil {
		return nil, fmt.Errorf("PromQL after substitution %q: %w", q, err)
	}
	return qt, nil
}

// MustParseQueryTemplate is ParseQueryTemplate for templates known at
// compile time; it panics on error.
func MustParseQueryTemplate(src string) *QueryTemplate {
	qt, err := ParseQueryTemplate(src)
	if err != nil {
		panic(err)
	}
	return qt
}

// String returns the template's source.
func (q *QueryTemplate) String() string { return q.src }

// Render substitutes v into the template.
func (q *QueryTemplate) Render(v Vars) (string, error) {
	var b strings.Builder
	if err := q.t.Execute(&b, v.data()); err != nil {
		return "", fmt.Errorf("render query %q: %w", q.src, err)
	}
	return b.String(), nil
}

func isTemplateVar(name string) bool {
	for _, v := range TemplateVars {
		if v == name {
			return true
		}
	}
	return false
}

// fieldNames lists the first identifier of every {{.x}} field in the tree.
func fieldNames(n parse.Node) []string {
	var out []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case nil:
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			if len(n.Ident) > 0 {
				out = append(out, n.Ident[0])
			}
		case *parse.ChainNode:
			walk(n.Node)
			out = append(out, n.Field...)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	walk(n)
	return out
}
