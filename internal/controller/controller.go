package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promconfig "github.com/prometheus/common/config"
	"github.com/spf13/viper"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/dashboards"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/slo"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// DefaultShutdownBudget bounds the whole stop sequence after the context
// given to Run ends.
const DefaultShutdownBudget = 10 * time.Second

// Store is the controller's state store: bbolt (store.DB) or etcd
// (store.Etcd, fenced by the leader election).
type Store = stateStore

// Registry is what the controller registers its metrics with and serves
// on /metrics.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// Options configure New. Only Config is required.
type Options struct {
	// Config is the controller's configuration (vane.yaml, loaded and
	// validated by package config). The controller reads it and never
	// changes it.
	Config *config.Config
	// Logger receives every component's logs; nil discards.
	Logger *slog.Logger
	// Registry receives every component's metrics and is served on
	// /metrics; nil means a new registry.
	Registry Registry

	// The knobs below are for programs that embed the controller (vane
	// demo); vane run leaves them zero.

	// WrapRouter, when set, wraps the router the rollout loops apply
	// routings through (to observe them).
	WrapRouter func(traffic.Router) traffic.Router
	// OnRolloutEvent, when set, receives every rollout event (see
	// rollout.Options.OnEvent).
	OnRolloutEvent func(rollout.Event)
	// Autoscalers, when set, are what the API serves under
	// /api/v1/autoscalers instead of the configured autoscalers (which
	// then must be none): autoscalers the embedding program runs itself.
	Autoscalers api.Autoscalers
	// EvaluationInterval is the embedded Prometheus's rule evaluation
	// interval (default prom.DefaultEvaluationInterval).
	EvaluationInterval time.Duration
	// XDSShutdownTimeout bounds the xDS server's graceful stop (default
	// xds's own).
	XDSShutdownTimeout time.Duration
	// ShutdownBudget bounds the stop sequence (default
	// DefaultShutdownBudget).
	ShutdownBudget time.Duration
}

// Controller is Vane's controller wired from a configuration: the store,
// Prometheus (a client, or embedded with its scrapes and the SLOs' rules),
// the xDS server, the Kubernetes endpoint watchers, the rollout loops, the
// autoscalers (on the leader only when replicated), the HTTP API and UI,
// and the configuration watcher. Create it with New and run it with Run.
type Controller struct {
	cfg *config.Config
	log *slog.Logger
	g   *group
	// closers release what New opened, in reverse order, after Run's
	// components stopped (or when New fails).
	closers []func() error

	db       Store
	querier  analysis.Querier
	embedded *prom.Embedded
	xds      *xds.Server
	router   traffic.Router
	mgr      *rollout.Manager
	slos     *slo.Evaluator
	xaddr    net.Addr
	haddr    net.Addr
}

