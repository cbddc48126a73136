//lint:file-ignore SA1019 The dashboards use Grafana's classic dashboard schema (package dashboard), which every Grafana imports through Dashboards → Import; the dashboardv2 schema the SDK now prefers needs Grafana's newer dynamic-dashboards API.

package dashboards

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vaneproj/vane/slo"
)

// File is one generated file, named relative to the output directory.
type File struct {
	Name string
	Data []byte
}

// Options tunes generation. The zero value is the default.
type Options struct {
	// RunbookBaseURL is where the runbooks are served (vane run serves
	// them under /runbooks/); panels and runbooks link to
	// <RunbookBaseURL>/<service>-<slo>.md. Empty: links are relative,
	// runbooks/<service>-<slo>.md.
	RunbookBaseURL string
}

// UIDs of the generated dashboards.
const (
	UIDExecutive = "vane-executive"
	UIDOnCall    = "vane-oncall"
	UIDDebug     = "vane-debug"
	UIDSLO       = "vane-slo"
)

// dsVar is the data source template variable every panel reads.
var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// Generate builds the four dashboards (JSON) and one runbook per SLO
// (Markdown, under runbooks/). The output is deterministic.
func Generate(slos []*slo.SLO, o Options) ([]File, error) {
	builders := []struct {
		name string
		b    *dashboard.DashboardBuilder
	}{
		{"executive.json", executive(slos)},
		{"oncall.json", onCall(slos, o)},
		{"debug.json", debug(slos)},
		{"slo-detail.json", sloDetail()},
	}
	var out []File
	for _, d := range builders {
		dash, err := d.b.Build()
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", d.name, err)
		}
		b, err := json.MarshalIndent(dash, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", d.name, err)
		}
		out = append(out, File{Name: d.name, Data: append(b, '\n')})
	}
	for _, s := range slos {
		out = append(out, File{Name: "runbooks/" + s.ID() + ".md", Data: []byte(Runbook(s, o))})
	}
	return out, nil
}

// newDashboard starts a dashboard with the data source variable.
func newDashboard(uid, title string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Tags([]string{"vane"}).Refresh("30s").
		Time("now-6h", "now").Timezone(common.TimeZoneBrowser).Editable().
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Prometheus").Type("prometheus"))
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend)
}

func series(title, unit string, qs ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Unit(unit).Datasource(ds).Height(8).Span(12)
	for _, q := range qs {
		p.WithTarget(q)
	}
	return p
}

func single(title, unit string, q *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Unit(unit).Datasource(ds).Height(5).Span(6).WithTarget(q.Instant())
}

// sel matches the series Vane records for s.
func sel(s *slo.SLO) string {
	return fmt.Sprintf(`{%s=%q,%s=%q}`, slo.LabelSLO, s.Name, slo.LabelService, s.Service)
}

func ratio(w time.Duration) string { return slo.RecordErrorRatio + slo.FormatDuration(w) }

func num(x float64) string { return fmt.Sprintf("%.6g", x) }

// budgetSteps colours a budget-remaining value: red when spent, orange
// under a quarter, green otherwise.
func budgetSteps() *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
		{Color: "red"}, {Value: cog.ToPtr(0.0), Color: "orange"}, {Value: cog.ToPtr(0.25), Color: "green"}})
}

func executive(slos []*slo.SLO) *dashboard.DashboardBuilder {
	d := newDashboard(UIDExecutive, "Vane · Executive").Time("now-7d", "now")
	d.WithRow(dashboard.NewRowBuilder("Service level objectives"))
	for _, s := range slos {
		name := s.Service + " / " + s.Name
		d.WithPanel(single(fmt.Sprintf("%s: compliance over %s (objective %s%%)", name, s.Window, num(s.Objective)), "percentunit",
			query("1 - "+ratio(s.Window.Duration)+sel(s), name)).Decimals(3).
			Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
				{Color: "red"}, {Value: cog.ToPtr(s.Target()), Color: "green"}})))
		d.WithPanel(single(name+": error budget remaining", "percentunit", query(slo.RecordBudgetRemaining+sel(s), name)).Thresholds(budgetSteps()))
		d.WithPanel(series(name+": error budget remaining over time", "percentunit", query(slo.RecordBudgetRemaining+sel(s), name)).
			Thresholds(budgetSteps()).ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)))
	}
	d.WithRow(dashboard.NewRowBuilder("Releases"))
	d.WithPanel(stat.NewPanelBuilder().Title("Rollouts in the last 7 days, by outcome").Datasource(ds).Height(6).Span(12).
		WithTarget(query(`sum by (type) (increase(vane_rollout_events_total{type=~"started|succeeded|rollback|aborted|inconclusive"}[7d]))`, "{{type}}").Instant()))
	d.WithPanel(series("Rollout outcomes per day", "short",
		query(`sum by (type) (increase(vane_rollout_events_total{type=~"succeeded|rollback|aborted|inconclusive"}[1d]))`, "{{type}}")))
	return d
}

