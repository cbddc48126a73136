// Package prom connects Vane to Prometheus. It holds the adapters that
// implement analysis.Querier:
//
//   - HTTPQuerier reads any Prometheus-compatible query API (Prometheus,
//     Thanos, Mimir) with client_golang's api/prometheus/v1: per-attempt
//     timeouts, retries with backoff on 5xx answers, timeouts and network
//     errors (never on bad queries), server warnings passed on in the
//     result, and bearer-token, basic-auth, OAuth2 and TLS options taken
//     from prometheus/common's HTTPClientConfig.
//   - Embedded runs Prometheus as a library in the process: a TSDB, the
//     scrape manager over static targets, the PromQL engine and the rule
//     manager evaluating rule files (recording rules and alerts), plus its
//     HTTP API served by Prometheus's own web/api/v1 (Handler) and the
//     /graph page alerts' generatorURL opens.
//   - AlertmanagerClient posts the embedded rule manager's alerts to
//     Alertmanager's v2 API (labels, annotations, startsAt/endsAt,
//     generator URL), with retries on 5xx and network errors, a bound per
//     call and the vane_prom_alertmanager_* metrics; NotifyAlerts makes the
//     EmbeddedConfig.Notify hook that logs alerts and sends them.
//
// Instrument decorates any Querier with the vane_prom_* metrics. Every
// failure is a *QueryError whose Kind says what went wrong; judges in the
// analysis package turn any error into an Inconclusive verdict.
//
// The package is an adapter at the edge: it may import analysis (for its
// interfaces and types), client_golang, prometheus/common and
// prometheus/prometheus, and must not import rollout, autoscale, xds, api
// or cmd.
//
// Usage:
//
//	q, err := prom.NewInstrumentedHTTP(prom.HTTPConfig{URL: "http://prometheus:9090"},
//		prom.WithMetrics(prom.NewMetrics(reg)), prom.WithLogger(logger))
//	v, err := q.Query(ctx, `sum(rate(http_requests_total{code=~"5.."}[1m]))`, now)
//
//	e, err := prom.NewEmbedded(prom.EmbeddedConfig{
//		Jobs:      []prom.ScrapeJob{{Name: "app", Targets: []string{"127.0.0.1:8081"}}},
//		RuleFiles: []string{"rules.yaml"},
//	}, prom.WithLogger(logger))
//	go e.Run(ctx) // scrapes and evaluates rules until ctx ends
//	defer e.Close()
//	v, err = e.Query(ctx, `slo:sli_error:ratio_rate5m`, now)
//
//	am, err := prom.NewAlertmanagerClient(prom.AlertmanagerConfig{
//		URL: "http://alertmanager:9093", Logger: logger, Registerer: reg})
//	cfg.Notify = prom.NotifyAlerts(am, logger) // on the EmbeddedConfig
package prom