// New builds the controller: it opens the store and Prometheus, binds the
// xDS and HTTP listeners, starts the Kubernetes endpoint watchers (they
// run until ctx ends) and wires the loops; nothing else runs until Run.
// On error, what it opened is closed again.
func New(ctx context.Context, o Options) (_ *Controller, err error) {
	if o.Config == nil {
		return nil, errors.New("controller: Options.Config is required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var reg Registry = o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if o.ShutdownBudget <= 0 {
		o.ShutdownBudget = DefaultShutdownBudget
	}
	cfg, err := withHTTPPort(o.Config)
	if err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, log: log, g: &group{log: log, budget: o.ShutdownBudget}}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.close())
		}
	}()

	// 1. Store.
	db, elector, err := openStore(ctx, cfg, log, reg)
	if err != nil {
		return nil, err
	}
	c.db = db
	c.closers = append(c.closers, db.Close)
	g := c.g

	// 2. Prometheus.
	var querier analysis.Querier
	var embedded *prom.Embedded
	var alerts alertSource // what GET /api/v1/alerts reads
	if cfg.Prometheus.URL != "" {
		hc := prom.HTTPConfig{URL: cfg.Prometheus.URL, Timeout: time.Duration(cfg.Prometheus.Timeout), Client: PromHTTPClientConfig(cfg)}
		pm := prom.NewMetrics(reg)
		q, err := prom.NewHTTPQuerier(hc, prom.WithLogger(log.With("component", "prometheus")), prom.WithMetrics(pm))
		if err != nil {
			return nil, err
		}
		querier, alerts = prom.Instrument(q, pm, "http"), alertSource{from: q.URL(), list: q.Alerts}
	} else {
		ec := prom.EmbeddedConfig{DataDir: cfg.Resolve(cfg.Prometheus.DataDir), Retention: time.Duration(cfg.Prometheus.Retention),
			ScrapeInterval: time.Duration(cfg.Scrape.Interval), EvaluationInterval: o.EvaluationInterval, Registerer: reg,
			ExternalURL: externalURL(cfg), ExternalLabels: cfg.Prometheus.ExternalLabels}
		for _, f := range cfg.Prometheus.RuleFiles {
			ec.RuleFiles = append(ec.RuleFiles, cfg.Resolve(f))
		}
		if len(cfg.Loaded) > 0 {
			// The SLOs' own recording and alerting rules run in-process, so
			// burn-rate alerts page as they would on a Prometheus server.
			var sources []string
			for _, f := range cfg.SLOs {
				sources = append(sources, cfg.Resolve(f))
			}
			rules, remove, err := sloRuleFile(cfg.Loaded, sources, RunbookBaseURL(cfg))
			if err != nil {
				return nil, err
			}
			c.closers = append(c.closers, func() error { remove(); return nil })
			ec.RuleFiles = append(ec.RuleFiles, rules)
		}
		// Alerts are logged in any case and sent when alertmanager.url is set.
		var am *prom.AlertmanagerClient
		if u := cfg.Alertmanager.URL; u != "" {
			if am, err = prom.NewAlertmanagerClient(prom.AlertmanagerConfig{URL: u, Logger: log.With("component", "alertmanager"), Registerer: reg}); err != nil {
				return nil, err
			}
		}
		ec.Notify = prom.NotifyAlerts(am, log.With("component", "alerts"))
		for _, j := range cfg.Scrape.Jobs {
			ec.Jobs = append(ec.Jobs, prom.ScrapeJob{Name: j.Name, Targets: j.Targets, Labels: j.Labels, Interval: time.Duration(j.Interval), MetricsPath: j.MetricsPath})
		}
		pm := prom.NewMetrics(reg)
		e, err := prom.NewEmbedded(ec, prom.WithLogger(log.With("component", "prometheus")), prom.WithMetrics(pm))
		if err != nil {
			return nil, err
		}
		c.closers = append(c.closers, e.Close)
		embedded, querier = e, prom.Instrument(e, pm, "embedded")
		alerts = alertSource{from: api.AlertsEmbedded, list: func(context.Context) ([]prom.Alert, error) { return e.Alerts(), nil }}
		g.add("embedded prometheus", embedded.Run)
	}
	c.querier, c.embedded = querier, embedded

	// 3. xDS server.
	xs, err := xds.New(xds.Options{
		Listen:          cfg.XDS.Listen,
		CertFile:        cfg.Resolve(cfg.XDS.CertFile),
		KeyFile:         cfg.Resolve(cfg.XDS.KeyFile),
		ClientCAFile:    cfg.Resolve(cfg.XDS.ClientCAFile),
		Logger:          log.With("component", "xds"),
		Registerer:      reg,
		ShutdownTimeout: o.XDSShutdownTimeout,
	})
	if err != nil {
		return nil, err
	}
	xaddr, err := xs.Listen()
	if err != nil {
		return nil, err
	}
	c.xds, c.xaddr = xs, xaddr
	g.add("xds server", xs.Run)
	presence, err := newPresence(cfg, db, elector, xs, log)
	if err != nil {
		return nil, err
	}
	if presence != nil {
		g.add("replica presence", presence.Run)
	}
	kw, err := kubeEndpoints(ctx, cfg, xs, reg, log)
	if err != nil {
		return nil, err
	}

	// 4. Rollout loops.
	slos := &slo.Evaluator{SLOs: cfg.Loaded, Querier: analysis.SLOQuerier(querier), Timeout: time.Duration(cfg.Prometheus.Timeout)}
	router := haRouter(presence, kw.router)
	if o.WrapRouter != nil {
		router = o.WrapRouter(router)
	}
	mgr, err := rollout.NewManager(rollout.Options{Router: router, Querier: querier, Store: db, Budget: slos.Budget,
		Metrics: rollout.NewMetrics(reg), Logger: log.With("component", "rollout"), OnEvent: o.OnRolloutEvent,
		MinProxies: cfg.XDS.MinProxiesOrDefault(), Preflight: true}, kw.fill(cfg.ServiceConfigs()))
	if err != nil {
		return nil, err
	}
	c.router, c.mgr, c.slos = router, mgr, slos
	if elector == nil {
		g.add("rollout controller", mgr.Run)
	}
	kw.start(g, mgr.Reconcile, log.With("component", "kube"))

	// 4b. Autoscalers: their actuators stop after them.
	if o.Autoscalers != nil && len(cfg.Autoscalers()) > 0 {
		return nil, errors.New("controller: Options.Autoscalers is set, and the configuration has autoscalers too")
	}
	actx, stopActuators := context.WithCancel(context.WithoutCancel(ctx))
	c.closers = append(c.closers, func() error { stopActuators(); return nil })
	g.add("autoscale actuators", func(c context.Context) error { <-c.Done(); stopActuators(); return nil })
	deps := autoscaleDeps{cfg: cfg, querier: querier, slos: autoscale.EvaluatorSLO{Evaluator: slos}, rollouts: mgr, db: db,
		reg: reg, log: log, actuators: actuatorFactory(cfg, xs, mgr, reg, log)}
	var rollouts api.Rollouts = mgr
	autoscalers := o.Autoscalers
	switch {
	case elector == nil && autoscalers == nil:
		// Built once the rollout manager runs: a local actuator waits for
		// it to publish the services.
		has := &haAutoscalers{}
		autoscalers = has
		g.add("autoscalers", func(ctx context.Context) error {
			return runAutoscalers(ctx, has, func(context.Context) (*autoscale.Manager, error) { return newAutoscalers(actx, deps) })
		})
	case elector != nil:
		// Several replicas on etcd: only the leader runs the loops, and
		// builds the autoscalers when its term starts; losing the lead ends
		// the process (its supervisor starts it again as a follower).
		has := &haAutoscalers{el: elector}
		rollouts, autoscalers = haRollouts{mgr: mgr, el: elector, db: db}, has
		g.add("leader election", func(ctx context.Context) error {
			return followThenLead(ctx, elector, mgr, db, func(ctx context.Context) error {
				return lead(ctx, mgr, has, func(context.Context) (*autoscale.Manager, error) { return newAutoscalers(actx, deps) })
			})
		})
	}

	// 5. HTTP API, UI and metrics.
	mounts := map[string]http.Handler{}
	if embedded != nil {
		mounts["/prometheus/"] = embedded.Handler()
	}
	if len(cfg.Loaded) > 0 {
		if mounts["/runbooks/"], err = runbooks(cfg.Loaded, RunbookBaseURL(cfg)); err != nil {
			return nil, err
		}
	}
	apiOpts := api.Options{Mounts: mounts, Alerts: alerts, AlertsFrom: alerts.from, Rollouts: rollouts, SLOs: slos, Autoscalers: autoscalers, TokenFile: cfg.Resolve(cfg.HTTP.TokenFile),
		CertFile: cfg.Resolve(cfg.HTTP.CertFile), KeyFile: cfg.Resolve(cfg.HTTP.KeyFile),
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), Ready: mgr.Ready, Registerer: reg,
		Logger: log.With("component", "api")}
	if err := haAPI(&apiOpts, presence, cfg); err != nil {
		return nil, err
	}
	srv, err := api.New(apiOpts)
	if err != nil {
		return nil, err
	}
	haddr, err := srv.Listen(cfg.HTTP.Listen)
	if err != nil {
		return nil, err
	}
	c.haddr = haddr
	g.add("http api", func(ctx context.Context) error { return srv.Run(ctx, "") })

	// 6. The configuration watcher.
	if cfg.File != "" {
		g.add("config watcher", func(ctx context.Context) error { return watchConfig(ctx, cfg.File, mgr, kw.fill, log) })
	}

	promDesc := "embedded"
	if cfg.Prometheus.URL != "" {
		promDesc = cfg.Prometheus.URL
	}
	scheme := "http://"
	if srv.TLS() {
		scheme = "https://"
	} else if cfg.HTTP.TokenFile != "" && !isLoopback(haddr) {
		log.Warn("The API token crosses the network in clear: set http.cert_file and http.key_file, or listen on loopback", "http", haddr.String())
	}
	log.Info("Vane running", "http", scheme+haddr.String(), "xds", xaddr.String(), "prometheus", promDesc,
		"store", db.Path(), "services", len(cfg.Services))
	return c, nil
}

