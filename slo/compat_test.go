package slo

import (
	"strings"
	"testing"
	"time"
)

// TestLoadCompat loads specs as Sloth and OpenSLO users write them.
func TestLoadCompat(t *testing.T) {
	cases := map[string]struct {
		spec  string
		check func(t *testing.T, slos []*SLO, warns []error)
	}{
		"Sloth no-alerts: no alerting.name when both alerts are disabled": {`
version: "prometheus/v1"
service: myapp
slos:
  - name: http-availability
    objective: 99.99
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{ .window }}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      page_alert: {disable: true}
      ticket_alert: {disable: true}
`, func(t *testing.T, slos []*SLO, _ []error) {
			if s := slos[0]; s.Alerting.Name != "" || !strings.Contains(s.SLI.ErrorQuery, "[{{.window}}]") {
				t.Errorf("got %+v", s)
			}
			var b strings.Builder
			_ = GenerateRules(&b, slos, GenerateOptions{})
			if strings.Contains(b.String(), "alert:") {
				t.Error("alerts generated for disabled alerts")
			}
		}},
		"Sloth spec routing on a service label": {`
version: "prometheus/v1"
service: api
labels: {service: api, slo: x}
slos:
  - name: availability
    objective: 99.9
    sli: {raw: {error_ratio_query: "job:errors:ratio_rate{{.window}}"}}
    alerting: {name: APIBurn, labels: {service: api-team}}
`, func(t *testing.T, slos []*SLO, _ []error) {
			r := Rules(slos, GenerateOptions{})
			last := r.Groups[0].Rules[len(r.Groups[0].Rules)-1]
			if last.Labels["service"] != "api-team" || !strings.Contains(last.Expr, `vane_service="api"`) {
				t.Errorf("alert labels %v expr %s", last.Labels, last.Expr)
			}
		}},
		"Sloth Kubernetes resource with plugins": {`
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata: {name: x, namespace: monitoring}
spec:
  service: svc
  sloPlugins:
    chain:
      - id: sloth.dev/core/debug/v1
        config: {msg: hi}
  slos:
    - name: requests
      objective: 99.5
      plugins:
        chain:
          - id: sloth.dev/contrib/rule_intervals/v1
            config: {interval: {default: 2m}}
      sli:
        events:
          errorQuery: sum(rate(e[{{.window}}]))
          totalQuery: sum(rate(t[{{.window}}]))
      alerting:
        name: SvcBurn
        pageAlert: {labels: {severity: critical}}
        ticketAlert: {disable: true}
`, func(t *testing.T, slos []*SLO, _ []error) {
			s := slos[0]
			if s.Format != FormatSlothCRD || s.RuleInterval != 2*time.Minute || !s.Alerting.TicketAlert.Disable || s.Alerting.PageAlert.Labels["severity"] != "critical" {
				t.Errorf("got %+v", s)
			}
			var b strings.Builder
			_ = GenerateRules(&b, slos, GenerateOptions{})
			if !strings.Contains(b.String(), "    interval: \"2m\"\n") {
				t.Errorf("no group interval:\n%s", b.String()[:300])
			}
		}},
		"Sloth error_budget_exhausted_alert plugin": {`
version: "prometheus/v1"
service: svc
slo_plugins:
  chain:
    - id: sloth.dev/contrib/error_budget_exhausted_alert/v1
      config: {threshold: 0.05, alert_name: ErrorBudgetLow, alert_labels: {severity: info}}
slos:
  - name: a
    objective: 99.9
    sli: {raw: {error_ratio_query: "x{{.window}}"}}
    alerting: {name: A}
`, func(t *testing.T, slos []*SLO, _ []error) {
			var b strings.Builder
			_ = GenerateRules(&b, slos, GenerateOptions{})
			want := "      - alert: ErrorBudgetLow\n        expr: \"slo:period_error_budget_remaining:ratio{vane_slo=\\\"a\\\",vane_service=\\\"svc\\\"} <= 0.05\"\n        for: \"5m\"\n        labels:\n          severity: info\n"
			if !strings.Contains(b.String(), want) {
				t.Errorf("no exhausted alert:\n%s", b.String())
			}
		}},
		"Sloth remove_labels plugin": {`
version: "prometheus/v1"
service: svc
labels: {team: a, namespace: b}
slos:
  - name: a
    objective: 99.9
    plugins: {chain: [{id: sloth.dev/contrib/remove_labels/v1, config: {preserveLabels: [namespace]}}]}
    sli: {raw: {error_ratio_query: "x{{.window}}"}}
    alerting: {name: A}
`, func(t *testing.T, slos []*SLO, _ []error) {
			if l := slos[0].Labels; len(l) != 1 || l["namespace"] != "b" {
				t.Errorf("labels %v", l)
			}
		}},
		"common SLI plugin": {`
version: "prometheus/v1"
service: k8s
slos:
  - name: apiserver-latency
    objective: 99
    sli:
      plugin:
        id: sloth-common/kubernetes/apiserver/latency
        options: {bucket: "0.4", filter: 'job="apiserver"'}
    alerting: {name: K8sLatency}
`, func(t *testing.T, slos []*SLO, _ []error) {
			e, tot := slos[0].SLI.Queries(time.Hour)
			want := `(sum(rate(apiserver_request_duration_seconds_count{job="apiserver"}[1h])) - sum(rate(apiserver_request_duration_seconds_bucket{job="apiserver",le="0.4"}[1h])))`
			if e != want || tot != `sum(rate(apiserver_request_duration_seconds_count{job="apiserver"}[1h]))` {
				t.Errorf("got %s / %s", e, tot)
			}
		}},
		"CoreDNS SLI plugin": {`
version: "prometheus/v1"
service: dns
slos:
  - name: availability
    objective: 99.9
    sli:
      plugin:
        id: sloth-common/coredns/availability
        options: {filter: 'job="kube-dns", zone="."', custom_rcode_regex: (SERVFAIL|FORMERR)}
    alerting: {name: DNS}
`, func(t *testing.T, slos []*SLO, _ []error) {
			e, _ := slos[0].SLI.Queries(time.Hour)
			if e != `sum(rate(coredns_dns_responses_total{job="kube-dns", zone=".",rcode=~"(SERVFAIL|FORMERR)"}[1h]))` {
				t.Errorf("got %s", e)
			}
		}},
		"OpenSLO v1alpha as Sloth reads it": {`
apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: my-slo}
spec:
  service: svc
  objectives:
    - ratioMetrics:
        good: {source: prometheus, queryType: promql, query: 'sum(rate(ok[{{.window}}]))'}
        total: {source: prometheus, queryType: promql, query: 'sum(rate(all[{{.window}}]))'}
      target: 0.99
  timeWindows: [{count: 28, unit: Day}]
`, func(t *testing.T, slos []*SLO, _ []error) {
			s := slos[0]
			if s.Name != "my-slo-0" || s.Window.Duration != 28*24*time.Hour || s.Objective != 99 || !s.Alerting.PageAlert.Disable {
				t.Errorf("got %+v", s)
			}
		}},
		"OpenSLO v1 list, month window, counters without window, alert policies": {`
- apiVersion: openslo/v1
  kind: SLO
  metadata:
    name: checkout
    labels: {team: [a, b], example.com/owner: x}
  spec:
    service: shop
    budgetingMethod: Occurrences
    timeWindow: [{duration: 1M, isRolling: true}]
    objectives: [{target: '0.995'}]
    indicator:
      metadata: {name: ok}
      spec:
        ratioMetric:
          counter: true
          good: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total{code!~"5.."}'}}}
          total: {metricSource: {type: Prometheus, spec: 'sum by (job) (http_requests_total)'}}
    alertPolicies:
      - kind: AlertPolicy
        metadata: {name: fast}
        spec:
          conditions:
            - kind: AlertCondition
              metadata: {name: fast-burn}
              spec:
                severity: page
                condition: {kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h, alertAfter: 5m}
            - conditionRef: other
          notificationTargets: [{targetRef: pager}]
`, func(t *testing.T, slos []*SLO, warns []error) {
			s := slos[0]
			_, tot := s.SLI.Queries(time.Hour)
			if s.Window.Duration != 30*24*time.Hour || s.Objective != 99.5 || tot != `sum by (job) (rate(http_requests_total[1h]))` || s.Labels["team"] != "a,b" {
				t.Errorf("got %+v / %s", s, tot)
			}
			if tiers := s.Tiers(); len(tiers) != 1 || tiers[0].Long != time.Hour || tiers[0].Short != 5*time.Minute || tiers[0].BurnRate != 14.4 || tiers[0].Severity != SeverityPage {
				t.Errorf("tiers %v", tiers)
			}
			if len(warns) != 4 { // label name, alertAfter, conditionRef, notification targets
				t.Errorf("warnings: %v", warns)
			}
		}},
		"OpenSLO v1 raw ratio": {`
apiVersion: openslo/v1
kind: SLO
metadata: {name: raw}
spec:
  service: shop
  budgetingMethod: Occurrences
  objectives: [{targetPercent: 99}]
  indicator:
    metadata: {name: r}
    spec:
      ratioMetric:
        rawType: success
        raw: {metricSource: {type: Prometheus, spec: {query: 'job:success:ratio_rate{{.window}}'}}}
`, func(t *testing.T, slos []*SLO, _ []error) {
			if q, _ := slos[0].SLI.Queries(time.Hour); q != "1 - (job:success:ratio_rate1h)" {
				t.Errorf("got %s", q)
			}
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			slos, warns, err := LoadOptions{}.Load(File{Name: "spec.yaml", Data: []byte(c.spec)})
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, slos, warns)
		})
	}
}