// windows are the distinct windows of s's tiers, shortest first.
func windows(s *slo.SLO) []time.Duration {
	set := map[time.Duration]bool{}
	for _, t := range s.Tiers() {
		set[t.Long], set[t.Short] = true, true
	}
	out := make([]time.Duration, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func onCall(slos []*slo.SLO, o Options) *dashboard.DashboardBuilder {
	d := newDashboard(UIDOnCall, "Vane · On-call").Time("now-6h", "now")
	d.WithRow(dashboard.NewRowBuilder("Burn rates (lines: the tiers' burn-rate thresholds)"))
	for _, s := range slos {
		name := s.Service + " / " + s.Name
		var qs []*prometheus.DataqueryBuilder
		for _, w := range windows(s) {
			qs = append(qs, query(fmt.Sprintf("%s%s / %s", ratio(w), sel(s), num(s.ErrorBudget())), slo.FormatDuration(w)))
		}
		steps := []dashboard.Threshold{{Color: "green"}}
		seen := map[float64]bool{}
		for _, t := range s.Tiers() {
			if seen[t.BurnRate] {
				continue
			}
			seen[t.BurnRate] = true
			c := "orange"
			if t.Severity == slo.SeverityPage {
				c = "red"
			}
			steps = append(steps, dashboard.Threshold{Value: cog.ToPtr(t.BurnRate), Color: c})
		}
		sort.Slice(steps[1:], func(i, j int) bool { return *steps[1+i].Value < *steps[1+j].Value })
		d.WithPanel(series(name+": burn rate per window", "x", qs...).
			Description("Error ratio over each tier window divided by the error budget; 1x spends the budget exactly over " + s.Window.String() + ". Runbook: " + RunbookURL(s, o)).
			Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)))
	}
	d.WithRow(dashboard.NewRowBuilder("Now"))
	d.WithPanel(table.NewPanelBuilder().Title("Firing alerts").Datasource(ds).Height(8).Span(24).
		WithTarget(query(`ALERTS{alertstate="firing"}`, "").Instant().Format(prometheus.PromQueryFormatTable)))
	d.WithPanel(series("Rollouts in flight: canary weight", "percent", query("vane_rollout_canary_weight", "{{rollout}}")).Min(0).Max(100))
	d.WithPanel(table.NewPanelBuilder().Title("Rollout phase").Datasource(ds).Height(8).Span(12).
		WithTarget(query("vane_rollout_phase == 1", "").Instant().Format(prometheus.PromQueryFormatTable)))
	d.WithPanel(series("Autoscalers: replicas", "short",
		query("vane_autoscale_current_replicas", "{{autoscaler}} current"),
		query("vane_autoscale_desired_replicas", "{{autoscaler}} desired")))
	d.WithPanel(series("SLOs: current burn rate (5m)", "x", query(slo.RecordCurrentBurnRate, "{{"+slo.LabelService+"}} / {{"+slo.LabelSLO+"}}")))
	return d
}

func debug(slos []*slo.SLO) *dashboard.DashboardBuilder {
	d := newDashboard(UIDDebug, "Vane · Debug").Time("now-1h", "now")
	d.WithRow(dashboard.NewRowBuilder("Canary against stable, per SLI"))
	for _, s := range slos {
		if s.SLI.Kind == slo.SLIRaw {
			continue
		}
		q, err := versionRatio(s)
		if err != nil {
			continue // the spec's queries were checked at load; keep the dashboard whole
		}
		d.WithPanel(series(s.Service+" / "+s.Name+": error ratio by version (5m)", "percentunit", query(q, "{{version}}")))
	}
	d.WithRow(dashboard.NewRowBuilder("Judges and rollouts"))
	d.WithPanel(series("Judge verdicts", "short", query("sum by (rollout, verdict) (increase(vane_analysis_verdicts_total[$__rate_interval]))", "{{rollout}} {{verdict}}")))
	d.WithPanel(series("Rollout evaluation time (p99)", "s",
		query("histogram_quantile(0.99, sum by (le, rollout) (rate(vane_rollout_evaluation_duration_seconds_bucket[$__rate_interval])))", "{{rollout}}")))
	d.WithRow(dashboard.NewRowBuilder("Prometheus"))
	d.WithPanel(series("Query errors", "reqps", query("sum by (querier, kind) (rate(vane_prom_query_errors_total[$__rate_interval]))", "{{querier}} {{kind}}")))
	d.WithPanel(series("Query latency (p50, p99)", "s",
		query("histogram_quantile(0.5, sum by (le, querier) (rate(vane_prom_query_duration_seconds_bucket[$__rate_interval])))", "{{querier}} p50"),
		query("histogram_quantile(0.99, sum by (le, querier) (rate(vane_prom_query_duration_seconds_bucket[$__rate_interval])))", "{{querier}} p99")))
	d.WithPanel(series("Rule evaluation lag", "s",
		query("time() - prometheus_rule_group_last_evaluation_timestamp_seconds", "{{rule_group}}"),
		query("prometheus_rule_group_last_duration_seconds", "{{rule_group}} duration")))
	d.WithRow(dashboard.NewRowBuilder("xDS and store"))
	d.WithPanel(series("xDS streams", "short", query("sum by (type) (vane_xds_connected_streams)", "{{type}}")))
	d.WithPanel(series("xDS ACK latency (p99)", "s", query("histogram_quantile(0.99, sum by (le) (rate(vane_xds_ack_latency_seconds_bucket[$__rate_interval])))", "p99")))
	d.WithPanel(series("xDS NACKs", "short", query("sum by (type) (increase(vane_xds_nacks_total[$__rate_interval]))", "{{type}}")))
	d.WithPanel(series("Store errors", "short",
		query("increase(vane_rollout_store_errors_total[$__rate_interval])", "rollout"),
		query("increase(vane_autoscale_store_errors_total[$__rate_interval])", "autoscale")))
	return d
}

