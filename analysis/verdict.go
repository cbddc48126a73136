package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Verdict is a judge's decision at one look.
type Verdict int

// The verdicts. The zero value is Continue.
const (
	// Continue means there is not enough evidence yet; look again later.
	Continue Verdict = iota
	// Pass means the canary is no worse than allowed.
	Pass
	// Fail means the canary is worse than allowed: roll back.
	Fail
	// Inconclusive means the inputs could not be read or trusted (no data,
	// NaN, a query error or timeout). It is never a pass.
	Inconclusive
)

var verdictNames = [...]string{"continue", "pass", "fail", "inconclusive"}

// String returns the verdict's lower-case name.
func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// ParseVerdict is the inverse of Verdict.String.
func ParseVerdict(s string) (Verdict, error) {
	for i, n := range verdictNames {
		if n == s {
			return Verdict(i), nil
		}
	}
	return 0, fmt.Errorf("analysis: unknown verdict %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Verdict) UnmarshalText(b []byte) error {
	p, err := ParseVerdict(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

var _ json.Marshaler = Result{}

// Result is one judge's verdict with its reason and evidence.
type Result struct {
	// Judge names the check that produced the result.
	Judge   string  `json:"judge"`
	Verdict Verdict `json:"verdict"`
	// Reason explains the verdict in one sentence a release engineer can act on.
	Reason string `json:"reason"`
	// Evidence holds the numbers behind the verdict (counts, estimate,
	// interval bounds, error probability spent…), by name.
	Evidence map[string]float64 `json:"evidence,omitempty"`
	// At is the evaluation time the verdict is for.
	At time.Time `json:"at"`
}

// MarshalJSON writes NaN and infinite evidence, which JSON lacks, as
// null: a number that is undefined (an estimate without data, a ratio to
// zero); the reason says why.
func (r Result) MarshalJSON() ([]byte, error) {
	ev := make(map[string]any, len(r.Evidence))
	for k, x := range r.Evidence {
		if x != x || x > 1e308 || x < -1e308 {
			ev[k] = nil
		} else {
			ev[k] = x
		}
	}
	type plain struct {
		Judge    string         `json:"judge"`
		Verdict  Verdict        `json:"verdict"`
		Reason   string         `json:"reason"`
		Evidence map[string]any `json:"evidence,omitempty"`
		At       time.Time      `json:"at"`
	}
	return json.Marshal(plain{r.Judge, r.Verdict, r.Reason, ev, r.At})
}

// Sample is one series' value in an instant query result.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Point is one value of a series at a time.
type Point struct {
	T time.Time
	V float64
}

// Series is one labelled series of a range query result.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Vector is an instant query's result.
type Vector struct {
	Samples []Sample
	// Warnings are the server's warnings for the query, passed on to the user.
	Warnings []string
}

// Matrix is a range query's result.
type Matrix struct {
	Series   []Series
	Warnings []string
}

// Querier reads SLIs from a Prometheus-compatible query API.
//
// Implementations are safe for concurrent use. A query that fails, times
// out or is cancelled returns an error that wraps the cause; an empty result
// is not an error (judges treat it as Inconclusive).
type Querier interface {
	// Query evaluates an instant query at time at.
	Query(ctx context.Context, query string, at time.Time) (Vector, error)
	// QueryRange evaluates a range query from start to end with step.
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (Matrix, error)
}

// Check is a configured judge bound to its queries: one look reads what it
// needs through q and returns its Result for time now. Query failures are
// reported as an Inconclusive Result, not as a Go error. A Check may keep
// state between looks (for example the counts at the start of a step);
// Reset clears it when an analysis starts over.
type Check interface {
	Name() string
	Evaluate(ctx context.Context, q Querier, now time.Time) Result
	Reset(start time.Time)
}

// LastLooker is a Check that can spend part of its error probability at
// the look that completes an analysis window of known length
// (SequentialConfig.FinalShare). The caller calls EvaluateLast instead of
// Evaluate at the look that would complete the window if conclusive; the
// check spends its reserved share there at most once per analysis, so a
// window that goes on (an inconclusive look does not count) keeps the
// check's total error probability.
type LastLooker interface {
	Check
	EvaluateLast(ctx context.Context, q Querier, now time.Time) Result
}

// UnmarshalJSON reads what MarshalJSON writes (null evidence is NaN), and
// the strings "NaN", "+Inf" and "-Inf" that earlier versions wrote.
func (r *Result) UnmarshalJSON(b []byte) error {
	var p struct {
		Judge    string                     `json:"judge"`
		Verdict  Verdict                    `json:"verdict"`
		Reason   string                     `json:"reason"`
		Evidence map[string]json.RawMessage `json:"evidence,omitempty"`
		At       time.Time                  `json:"at"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Result{Judge: p.Judge, Verdict: p.Verdict, Reason: p.Reason, At: p.At}
	if p.Evidence != nil {
		r.Evidence = make(map[string]float64, len(p.Evidence))
	}
	for k, raw := range p.Evidence {
		if string(raw) == "null" {
			r.Evidence[k] = math.NaN()
			continue
		}
		var x float64
		if err := json.Unmarshal(raw, &x); err == nil {
			r.Evidence[k] = x
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("analysis: result evidence %q: %w", k, err)
		}
		switch s {
		case "NaN":
			r.Evidence[k] = math.NaN()
		case "+Inf", "Inf":
			r.Evidence[k] = math.Inf(1)
		case "-Inf":
			r.Evidence[k] = math.Inf(-1)
		default:
			return fmt.Errorf("analysis: result evidence %q: %q is not a number", k, s)
		}
	}
	return nil
}