// Run runs every component until ctx ends or one of them fails, then
// stops them in the reverse order of their start within the shutdown
// budget and closes what New opened. It returns the failed component's
// error and the errors of stopping. Call it once.
func (c *Controller) Run(ctx context.Context) error {
	err := c.g.run(ctx)
	return errors.Join(err, c.close())
}

// close releases what New opened, last opened first.
func (c *Controller) close() error {
	var errs []error
	for i := len(c.closers) - 1; i >= 0; i-- {
		errs = append(errs, c.closers[i]())
	}
	c.closers = nil
	return errors.Join(errs...)
}

// Rollouts returns the rollout manager.
func (c *Controller) Rollouts() *rollout.Manager { return c.mgr }

// Querier returns what the judges and SLO status query.
func (c *Controller) Querier() analysis.Querier { return c.querier }

// Embedded returns the embedded Prometheus, nil when prometheus.url is set.
func (c *Controller) Embedded() *prom.Embedded { return c.embedded }

// XDS returns the xDS server.
func (c *Controller) XDS() *xds.Server { return c.xds }

// Router returns the router the rollout loops apply routings through.
func (c *Controller) Router() traffic.Router { return c.router }

// Store returns the state store.
func (c *Controller) Store() Store { return c.db }

// SLOs returns the SLO evaluator (budgets and burn rates).
func (c *Controller) SLOs() *slo.Evaluator { return c.slos }