// versionRatio is s's SLI error ratio over 5m per version; no error series
// (no error yet) counts as zero errors, as in the generated rules.
func versionRatio(s *slo.SLO) (string, error) {
	e, t := s.SLI.Queries(5 * time.Minute)
	be, err := byVersion(e)
	if err != nil {
		return "", err
	}
	bt, err := byVersion(t)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("((%s) or (0 * (%s)))\n/\n(%s)", be, bt, bt), nil
}

// byVersion makes every aggregation of q keep the version label, so the
// spec's SLI query splits canary from stable.
func byVersion(q string) (string, error) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return "", err
	}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if a, ok := n.(*parser.AggregateExpr); ok && !a.Without {
			for _, g := range a.Grouping {
				if g == "version" {
					return nil
				}
			}
			a.Grouping = append(a.Grouping, "version")
		}
		return nil
	})
	return expr.String(), nil
}

func sloDetail() *dashboard.DashboardBuilder {
	sel := fmt.Sprintf(`{%s="$service",%s="$slo"}`, slo.LabelService, slo.LabelSLO)
	d := newDashboard(UIDSLO, "Vane · SLO").Time("now-24h", "now").
		WithVariable(dashboard.NewQueryVariableBuilder("service").Label("Service").Datasource(ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(" + slo.RecordObjective + ", " + slo.LabelService + ")")}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged)).
		WithVariable(dashboard.NewQueryVariableBuilder("slo").Label("SLO").Datasource(ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(" + slo.RecordObjective + `{` + slo.LabelService + `="$service"}, ` + slo.LabelSLO + `)`)}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged))
	d.WithPanel(single("Objective", "percentunit", query(slo.RecordObjective+sel, "")).Decimals(3))
	d.WithPanel(single("Error budget remaining", "percentunit", query(slo.RecordBudgetRemaining+sel, "")).Thresholds(budgetSteps()))
	d.WithPanel(single("Current burn rate (5m)", "x", query(slo.RecordCurrentBurnRate+sel, "")))
	d.WithPanel(single("Firing alerts", "short", query(`count(ALERTS{alertstate="firing",`+sel[1:]+`) or vector(0)`, "")))
	d.WithPanel(series("Error budget remaining", "percentunit", query(slo.RecordBudgetRemaining+sel, "remaining")).Thresholds(budgetSteps()))
	d.WithPanel(series("Burn rate per window", "x",
		query(`{__name__=~"`+slo.RecordErrorRatio+`.+",`+sel[1:]+` / on (`+slo.LabelService+`, `+slo.LabelSLO+`) group_left () `+slo.RecordErrorBudget+sel, "{{slo_window}}")))
	d.WithPanel(series("Tiers holding (burn rate of the long window)", "x", query(slo.RecordTierBurnRate+sel, "{{slo_tier}} {{vane_severity}}")))
	d.WithPanel(series("Error ratio (5m)", "percentunit", query(ratio(5*time.Minute)+sel, "5m")))
	return d
}

// RunbookPath is the runbook's file name for s, relative to the runbooks
// directory.
func RunbookPath(s *slo.SLO) string { return s.ID() + ".md" }

// RunbookURL is where s's runbook is served given o.
func RunbookURL(s *slo.SLO, o Options) string {
	if o.RunbookBaseURL == "" {
		return "runbooks/" + RunbookPath(s)
	}
	return strings.TrimRight(o.RunbookBaseURL, "/") + "/" + RunbookPath(s)
}
