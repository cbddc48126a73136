package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// seriesQuerier answers the count queries Preflight asks over a fixed set
// of live series (a unit-test fake: the real Prometheus is in cmd/vane's
// TestRunRefusesAJudgeThatCannotFail).
type seriesQuerier struct {
	series []map[string]string
	err    error
	asked  []string
}

func (q *seriesQuerier) Query(ctx context.Context, query string, at time.Time) (Vector, error) {
	q.asked = append(q.asked, query)
	if q.err != nil {
		return Vector{}, q.err
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(query)
	if err != nil {
		return Vector{}, err
	}
	agg, ok := e.(*parser.AggregateExpr)
	if !ok || agg.Op != parser.COUNT {
		return Vector{}, fmt.Errorf("unexpected query %s", query)
	}
	vs := agg.Expr.(*parser.VectorSelector)
	groups := map[string]int{}
	for _, s := range q.series {
		ok := true
		for _, m := range vs.LabelMatchers {
			ok = ok && m.Matches(s[m.Name])
		}
		if !ok {
			continue
		}
		key := ""
		if len(agg.Grouping) == 1 {
			key = s[agg.Grouping[0]]
		}
		groups[key]++
	}
	var out Vector
	for k, n := range groups {
		l := map[string]string{}
		if len(agg.Grouping) == 1 && k != "" {
			l[agg.Grouping[0]] = k
		}
		out.Samples = append(out.Samples, Sample{Labels: l, Value: float64(n)})
	}
	return out, nil
}

func (q *seriesQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (Matrix, error) {
	return Matrix{}, errors.New("not used")
}

func reqs(version string, codes ...string) []map[string]string {
	var out []map[string]string
	for _, c := range codes {
		out = append(out, map[string]string{"__name__": "demo_requests_total", "service": "checkout", "version": version, "code": c})
	}
	return out
}

func TestPreflight(t *testing.T) {
	grpcOK := reqs("v1", "OK")
	grpcUpper := reqs("v1", "OK", "NOT_FOUND")
	httpOK := reqs("v1", "200", "404")
	seq := Spec{Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "demo_requests_total"}}}
	withCodes := func(s Spec, codes string) Spec {
		j := *s.Judge.(*SequentialSpec)
		j.BadCodes = codes
		return Spec{Judge: &j}
	}
	for name, tc := range map[string]struct {
		spec     Spec
		protocol string
		series   []map[string]string
		stable   string
		want     string // "" passes
	}{
		"HTTP codes with the default 5.. pass": {seq, "", httpOK, "v1", ""},
		"the default 5.. against gRPC names can never match": {seq, "", grpcOK, "v1",
			`code=~"5.." can never match: the stable version's code values are ["OK"] (gRPC code names)`},
		"protocol grpc's defaults match CamelCase names":   {seq, "grpc", grpcOK, "v1", ""},
		"protocol grpc's defaults match UPPER_SNAKE names": {seq, "grpc", grpcUpper, "v1", ""},
		"gRPC names against HTTP codes can never match":    {seq, "grpc", httpOK, "v1", `(HTTP status codes) and it matches none of their server errors, so the judge could never see a failure; use bad_codes: "5.."`},
		"a matcher of the success code is refused":         {withCodes(seq, "OK|Unavailable"), "", grpcOK, "v1", `matches "OK", which means success`},
		"CamelCase bad codes against UPPER_SNAKE names":    {withCodes(seq, "Unavailable|Internal"), "", grpcUpper, "v1", "can never match"},
		"numeric gRPC codes get the numeric suggestion":    {seq, "grpc", reqs("v1", "0", "5"), "v1", ""},
		"5.. against numeric gRPC codes":                   {seq, "", reqs("v1", "0"), "v1", `use bad_codes: "2|4|12|13|14|15"`},
		"a missing metric is named":                        {seq, "", nil, "v1", "Prometheus holds no live series of demo_requests_total"},
		"a version label value that differs is explained": {seq, "", reqs("checkout-7d9f6", "200"), "v1",
			`no series of demo_requests_total{service="checkout"} has version="v1": the values present are ["checkout-7d9f6"]; if the stable version's metrics carry another value, map it in rollout.analysis.version_label_values`},
		"the mapped label value passes": {seq, "", reqs("checkout-7d9f6", "200"), "checkout-7d9f6", ""},
		"a missing code label is named": {seq, "", []map[string]string{{"__name__": "demo_requests_total", "service": "checkout", "version": "v1", "grpc_code": "OK"}}, "v1",
			"has a code label; set code_label"},
		"a wrong service label is named": {seq, "", []map[string]string{{"__name__": "demo_requests_total", "service": "payments", "version": "v1", "code": "200"}}, "v1",
			`no series of demo_requests_total has service="checkout": the values present are ["payments"]; set service_label, or label the scrape job`},
		"a sloth-style custom bad query with a named code passes":  {Spec{Judge: &SequentialSpec{Counters: Counters{TotalQuery: `sum(demo_requests_total{service="{{.service}}",version="{{.version}}"})`, BadQuery: `sum(demo_requests_total{service="{{.service}}",version="{{.version}}",code="Unavailable"}) or vector(0)`}}}, "", grpcOK, "v1", ""},
		"a custom bad query with an HTTP code on gRPC names fails": {Spec{Judge: &SequentialSpec{Counters: Counters{TotalQuery: `sum(demo_requests_total{service="{{.service}}",version="{{.version}}"})`, BadQuery: `sum(demo_requests_total{service="{{.service}}",version="{{.version}}",code="503"}) or vector(0)`}}}, "", grpcOK, "v1", `code="503" can never match`},
		"a threshold error-ratio query is checked too":             {Spec{Judge: &ThresholdSpec{Max: new(float64), Query: `sum(rate(demo_requests_total{service="{{.service}}",version="{{.version}}",code=~"5.."}[1m])) / sum(rate(demo_requests_total{service="{{.service}}",version="{{.version}}"}[1m]))`}}, "", grpcOK, "v1", "can never match"},
	} {
		t.Run(name, func(t *testing.T) {
			q := &seriesQuerier{series: tc.series}
			err := Preflight(context.Background(), q, tc.spec.WithProtocol(tc.protocol), Vars{Service: "checkout", Stable: tc.stable}, time.Unix(1000, 0))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a PreflightError containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPreflightQueryErrorIsNotAFinding(t *testing.T) {
	q := &seriesQuerier{err: errors.New("connection refused")}
	err := Preflight(context.Background(), q, Spec{Judge: &SequentialSpec{Counters: Counters{RequestsMetric: "demo_requests_total"}}}, Vars{Service: "checkout", Stable: "v1"}, time.Unix(1000, 0))
	var pe *PreflightError
	if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v, want the query error", err)
	}
}

func TestGRPCBadCodesMatchTheServerErrorsInEverySpelling(t *testing.T) {
	m := mustRegexp(t, GRPCBadCodes)
	for _, c := range []string{"UNAVAILABLE", "Unavailable", "INTERNAL", "Internal", "UNKNOWN", "Unknown", "DEADLINE_EXCEEDED", "DeadlineExceeded",
		"UNIMPLEMENTED", "Unimplemented", "DATA_LOSS", "DataLoss", "2", "4", "12", "13", "14", "15"} {
		if !m(c) {
			t.Errorf("%s is a server error but does not match", c)
		}
	}
	for _, c := range []string{"OK", "Ok", "0", "NOT_FOUND", "NotFound", "INVALID_ARGUMENT", "CANCELLED", "Canceled", "PERMISSION_DENIED", "5", "500", "503", "UNAVAILABLEX"} {
		if m(c) {
			t.Errorf("%s is not a server error but matches", c)
		}
	}
}

func mustRegexp(t *testing.T, re string) func(string) bool {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(fmt.Sprintf(`x{code=~%q}`, re))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range e.(*parser.VectorSelector).LabelMatchers {
		if m.Name == "code" {
			return m.Matches
		}
	}
	t.Fatal("no matcher")
	return nil
}
