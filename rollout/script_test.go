package rollout

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/traffic"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt scenarios")

// A scenario file is a list of directives, each a command line, optional
// input lines, a "----" line and the expected output ending at a blank
// line, in the style of cockroachdb/datadriven (our own tiny runner).
type directive struct {
	cmd      string
	args     []string
	input    []string
	expected []string
	comments []string
	line     int
}

func parseScript(t *testing.T, path string) []directive {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ds []directive
	sc := bufio.NewScanner(f)
	n := 0
	var cur *directive
	var comments []string
	inOut := false
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case cur == nil:
			if strings.HasPrefix(l, "#") {
				comments = append(comments, l)
			}
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
				continue
			}
			f := strings.Fields(l)
			cur = &directive{cmd: f[0], args: f[1:], line: n, comments: comments}
			comments = nil
		case !inOut && l == "----":
			inOut = true
		case !inOut:
			cur.input = append(cur.input, l)
		case strings.TrimSpace(l) == "":
			ds = append(ds, *cur)
			cur, inOut = nil, false
		default:
			cur.expected = append(cur.expected, l)
		}
	}
	if cur != nil {
		if !inOut {
			t.Fatalf("%s:%d: directive %q without ----", path, cur.line, cur.cmd)
		}
		ds = append(ds, *cur)
	}
	return ds
}

