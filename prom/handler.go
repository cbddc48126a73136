package prom

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/route"
	promcfg "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/notifications"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"
)

// Handler serves the embedded Prometheus's HTTP API with Prometheus's own
// code (web/api/v1, the package the Prometheus server uses), so answers,
// JSON shapes and errors are Prometheus's: /api/v1/query, query_range,
// series, labels, label/{name}/values, metadata, targets, rules, alerts,
// status/buildinfo, status/config, status/runtimeinfo, status/flags,
// status/tsdb, format_query and parse_query. Remote read/write, OTLP and
// the admin endpoints are off. It also serves /-/healthy, /-/ready and
// /graph, the page alerts' generatorURL points at. Grafana's Prometheus
// data source and promtool can point at it (mounted under /prometheus/ by
// vane run and vane demo).
func (e *Embedded) Handler() http.Handler {
	api := apiv1.NewAPI(
		e.engine, e.db, nil, e.db,
		func(context.Context) apiv1.ScrapePoolsRetriever { return e.scrape },
		func(context.Context) apiv1.TargetRetriever { return e.scrape },
		func(context.Context) apiv1.AlertmanagerRetriever { return noAlertmanagers{} },
		func() promcfg.Config {
			if c := e.promCfg.Load(); c != nil {
				return *c
			}
			return promcfg.DefaultConfig
		},
		map[string]string{
			"query.timeout":        e.cfg.QueryTimeout.String(),
			"query.lookback-delta": e.cfg.LookbackDelta.String(),
			"query.max-samples":    strconv.Itoa(e.cfg.MaxSamples),
			"storage.tsdb.path":    e.db.Dir(),
			"web.external-url":     e.externalU.String(),
		},
		apiv1.GlobalURLOptions{ListenAddress: e.externalU.Host, Host: e.externalU.Host, Scheme: e.externalU.Scheme},
		func(f http.HandlerFunc) http.HandlerFunc { return e.whileOpen(f) },
		adminStats{e.db, e.dbStats}, e.db.Dir(),
		false, false, 0, // no admin endpoints, no search endpoints
		e.plogger.With("component", "api"),
		func(context.Context) apiv1.RulesRetriever { return e.rules },
		0, 1, 1<<20, // remote read: no sample limit, one at a time, 1 MiB frames
		false, nil,
		e.runtimeInfo,
		buildInfo(),
		func() []notifications.Notification { return nil },
		func() (<-chan notifications.Notification, func(), bool) { return nil, func() {}, false },
		prometheus.NewRegistry(), nil, // no self-metrics of the API: its remote-read gauges stay private
		nil, false, nil, false, false, false,
		e.cfg.LookbackDelta, false, false, nil,
		features.NewRegistry(), apiv1.OpenAPIOptions{}, e.parser, false, e.cfg.QueryTimeout,
	)
	av1 := route.New()
	api.Register(av1)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", http.StripPrefix("/api/v1", av1))
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK\n")) }
	mux.HandleFunc("GET /-/healthy", ok)
	mux.HandleFunc("GET /-/ready", ok)
	mux.HandleFunc("GET /graph", e.graphPage)
	return mux
}

// whileOpen answers 503 once the embedded Prometheus is closed.
func (e *Embedded) whileOpen(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.RLock()
		closed := e.closed
		e.mu.RUnlock()
		if closed {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"embedded Prometheus is closed"}` + "\n"))
			return
		}
		f(w, r)
	}
}

func (e *Embedded) runtimeInfo() (apiv1.RuntimeInfo, error) {
	host, _ := os.Hostname()
	cwd, _ := os.Getwd()
	return apiv1.RuntimeInfo{
		StartTime: e.started, CWD: cwd, Hostname: host, ServerTime: time.Now().UTC(),
		ReloadConfigSuccess: true, GoroutineCount: runtime.NumGoroutine(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GOMEMLIMIT: debug.SetMemoryLimit(-1), GOGC: os.Getenv("GOGC"), GODEBUG: os.Getenv("GODEBUG"),
		StorageRetention: e.cfg.Retention.String(),
	}, nil
}

// buildInfo reports the Prometheus library version Vane embeds.
func buildInfo() *apiv1.PrometheusVersion {
	v := &apiv1.PrometheusVersion{Version: "unknown", GoVersion: runtime.Version(), Branch: "vane-embedded"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/prometheus/prometheus" {
				// Prometheus's library v0.X0Y.Z is server v3.X.Y.
				v.Version = strings.TrimPrefix(d.Version, "v")
				if d.Replace != nil {
					v.Version = strings.TrimPrefix(d.Replace.Version, "v")
				}
			}
		}
		v.BuildUser = bi.Main.Path
	}
	return v
}

// noAlertmanagers: the embedded Prometheus sends alerts through Vane's
// own client (NotifyAlerts), not Prometheus's notifier.
type noAlertmanagers struct{}

func (noAlertmanagers) Alertmanagers() []*url.URL        { return nil }
func (noAlertmanagers) DroppedAlertmanagers() []*url.URL { return nil }

// adminStats adds to the TSDB the two status calls the API reads from the
// head block, as Prometheus's readyStorage does.
type adminStats struct {
	*tsdb.DB
	stats *tsdb.DBStats
}

func (a adminStats) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return a.Head().Stats(statsByLabelName, limit), nil
}

func (a adminStats) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return a.stats.Head.WALReplayStatus.GetWALReplayStatus(), nil
}

func (a adminStats) BlockMetas() ([]tsdb.BlockMeta, error) { return a.DB.BlockMetas(), nil }
