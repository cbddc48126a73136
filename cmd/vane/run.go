package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promconfig "github.com/prometheus/common/config"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/dashboards"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/slo"
	"github.com/vaneproj/vane/xds"
)

// shutdownBudget bounds the whole stop sequence after SIGTERM/SIGINT.
const shutdownBudget = 10 * time.Second

func newRunCmd(g *globals) *cobra.Command {
	var file string
	var check bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the controller: xDS server, rollout loops, HTTP API and UI, metrics",
		Long: `Run the controller described by vane.yaml (see examples/vane.yaml).

It starts, in order: the store, Prometheus (the URL given, or embedded and
fed by the scrape section), the xDS server, one rollout loop per rollout in
progress, the HTTP API (with the web UI, /metrics, /healthz and /readyz),
and a watcher that starts a rollout when a service's canary changes in the
file. SIGTERM or SIGINT stop them in the reverse order within 10 s; the
rollout state is consistent at any moment, also after SIGKILL.

Without -c, the configuration is the first of ./vane.yaml,
$XDG_CONFIG_HOME/vane/vane.yaml (~/.config/vane/vane.yaml) and
/etc/vane/vane.yaml that exists.

Every scalar setting of the file can also come from an environment
variable named after its path: VANE_ and the path in upper case with
underscores (http.listen is VANE_HTTP_LISTEN, prometheus.basic_auth.username
is VANE_PROMETHEUS_BASIC_AUTH_USERNAME); a flag beats the variable, which
beats the file. Flags: --http-listen, --xds-listen, --store-path,
--prometheus-url.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("config") {
				if file = g.v.GetString("config"); file == "" {
					f, err := config.Find()
					if err != nil {
						return err
					}
					file = f
				}
			}
			cfg, err := config.Load(file, g.v)
			if err != nil {
				return err
			}
			if check {
				if jsonOut(cmd) {
					return writeJSON(g.out, checkJSON(file, cfg))
				}
				jobs := len(cfg.Scrape.Jobs)
				promDesc := "embedded Prometheus (" + fmt.Sprint(jobs) + " scrape jobs)"
				if cfg.Prometheus.URL != "" {
					promDesc = "Prometheus at " + cfg.Prometheus.URL
				}
				if err := checkJudges(cmd.Context(), cfg, g.out); err != nil {
					return err
				}
				_, err := fmt.Fprintf(g.out, "%s: OK: %d services, %d SLOs, %s, xDS on %s, HTTP on %s, store %s\n",
					file, len(cfg.Services), len(cfg.Loaded), promDesc, cfg.XDS.Listen, cfg.HTTP.Listen, storeDesc(cfg))
				for _, w := range cfg.Warnings {
					fmt.Fprintf(g.errOut, "warning: %s\n", w)
				}
				return err
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings {
				log.Warn("Configuration: " + w)
			}
			return runController(cmd.Context(), cfg, log)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "configuration file (env VANE_CONFIG; default: the first of ./vane.yaml, $XDG_CONFIG_HOME/vane/vane.yaml, /etc/vane/vane.yaml)")
	f.BoolVar(&check, "check", false, "validate the configuration and exit")
	addJSONFlag(cmd, "--check's summary (with its warnings)")
	for _, key := range []string{"http.listen", "xds.listen", "store.path", "prometheus.url"} {
		f.String(config.FlagName(key), "", "overrides "+key+" (env "+config.EnvName(key)+")")
		_ = g.v.BindPFlag(key, f.Lookup(config.FlagName(key)))
	}
	return cmd
}

// component is one running part of the controller.
type component struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// runGroup starts components and stops them in the reverse order of their
// start, as Prometheus's run group does (cmd/prometheus/main.go).
type runGroup struct {
	log   *slog.Logger
	comps []*component
	fail  chan *component
}

func (g *runGroup) start(parent context.Context, name string, run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	c := &component{name: name, cancel: cancel, done: make(chan struct{})}
	g.comps = append(g.comps, c)
	go func() {
		defer close(c.done)
		c.err = run(ctx)
		if ctx.Err() == nil {
			select {
			case g.fail <- c:
			default:
			}
		}
	}()
}

// stop ends every component, last started first, within the deadline.
func (g *runGroup) stop(deadline time.Time) error {
	var errs []error
	for i := len(g.comps) - 1; i >= 0; i-- {
		c := g.comps[i]
		start := time.Now()
		c.cancel()
		select {
		case <-c.done:
			if c.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.name, c.err))
			}
			g.log.Debug("Stopped", "component", c.name, "took", time.Since(start))
		case <-time.After(time.Until(deadline)):
			errs = append(errs, fmt.Errorf("%s did not stop within the shutdown budget of %s", c.name, shutdownBudget))
		}
	}
	return errors.Join(errs...)
}

// runController wires and runs everything until ctx ends.
func runController(ctx context.Context, cfg *config.Config, log *slog.Logger) (err error) {
	return runControllerWith(ctx, cfg, log, prometheus.NewRegistry())
}

// registry is what the controller registers its metrics with and serves
// on /metrics.
type registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

// runControllerWith is runController with the metrics registry given.
func runControllerWith(ctx context.Context, cfg *config.Config, log *slog.Logger, reg registry) (err error) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBuildInfo())

	// 1. Store.
	db, elector, err := openStore(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()

	g := &runGroup{log: log, fail: make(chan *component, 1)}

	// 2. Prometheus.
	var querier analysis.Querier
	var embedded *prom.Embedded
	if cfg.Prometheus.URL != "" {
		hc := prom.HTTPConfig{URL: cfg.Prometheus.URL, Timeout: cfg.Prometheus.Timeout.D(), Client: promHTTPClientConfig(cfg)}
		q, err := prom.NewInstrumentedHTTP(hc, prom.WithLogger(log.With("component", "prometheus")), prom.WithMetrics(prom.NewMetrics(reg)))
		if err != nil {
			return err
		}
		querier = q
	} else {
		ec := prom.EmbeddedConfig{DataDir: cfg.Resolve(cfg.Prometheus.DataDir), Retention: cfg.Prometheus.Retention.D(),
			ScrapeInterval: cfg.Scrape.Interval.D(), Registerer: reg,
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
			rules, remove, err := sloRuleFile(cfg.Loaded, sources, runbookBaseURL(cfg))
			if err != nil {
				return err
			}
			defer remove()
			ec.RuleFiles = append(ec.RuleFiles, rules)
		}
		// Alerts are logged in any case and sent when alertmanager.url is set.
		var am *prom.AlertmanagerClient
		if u := cfg.Alertmanager.URL; u != "" {
			if am, err = prom.NewAlertmanagerClient(prom.AlertmanagerConfig{URL: u, Logger: log.With("component", "alertmanager"), Registerer: reg}); err != nil {
				return err
			}
		}
		ec.Notify = prom.NotifyAlerts(am, log.With("component", "alerts"))
		for _, j := range cfg.Scrape.Jobs {
			ec.Jobs = append(ec.Jobs, prom.ScrapeJob{Name: j.Name, Targets: j.Targets, Labels: j.Labels, Interval: j.Interval.D(), MetricsPath: j.MetricsPath})
		}
		pm := prom.NewMetrics(reg)
		e, err := prom.NewEmbedded(ec, prom.WithLogger(log.With("component", "prometheus")), prom.WithMetrics(pm))
		if err != nil {
			return err
		}
		defer func() {
			if cerr := e.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}()
		embedded, querier = e, prom.Instrument(e, pm, "embedded")
		g.start(ctx, "embedded prometheus", embedded.Run)
	}

	// 3. xDS server.
	xs, err := xds.New(xds.Options{
		Listen:       cfg.XDS.Listen,
		CertFile:     cfg.Resolve(cfg.XDS.CertFile),
		KeyFile:      cfg.Resolve(cfg.XDS.KeyFile),
		ClientCAFile: cfg.Resolve(cfg.XDS.ClientCAFile),
		Logger:       log.With("component", "xds"),
		Registerer:   reg,
	})
	if err != nil {
		return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
	}
	xaddr, err := xs.Listen()
	if err != nil {
		return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
	}
	g.start(ctx, "xds server", xs.Run)
	kw, err := kubeEndpoints(ctx, cfg, xs, reg, log)
	if err != nil {
		return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
	}

	// 4. Rollout loops.
	slos := &slo.Evaluator{SLOs: cfg.Loaded, Querier: analysis.SLOQuerier(querier), Timeout: cfg.Prometheus.Timeout.D()}
	mgr, err := rollout.NewManager(rollout.Options{Router: kw.router, Querier: querier, Store: db, Budget: slos.Budget,
		Metrics: rollout.NewMetrics(reg), Logger: log.With("component", "rollout"),
		MinProxies: cfg.XDS.MinProxiesOrDefault(), Preflight: true}, kw.fill(cfg.ServiceConfigs()))
	if err != nil {
		return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
	}
	if elector == nil {
		g.start(ctx, "rollout controller", mgr.Run)
	}
	kw.start(ctx, g, mgr.Reconcile, log.With("component", "kube"))

	// 4b. Autoscalers: their actuators stop after them.
	actx, stopActuators := context.WithCancel(context.WithoutCancel(ctx))
	g.start(ctx, "autoscale actuators", func(c context.Context) error { <-c.Done(); stopActuators(); return nil })
	deps := autoscaleDeps{cfg: cfg, querier: querier, slos: autoscale.EvaluatorSLO{Evaluator: slos}, rollouts: mgr, db: db,
		reg: reg, log: log, actuators: actuatorFactory(cfg, xs, mgr, reg, log)}
	var rollouts api.Rollouts = mgr
	var autoscalers api.Autoscalers
	if elector == nil {
		am, err := newAutoscalers(actx, deps)
		if err != nil {
			return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
		}
		autoscalers = am
		g.start(ctx, "autoscalers", am.Run)
	} else {
		// Several replicas on etcd: only the leader runs the loops, and
		// builds the autoscalers when its term starts; losing the lead ends
		// the process (its supervisor starts it again as a follower).
		has := &haAutoscalers{el: elector}
		rollouts, autoscalers = haRollouts{mgr: mgr, el: elector, db: db}, has
		g.start(ctx, "leader election", func(ctx context.Context) error {
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
		if mounts["/runbooks/"], err = runbooks(cfg.Loaded, runbookBaseURL(cfg)); err != nil {
			return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
		}
	}
	srv, err := api.New(api.Options{Mounts: mounts, Rollouts: rollouts, SLOs: slos, Autoscalers: autoscalers, TokenFile: cfg.Resolve(cfg.HTTP.TokenFile),
		CertFile: cfg.Resolve(cfg.HTTP.CertFile), KeyFile: cfg.Resolve(cfg.HTTP.KeyFile),
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), Ready: mgr.Ready, Registerer: reg,
		Logger: log.With("component", "api")})
	if err != nil {
		return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
	}
	haddr, err := srv.Listen(cfg.HTTP.Listen)
	if err != nil {
		return errors.Join(err, g.stop(time.Now().Add(shutdownBudget)))
	}
	g.start(ctx, "http api", func(ctx context.Context) error { return srv.Run(ctx, "") })

	// 6. The configuration watcher.
	g.start(ctx, "config watcher", func(ctx context.Context) error { return watchConfig(ctx, cfg.File, mgr, kw.fill, log) })

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

	var failed *component
	select {
	case <-ctx.Done():
		log.Info("Shutting down", "budget", shutdownBudget)
	case failed = <-g.fail:
		log.Error("Component stopped; shutting down", "component", failed.name, "err", failed.err)
	}
	start := time.Now()
	stopErr := g.stop(start.Add(shutdownBudget))
	log.Info("Stopped", "took", time.Since(start).Round(time.Millisecond))
	if failed != nil {
		return errors.Join(fmt.Errorf("%s: %w", failed.name, failed.err), stopErr)
	}
	return stopErr
}

// checkJudges verifies every service's judges on its stable version's live
// series (analysis.Preflight) when prometheus.url is set and answers. A
// judge that could never see a failure is an error; an unreachable
// Prometheus is reported and verified again before each rollout starts.
func checkJudges(ctx context.Context, cfg *config.Config, out io.Writer) error {
	var specs int
	for _, s := range cfg.Services {
		specs += len(s.Rollout.Analysis.Specs())
	}
	if specs == 0 {
		return nil
	}
	if cfg.Prometheus.URL == "" {
		_, err := fmt.Fprintln(out, "judges: not verified now (the embedded Prometheus starts with vane run); each rollout verifies them before it starts")
		return err
	}
	q, err := prom.NewHTTPQuerier(prom.HTTPConfig{URL: cfg.Prometheus.URL, Timeout: cfg.Prometheus.Timeout.D(), Client: promHTTPClientConfig(cfg)})
	if err != nil {
		return err
	}
	now := time.Now()
	var errs []error
	for _, s := range cfg.Services {
		a := s.Rollout.Analysis
		vars := analysis.Vars{Service: s.Name, Stable: a.LabelValue(s.Stable.Version)}
		for _, spec := range a.Specs() {
			err := analysis.Preflight(ctx, q, spec.WithProtocol(string(s.Protocol)), vars, now)
			var pe *analysis.PreflightError
			switch {
			case err == nil:
				if _, err := fmt.Fprintf(out, "service %s: judge %s: verified on %s's live series\n", s.Name, spec.WithDefaults().Name, s.Stable.Version); err != nil {
					return err
				}
			case errors.As(err, &pe):
				errs = append(errs, fmt.Errorf("service %s: %w", s.Name, err))
			default:
				if _, err := fmt.Fprintf(out, "service %s: judges not verified: %v (each rollout verifies them before it starts)\n", s.Name, err); err != nil {
					return err
				}
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", cfg.File, errors.Join(errs...))
	}
	return nil
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

// promHTTPClientConfig is vane.yaml's prometheus HTTP client settings,
// prometheus/common's own configuration (validated, paths resolved).
func promHTTPClientConfig(cfg *config.Config) promconfig.HTTPClientConfig {
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

// runbookBaseURL is where vane run serves the SLOs' runbooks: next to
// prometheus.external_url when it ends in /prometheus (the same proxy
// serves both), else on http.listen.
func runbookBaseURL(cfg *config.Config) string {
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