func writeScript(path string, ds []directive, outs [][]string) error {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, l := range d.comments {
			b.WriteString(l + "\n")
		}
		b.WriteString(strings.Join(append([]string{d.cmd}, d.args...), " ") + "\n")
		for _, l := range d.input {
			b.WriteString(l + "\n")
		}
		b.WriteString("----\n")
		for _, l := range outs[i] {
			b.WriteString(l + "\n")
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// env drives Step on a fake clock.
type env struct {
	t0, now time.Time
	plan    Plan
	st      State
	started bool
	apply   *Action // the ActApply waiting for an ack
	hook    HookName
	budget  float64
	traffic float64
}

func newEnv() *env {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &env{t0: t0, now: t0, budget: math.NaN(), traffic: math.NaN()}
}

func (e *env) service() traffic.Service {
	return traffic.Service{Name: "checkout",
		Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:8080"}},
		Canary: traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.2:8080"}}}
}

func kv(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		m[k] = v
	}
	return m
}

func (e *env) run(d directive) ([]string, error) {
	args := kv(d.args)
	obs := Tick()
	obs.BudgetRemaining, obs.CanaryRequests = e.budget, e.traffic
	switch d.cmd {
	case "plan":
		var p Plan
		dec := yaml.NewDecoder(strings.NewReader(strings.Join(d.input, "\n")))
		dec.KnownFields(true)
		if err := dec.Decode(&p); err != nil && len(d.input) > 0 {
			return []string{"error: " + err.Error()}, nil
		}
		if err := p.Validate(); err != nil {
			return strings.Split("error: "+err.Error(), "\n"), nil
		}
		e.plan = p.WithDefaults()
		var out []string
		for i, s := range e.plan.Steps {
			out = append(out, fmt.Sprintf("%d: %s", i, s))
		}
		return out, nil
	case "start":
		_, force := args["force"]
		e.st = NewState(e.service(), e.plan, force, e.now)
		e.started = true
		return e.step(obs), nil
	case "set":
		if v, ok := args["budget"]; ok {
			e.budget = mustFloat(v)
		}
		if v, ok := args["traffic"]; ok {
			e.traffic = mustFloat(v)
		}
		return []string{"ok"}, nil
	case "tick":
		if v, ok := args["advance"]; ok {
			dd, err := time.ParseDuration(v)
			if err != nil {
				return nil, err
			}
			e.now = e.now.Add(dd)
		}
		_, obs.Resumed = args["resumed"]
		if e.st.Analyzing() {
			obs.Results = []analysis.Result{}
			if v := args["verdicts"]; v != "" {
				for _, jv := range strings.Split(v, ",") {
					j, vs, _ := strings.Cut(jv, ":")
					ver, err := analysis.ParseVerdict(vs)
					if err != nil {
						return nil, err
					}
					obs.Results = append(obs.Results, analysis.Result{Judge: j, Verdict: ver, Reason: "scripted " + vs, At: e.now})
				}
			}
		}
		return e.step(obs), nil
	case "ack":
		if e.apply == nil {
			return []string{"nothing to ack"}, nil
		}
		obs.Ack = &Ack{Routing: e.apply.Routing, Service: e.apply.Service, Err: args["err"]}
		return e.step(obs), nil
	case "hook":
		obs.Hook = &HookResult{Name: e.hook, Err: args["err"]}
		return e.step(obs), nil
	case "cmd":
		c, err := ParseCommand(d.args[0])
		if err != nil {
			return []string{"error: " + err.Error()}, nil
		}
		if err := e.st.CheckCommand(c); err != nil {
			return []string{"refused: " + err.Error()}, nil
		}
		obs.Command = c
		return e.step(obs), nil
	}
	return nil, fmt.Errorf("unknown directive %q", d.cmd)
}

func mustFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}

func (e *env) step(obs Observation) []string {
	if !e.st.NeedsBudget() {
		obs.BudgetRemaining = math.NaN() // as the controller: read only when needed
	}
	st, acts := Step(e.st, obs, e.now)
	e.st = st
	out := []string{fmt.Sprintf("t=+%s", e.now.Sub(e.t0))}
	for _, a := range acts {
		switch a.Kind {
		case ActApply:
			a := a
			e.apply = &a
			backend := func(b traffic.Backend) string {
				if len(b.Endpoints) == 0 {
					return "none"
				}
				return b.Version
			}
			out = append(out, fmt.Sprintf("apply %s [stable cluster: %s, canary cluster: %s]", a.Routing,
				backend(a.Service.Stable), backend(a.Service.Canary)))
		case ActResetAnalysis:
			out = append(out, fmt.Sprintf("reset-analysis from +%s", a.Start.Sub(e.t0)))
		case ActHook:
			e.hook = a.Hook
			out = append(out, fmt.Sprintf("hook %s", a.Hook))
		case ActEvent:
			out = append(out, fmt.Sprintf("event %s: %s", a.Event.Type, a.Event.Reason))
		}
	}
	return append(out, e.summary())
}

func (e *env) summary() string {
	s := e.st
	a := ""
	if !s.AnalysisStarted.IsZero() {
		a = fmt.Sprintf(" analysis_from=+%s", s.AnalysisStarted.Sub(e.t0))
		if s.Conclusive > 0 {
			a += fmt.Sprintf(" conclusive=%s", s.Conclusive)
		}
	}
	if s.ApplyError != "" {
		a += fmt.Sprintf(" apply_error=%q", s.ApplyError)
	}
	if len(s.Routing.CanaryHeaders) > 0 {
		a += fmt.Sprintf(" headers=%v", s.Routing.CanaryHeaders)
	}
	if s.Blocked != "" {
		a += fmt.Sprintf(" blocked=%s", s.Blocked)
	}
	return fmt.Sprintf("state: %s step=%d (%s) weight=%d applied=%t inconclusive=%d%s reason=%q",
		s.Phase, s.Step, s.CurrentStep(), s.Routing.Weights.Canary, s.Applied, s.Inconclusive, a, s.Reason)
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			ds := parseScript(t, f)
			e := newEnv()
			outs := make([][]string, len(ds))
			for i, d := range ds {
				out, err := e.run(d)
				if err != nil {
					t.Fatalf("%s:%d: %v", f, d.line, err)
				}
				outs[i] = out
				if !*rewrite && strings.Join(out, "\n") != strings.Join(d.expected, "\n") {
					t.Errorf("%s:%d: %s %s\ngot:\n%s\nwant:\n%s", f, d.line, d.cmd, strings.Join(d.args, " "),
						strings.Join(out, "\n"), strings.Join(d.expected, "\n"))
				}
			}
			if *rewrite {
				if err := writeScript(f, ds, outs); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