// XDSAddr returns the xDS server's bound address.
func (c *Controller) XDSAddr() net.Addr { return c.xaddr }

// HTTPAddr returns the HTTP API's bound address.
func (c *Controller) HTTPAddr() net.Addr { return c.haddr }

// withHTTPPort returns cfg, or, when http.listen asks for any free port
// (port 0), a copy naming one free port: the embedded Prometheus's
// external URL, built before the API listens, must name the served port.
func withHTTPPort(cfg *config.Config) (*config.Config, error) {
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil || port != "0" {
		return cfg, nil //nolint:nilerr // the API reports a bad address when it listens
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("controller: http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, fmt.Errorf("controller: http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	c := *cfg
	c.HTTP.Listen = addr
	return &c, nil
}

// isLoopback reports whether addr is a loopback TCP address.
func isLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// watchConfig polls the configuration file and hands a changed, valid
// configuration to the rollout manager; a bad one is logged and ignored.
func watchConfig(ctx context.Context, file string, mgr *rollout.Manager, fill func([]rollout.ServiceConfig) []rollout.ServiceConfig, log *slog.Logger) error {
	last, _ := os.ReadFile(file)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		b, err := os.ReadFile(file)
		if err != nil || bytes.Equal(b, last) {
			continue
		}
		last = b
		// The VANE_* variables apply as at start (a fresh viper reads
		// them); the flags set only top-level settings a reload ignores.
		cfg, err := config.Parse(file, b, viper.New())
		if err != nil {
			log.Error("Configuration changed but is invalid; keeping the running one", "file", file, "err", err)
			continue
		}
		if err := mgr.Reconcile(fill(cfg.ServiceConfigs())); err != nil {
			log.Error("Configuration changed but could not be applied", "file", file, "err", err)
			continue
		}
		log.Info("Configuration reloaded", "file", file)
	}
}

// PromHTTPClientConfig is vane.yaml's prometheus HTTP client settings,
// prometheus/common's own configuration (validated, paths resolved).
func PromHTTPClientConfig(cfg *config.Config) promconfig.HTTPClientConfig {
	return cfg.Prometheus.HTTPClient
}

// externalURL is where alerts' generatorURL points: prometheus.external_url,
// or the embedded Prometheus's API on http.listen.
func externalURL(cfg *config.Config) string {
	if cfg.Prometheus.ExternalURL != "" {
		return cfg.Prometheus.ExternalURL
	}
	return listenURL(cfg) + "/prometheus"
}

// listenURL is vane run's HTTP base URL from http.listen, with localhost
// for an unspecified host.
func listenURL(cfg *config.Config) string {
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme := "http"
	if cfg.HTTP.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// RunbookBaseURL is where vane run serves the SLOs' runbooks: next to
// prometheus.external_url when it ends in /prometheus (the same proxy
// serves both), else on http.listen.
func RunbookBaseURL(cfg *config.Config) string {
	if base, ok := strings.CutSuffix(strings.TrimRight(cfg.Prometheus.ExternalURL, "/"), "/prometheus"); ok {
		return base + "/runbooks"
	}
	return listenURL(cfg) + "/runbooks"
}

// runbooks serves the runbook of every SLO as Markdown under
// /<service>-<slo>.md, and their list at /.
func runbooks(slos []*slo.SLO, base string) (http.Handler, error) {
	files, err := dashboards.Generate(slos, dashboards.Options{RunbookBaseURL: base})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	var index strings.Builder
	index.WriteString("# Runbooks\n\n")
	for _, f := range files {
		name, ok := strings.CutPrefix(f.Name, "runbooks/")
		if !ok {
			continue
		}
		data := f.Data
		fmt.Fprintf(&index, "- [%s](%s)\n", strings.TrimSuffix(name, ".md"), name)
		mux.HandleFunc("GET /"+name, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			_, _ = w.Write(data)
		})
	}
	idx := index.String()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		_, _ = w.Write([]byte(idx))
	})
	return mux, nil
}