// TestLoadRefusals checks what stays refused, with the reason.
func TestLoadRefusals(t *testing.T) {
	cases := map[string]struct{ spec, want string }{
		"unknown SLO plugin": {`
version: "prometheus/v1"
service: s
slo_plugins: {chain: [{id: sloth.dev/contrib/denominator_corrected_rules/v1}]}
slos: [{name: a, objective: 99, sli: {raw: {error_ratio_query: "x{{.window}}"}}, alerting: {name: A}}]
`, `spec.yaml:4:28: slo_plugins.chain[0].id: Sloth SLO plugin "sloth.dev/contrib/denominator_corrected_rules/v1" is not supported (Vane supports: `},
		"enabled alert without a name": {`
version: "prometheus/v1"
service: s
slos: [{name: a, objective: 99, sli: {raw: {error_ratio_query: "x{{.window}}"}}, alerting: {page_alert: {disable: true}}}]
`, "slos[0].alerting.name: required field is missing"},
		"same error and total queries": {`
version: "prometheus/v1"
service: s
slos: [{name: a, objective: 99, sli: {events: {error_query: "sum(rate(x[{{.window}}]))", total_query: "sum(rate(x[{{.window}}]))"}}, alerting: {name: A}}]
`, "the error and total queries are the same"},
		"time slices": {`
apiVersion: openslo/v1
kind: SLO
metadata: {name: t}
spec:
  service: s
  budgetingMethod: Timeslices
  objectives: [{target: 0.99, timeSliceTarget: 0.9}]
  indicatorRef: x
`, "only Occurrences is supported"},
		"counter query that is not a counter": {`
apiVersion: openslo/v1
kind: SLO
metadata: {name: t}
spec:
  service: s
  objectives: [{target: 0.99}]
  indicator:
    metadata: {name: r}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'rate(x[5m])'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'y'}}}
`, "must read counters"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(File{Name: "spec.yaml", Data: []byte(c.spec)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// TestLenient turns unknown fields into warnings.
func TestLenient(t *testing.T) {
	spec := File{Name: "s.yaml", Data: []byte(`
version: "prometheus/v1"
service: s
owner: team
slos: [{name: a, objective: 99, sli: {raw: {error_ratio_query: "x{{.window}}"}}, alerting: {name: A, pageAlert: {disable: true}}}]
`)}
	if _, err := Load(spec); err == nil || !strings.Contains(err.Error(), "s.yaml:4:1: owner: unknown field") {
		t.Fatalf("strict: %v", err)
	}
	slos, warns, err := LoadOptions{Lenient: true}.Load(spec)
	if err != nil || len(slos) != 1 || len(warns) != 2 {
		t.Fatalf("lenient: %v %v %v", slos, warns, err)
	}
	if !strings.Contains(warns[1].Error(), "s.yaml:5:102: slos[0].alerting.pageAlert: unknown field ignored") {
		t.Errorf("warning %v", warns[1])
	}
}

// TestRenderAnnotation expands annotations as Prometheus does, and the
// test twin drops those that depend on the alert's value.
func TestRenderAnnotation(t *testing.T) {
	got, err := renderAnnotation(`{{ $labels.vane_service }} {{ .Labels.team | toUpper }} {{$labels.missing}}`, map[string]string{"vane_service": "api", "team": "pay"}, 3)
	if err != nil || got != "api PAY " {
		t.Fatalf("got %q, %v", got, err)
	}
	s := &SLO{Alerting: Alerting{Annotations: map[string]string{"a": "{{$labels.x}}", "b": "{{ $value }}", "c": "{{ humanize 3 }}", "d": "plain"}}}
	tw := TestTwin(s)
	if len(tw.Alerting.Annotations) != 2 || tw.Alerting.Annotations["a"] == "" || tw.Alerting.Annotations["d"] == "" {
		t.Errorf("twin annotations %v", tw.Alerting.Annotations)
	}
}
