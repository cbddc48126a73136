package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promcfg "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/strutil"
	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/analysis"
)

// EmbeddedMinCoverage is the coverage guard (slo.GenerateOptions.MinCoverage)
// of the SLO rules the embedded Prometheus evaluates: it may start on an
// empty TSDB, and a tier waits until the SLI has had data over half its long
// window, so that a short outage soon after a start does not page as if the
// windows were full.
const EmbeddedMinCoverage = 0.5

// Defaults of EmbeddedConfig.
const (
	DefaultScrapeInterval     = 5 * time.Second
	DefaultEvaluationInterval = 5 * time.Second
	DefaultRetention          = 15 * 24 * time.Hour
	DefaultQueryTimeout       = 2 * time.Minute
	DefaultLookbackDelta      = 5 * time.Minute
	DefaultMaxSamples         = 50_000_000
)

// ScrapeJob is one static scrape job of the embedded Prometheus.
type ScrapeJob struct {
	// Name is the job label; unique among jobs.
	Name string
	// Targets are host:port addresses.
	Targets []string
	// Labels are added to every series scraped from the targets.
	Labels map[string]string
	// Interval overrides EmbeddedConfig.ScrapeInterval for this job.
	Interval time.Duration
	// Timeout bounds a scrape; default the job's interval.
	Timeout time.Duration
	// MetricsPath is the HTTP path; default /metrics.
	MetricsPath string
	// Scheme is http (default) or https.
	Scheme string
}

// EmbeddedConfig configures the in-process Prometheus. Zero fields take
// their defaults.
type EmbeddedConfig struct {
	// DataDir holds the TSDB. Empty means a new temporary directory that
	// Close removes.
	DataDir string
	// Retention is how long samples are kept; default 15d.
	Retention time.Duration
	// ScrapeInterval is the default scrape interval; default 5s.
	ScrapeInterval time.Duration
	// EvaluationInterval is how often rule groups without their own
	// interval are evaluated; default 5s.
	EvaluationInterval time.Duration
	// Jobs are the static scrape jobs.
	Jobs []ScrapeJob
	// RuleFiles are Prometheus rule files (paths or globs, each matching at
	// least one file), such as the ones `vane slo generate` writes;
	// recording rules and alerts run in-process.
	RuleFiles []string
	// ExternalLabels are added to alerts, as Prometheus's external_labels.
	ExternalLabels map[string]string
	// ExternalURL is the URL alerts link back to; default http://localhost/.
	ExternalURL string
	// QueryTimeout bounds one PromQL evaluation; default 2m.
	QueryTimeout time.Duration
	// LookbackDelta is how far back an instant selector looks for a sample;
	// default 5m, as in Prometheus.
	LookbackDelta time.Duration
	// MaxSamples bounds the samples one query may load; default 50 million.
	MaxSamples int
	// Registerer receives Prometheus's own metrics (prometheus_tsdb_*,
	// prometheus_engine_*, prometheus_target_*, prometheus_rule_*). Nil
	// keeps them in a private registry.
	Registerer prometheus.Registerer
	// Notify, when set, receives the alerts the rule manager sends after
	// each evaluation (firing alerts, resent periodically, and resolved
	// ones), as Prometheus would send them to Alertmanager.
	Notify func(ctx context.Context, alerts []Alert)
}

// Alert is an alert of the embedded rule manager.
type Alert struct {
	// Name is the alerting rule's name (the alertname label).
	Name        string            `json:"name"`
	State       string            `json:"state"` // "pending" or "firing"; "inactive" once resolved
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Value is the alert expression's value at the last evaluation.
	Value    float64   `json:"value"`
	ActiveAt time.Time `json:"activeAt"`
	FiredAt  time.Time `json:"firedAt,omitzero"`
	// ResolvedAt is zero while the alert is active.
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
	// ValidUntil is when the alert should count as resolved if it is not
	// sent again (Alertmanager's endsAt for an active alert).
	ValidUntil time.Time `json:"validUntil,omitzero"`
	// GeneratorURL links to the alert's expression on the external URL; it
	// is set on the alerts given to Notify and returned by Alerts.
	GeneratorURL string `json:"generatorURL,omitempty"`
}

// Embedded is Prometheus run as a library: a TSDB, the scrape manager, the
// PromQL engine and the rule manager. It implements analysis.Querier.
//
// Create it with NewEmbedded, call Run (which blocks until its context
// ends) to scrape and evaluate rules, and Close it to release the TSDB.
// Queries work as soon as NewEmbedded returns, also without Run.
type Embedded struct {
	cfg        EmbeddedConfig
	o          options
	plogger    *slog.Logger
	tempDir    string
	db         *tsdb.DB
	engine     *promql.Engine
	parser     parser.Parser
	scrape     *scrape.Manager
	rules      *rules.Manager
	tsets      chan map[string][]*targetgroup.Group
	externalLb labels.Labels
	externalU  *url.URL

	mu        sync.RWMutex // guards the fields below; queries hold it shared
	running   bool
	closed    bool
	ruleFiles []string
	stopped   chan struct{} // closed when Run has stopped its managers
	stopRun   context.CancelFunc

	tsetsMu sync.Mutex
	started time.Time
	dbStats *tsdb.DBStats
	// promCfg is the configuration last applied, for /api/v1/status/config.
	promCfg atomic.Pointer[promcfg.Config]

	reg *trackingRegisterer
	// queriesCtx is cancelled by Close so that running queries end at once.
	queriesCtx    context.Context
	cancelQueries context.CancelFunc
}

// trackingRegisterer remembers what it registered so it can unregister it.
type trackingRegisterer struct {
	prometheus.Registerer
	mu  sync.Mutex
	cs  []prometheus.Collector
	err error
}

func (r *trackingRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registerer.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
	return nil
}

// MustRegister records a failure instead of panicking; NewEmbedded reports
// it as an error.
func (r *trackingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			r.mu.Lock()
			r.err = errors.Join(r.err, err)
			r.mu.Unlock()
		}
	}
}

// failed returns the registration failures so far.
func (r *trackingRegisterer) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		return nil
	}
	return fmt.Errorf("prom: embedded: registering Prometheus's metrics (is another embedded Prometheus using this registry?): %w", r.err)
}

func (r *trackingRegisterer) Unregister(c prometheus.Collector) bool {
	r.mu.Lock()
	r.cs = slices.DeleteFunc(r.cs, func(x prometheus.Collector) bool { return x == c })
	r.mu.Unlock()
	return r.Registerer.Unregister(c)
}

func (r *trackingRegisterer) unregisterAll() {
	r.mu.Lock()
	cs := r.cs
	r.cs = nil
	r.mu.Unlock()
	for _, c := range cs {
		r.Registerer.Unregister(c)
	}
}

var _ analysis.Querier = (*Embedded)(nil)

func (c EmbeddedConfig) withDefaults() (EmbeddedConfig, error) {
	if c.Retention < 0 || c.ScrapeInterval < 0 || c.EvaluationInterval < 0 || c.QueryTimeout < 0 || c.LookbackDelta < 0 || c.MaxSamples < 0 {
		return c, errors.New("prom: embedded: durations and max samples must not be negative")
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.ScrapeInterval == 0 {
		c.ScrapeInterval = DefaultScrapeInterval
	}
	if c.EvaluationInterval == 0 {
		c.EvaluationInterval = DefaultEvaluationInterval
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.LookbackDelta == 0 {
		c.LookbackDelta = DefaultLookbackDelta
	}
	if c.MaxSamples == 0 {
		c.MaxSamples = DefaultMaxSamples
	}
	if c.ExternalURL == "" {
		c.ExternalURL = "http://localhost/"
	}
	return c, nil
}

// NewEmbedded checks cfg, opens the TSDB and builds the engine and the
// scrape and rule managers; rule files are parsed now, so a bad file is an
// error naming it. Nothing is scraped or evaluated until Run.
func NewEmbedded(cfg EmbeddedConfig, opts ...Option) (_ *Embedded, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Embedded{cfg: cfg, o: buildOptions(opts), parser: parser.NewParser(parser.Options{}),
		tsets: make(chan map[string][]*targetgroup.Group, 1), ruleFiles: slices.Clone(cfg.RuleFiles)}
	e.queriesCtx, e.cancelQueries = context.WithCancel(context.Background())
	e.started = time.Now().UTC()
	e.dbStats = tsdb.NewDBStats()
	// Prometheus's components log every start, stop and reload at info;
	// Vane logs them at debug and keeps its own info lines.
	e.plogger = slog.New(levelShift{e.o.logger.Handler()}).With("component", "embedded-prometheus")
	if e.externalU, err = url.Parse(cfg.ExternalURL); err != nil {
		return nil, fmt.Errorf("prom: embedded: external url %q: %w", cfg.ExternalURL, err)
	}
	e.externalLb = labels.FromMap(cfg.ExternalLabels)
	if err := e.checkRuleFiles(cfg.RuleFiles); err != nil {
		return nil, err
	}
	promCfg, err := e.promConfig(cfg.Jobs)
	if err != nil {
		return nil, err
	}
	var parent prometheus.Registerer = prometheus.NewRegistry()
	if cfg.Registerer != nil {
		parent = cfg.Registerer
	}
	// Prometheus's components do not unregister their metrics; the
	// tracking registerer does it on Close (or a failed start), so an
	// Embedded can be made again on the same registry.
	reg := &trackingRegisterer{Registerer: parent}
	e.reg = reg
	defer func() {
		if err != nil {
			reg.unregisterAll()
		}
	}()
	// Prometheus's components panic when their metrics are registered
	// twice; this gauge finds another embedded Prometheus on the registry
	// first, and a panic left over becomes an error.
	up := newEmbeddedOpenGauge()
	if rerr := reg.Register(up); rerr != nil {
		return nil, fmt.Errorf("prom: embedded: another embedded Prometheus already uses this registry: %w", rerr)
	}
	up.Set(1)
	defer func() {
		if r := recover(); r != nil {
			rerr, ok := r.(error)
			var dup prometheus.AlreadyRegisteredError
			if !ok || !(errors.As(rerr, &dup) || strings.Contains(rerr.Error(), "registration")) {
				panic(r)
			}
			err = fmt.Errorf("prom: embedded: registering Prometheus's metrics: %w", rerr)
			if e.db != nil {
				_ = e.db.Close()
			}
			reg.unregisterAll()
			if e.tempDir != "" {
				_ = os.RemoveAll(e.tempDir)
			}
		}
	}()

	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vane-prometheus-"); err != nil {
			return nil, fmt.Errorf("prom: embedded: data dir: %w", err)
		}
		e.tempDir = dir
	}
	defer func() {
		if err != nil && e.tempDir != "" {
			_ = os.RemoveAll(e.tempDir)
		}
	}()
	topts := tsdb.DefaultOptions()
	topts.RetentionDuration = cfg.Retention.Milliseconds()
	if e.db, err = tsdb.Open(dir, e.plogger.With("component", "tsdb"), reg, topts, e.dbStats); err != nil {
		return nil, fmt.Errorf("prom: embedded: open tsdb in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = e.db.Close()
		}
	}()
	if err := reg.failed(); err != nil {
		return nil, err
	}

	evalMs := cfg.EvaluationInterval.Milliseconds()
	e.engine = promql.NewEngine(promql.EngineOpts{
		Logger:                   e.plogger.With("component", "query engine"),
		Reg:                      reg,
		MaxSamples:               cfg.MaxSamples,
		Timeout:                  cfg.QueryTimeout,
		LookbackDelta:            cfg.LookbackDelta,
		NoStepSubqueryIntervalFn: func(int64) int64 { return evalMs },
		// Always on in Prometheus since v2.33.
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               e.parser,
	})

	e.scrape, err = scrape.NewManager(&scrape.Options{
		DiscoveryReloadInterval:  model.Duration(time.Second),
		DiscoveryReloadOnStartup: true,
	}, e.plogger.With("component", "scrape manager"), nil, nil, e.db, reg)
	if err != nil {
		return nil, fmt.Errorf("prom: embedded: scrape manager: %w", err)
	}
	if err := e.applyScrape(promCfg); err != nil {
		return nil, err
	}

	e.rules = rules.NewManager(&rules.ManagerOptions{
		AppendableV2: e.db,
		Queryable:    e.db,
		QueryFunc:    rules.EngineQueryFunc(e.engine, e.db),
		NotifyFunc:   e.notify,
		Context:      context.Background(),
		ExternalURL:  e.externalU,
		Registerer:   reg,
		Logger:       e.plogger.With("component", "rule manager"),
		// Prometheus's flag defaults.
		OutageTolerance: time.Hour,
		ForGracePeriod:  10 * time.Minute,
		ResendDelay:     time.Minute,
		Parser:          e.parser,
	})
	if err := reg.failed(); err != nil {
		e.scrape.Stop()
		return nil, err
	}
	return e, nil
}

// levelShift lowers Prometheus's info logs to debug.
type levelShift struct{ slog.Handler }

func (h levelShift) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return h.Handler.Enabled(ctx, l)
}

func (h levelShift) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h levelShift) WithAttrs(as []slog.Attr) slog.Handler {
	return levelShift{h.Handler.WithAttrs(as)}
}

func (h levelShift) WithGroup(name string) slog.Handler { return levelShift{h.Handler.WithGroup(name)} }

// checkRuleFiles parses the rule files, so that an error names the file and
// the rule before anything runs.
func (e *Embedded) checkRuleFiles(files []string) error {
	for _, pat := range files {
		m, err := globFiles(pat)
		if err != nil {
			return err
		}
		if len(m) == 0 {
			return fmt.Errorf("prom: embedded: rule file %q: no such file", pat)
		}
	}
	if err := rules.ParseFiles(files, model.UTF8Validation, e.parser, e.plogger); err != nil {
		return fmt.Errorf("prom: embedded: %w", err)
	}
	return nil
}

func globFiles(pat string) ([]string, error) {
	m, err := filepath.Glob(pat)
	if err != nil {
		return nil, fmt.Errorf("prom: embedded: rule file pattern %q: %w", pat, err)
	}
	return m, nil
}

// promConfig renders jobs as a Prometheus configuration and loads it with
// Prometheus's own loader, so defaults and validation are Prometheus's.
func (e *Embedded) promConfig(jobs []ScrapeJob) (*promcfg.Config, error) {
	type static struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels,omitempty"`
	}
	type job struct {
		JobName        string   `yaml:"job_name"`
		ScrapeInterval string   `yaml:"scrape_interval,omitempty"`
		ScrapeTimeout  string   `yaml:"scrape_timeout,omitempty"`
		MetricsPath    string   `yaml:"metrics_path,omitempty"`
		Scheme         string   `yaml:"scheme,omitempty"`
		StaticConfigs  []static `yaml:"static_configs"`
	}
	dur := func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return model.Duration(d).String()
	}
	doc := struct {
		Global        map[string]string `yaml:"global"`
		ScrapeConfigs []job             `yaml:"scrape_configs,omitempty"`
	}{Global: map[string]string{
		"scrape_interval":     dur(e.cfg.ScrapeInterval),
		"evaluation_interval": dur(e.cfg.EvaluationInterval),
	}}
	for i, j := range jobs {
		if j.Name == "" {
			return nil, fmt.Errorf("prom: embedded: jobs[%d]: name is empty", i)
		}
		if len(j.Targets) == 0 {
			return nil, fmt.Errorf("prom: embedded: jobs[%d] (%s): no targets", i, j.Name)
		}
		interval := j.Interval
		if interval <= 0 {
			interval = e.cfg.ScrapeInterval
		}
		timeout := j.Timeout
		if timeout <= 0 {
			timeout = interval
		}
		doc.ScrapeConfigs = append(doc.ScrapeConfigs, job{
			JobName: j.Name, ScrapeInterval: dur(interval), ScrapeTimeout: dur(timeout),
			MetricsPath: j.MetricsPath, Scheme: j.Scheme,
			StaticConfigs: []static{{Targets: j.Targets, Labels: j.Labels}},
		})
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("prom: embedded: scrape config: %w", err)
	}
	c, err := promcfg.Load(string(b), e.plogger)
	if err != nil {
		return nil, fmt.Errorf("prom: embedded: scrape jobs: %w", err)
	}
	return c, nil
}

// applyScrape hands the configuration to the scrape manager and queues its
// static targets.
func (e *Embedded) applyScrape(c *promcfg.Config) error {
	if err := e.scrape.ApplyConfig(c); err != nil {
		return fmt.Errorf("prom: embedded: apply scrape config: %w", err)
	}
	e.promCfg.Store(c)
	sets := make(map[string][]*targetgroup.Group, len(c.ScrapeConfigs))
	for _, sc := range c.ScrapeConfigs {
		groups := []*targetgroup.Group{}
		for _, sd := range sc.ServiceDiscoveryConfigs {
			if st, ok := sd.(discovery.StaticConfig); ok {
				for i, g := range st {
					g.Source = fmt.Sprintf("%s/%d", sc.JobName, i)
					groups = append(groups, g)
				}
			}
		}
		sets[sc.JobName] = groups
	}
	e.tsetsMu.Lock()
	defer e.tsetsMu.Unlock()
	select { // keep only the newest target sets
	case <-e.tsets:
	default:
	}
	e.tsets <- sets
	return nil
}

// SetScrapeJobs replaces the scrape jobs, as a configuration reload does.
// Invalid jobs are an error and change nothing.
func (e *Embedded) SetScrapeJobs(jobs []ScrapeJob) error {
	c, err := e.promConfig(jobs)
	if err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return errors.New("prom: embedded: closed")
	}
	return e.applyScrape(c)
}

// SetRuleFiles replaces the rule files. They are parsed first; an invalid
// file is an error naming it and the running rules stay as they were.
func (e *Embedded) SetRuleFiles(files []string) error {
	if err := e.checkRuleFiles(files); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("prom: embedded: closed")
	}
	e.ruleFiles = slices.Clone(files)
	if e.running {
		return e.updateRules()
	}
	return nil
}

// updateRules loads e.ruleFiles into the rule manager; e.mu is held.
func (e *Embedded) updateRules() error {
	var files []string
	for _, pat := range e.ruleFiles {
		m, err := globFiles(pat)
		if err != nil {
			return err
		}
		files = append(files, m...)
	}
	if err := e.rules.Update(e.cfg.EvaluationInterval, files, e.externalLb, e.externalU.String(), nil); err != nil {
		return fmt.Errorf("prom: embedded: load rules %s: %w", strings.Join(files, ", "), err)
	}
	return nil
}

// Run scrapes the targets and evaluates the rules until ctx ends, then
// stops scraping and rule evaluation and returns. Close releases the TSDB
// afterwards. Run may be called once.
func (e *Embedded) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.closed || e.running {
		e.mu.Unlock()
		return errors.New("prom: embedded: Run called twice or after Close")
	}
	if err := e.updateRules(); err != nil {
		e.mu.Unlock()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.running = true
	e.stopped = make(chan struct{})
	e.stopRun = cancel
	e.mu.Unlock()

	var wg sync.WaitGroup
	scrapeErr := make(chan error, 1)
	wg.Go(func() { scrapeErr <- e.scrape.Run(e.tsets) })
	wg.Go(e.rules.Run)
	wg.Go(func() { e.watchTargets(ctx, e.cfg.ScrapeInterval) })
	if e.o.metrics != nil {
		wg.Go(func() { e.countAlerts(ctx) })
	}
	e.o.logger.Info("Embedded Prometheus running", "data_dir", e.db.Dir(), "jobs", len(e.cfg.Jobs), "rule_files", len(e.ruleFiles))

	var err error
	select {
	case <-ctx.Done():
	case err = <-scrapeErr:
		if err != nil {
			err = fmt.Errorf("prom: embedded: scrape manager: %w", err)
		}
	}
	cancel()
	// Scraping stops first so that nothing writes to the TSDB, then the
	// rules, as Prometheus orders its shutdown.
	e.scrape.Stop()
	e.rules.Stop()
	wg.Wait()
	close(e.stopped)
	e.o.logger.Info("Embedded Prometheus stopped")
	return err
}

// Close stops what Run started (waiting for Run to return), closes the
// TSDB and removes the temporary data directory if one was made. It is
// safe to call more than once.
func (e *Embedded) Close() error {
	e.cancelQueries()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	running, stopped, stopRun := e.running, e.stopped, e.stopRun
	e.mu.Unlock()
	if running {
		stopRun()
		<-stopped
	} else {
		// Never run: the rule manager has no groups yet, and the scrape
		// manager only its configuration.
		e.scrape.Stop()
	}
	err := e.db.Close()
	if err != nil {
		err = fmt.Errorf("prom: embedded: close tsdb: %w", err)
	}
	e.reg.unregisterAll()
	if e.tempDir != "" {
		if rerr := os.RemoveAll(e.tempDir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("prom: embedded: remove %s: %w", e.tempDir, rerr))
		}
	}
	return err
}

// DataDir is the TSDB directory.
func (e *Embedded) DataDir() string { return e.db.Dir() }

// Appender returns a TSDB appender, for importing samples (tests, backfill).
// Commit it to make the samples visible.
func (e *Embedded) Appender(ctx context.Context) storage.Appender { return e.db.Appender(ctx) }

// notify is the rule manager's NotifyFunc.
func (e *Embedded) notify(ctx context.Context, expr string, alerts ...*rules.Alert) {
	// No call into the rule manager here: this runs inside a group's
	// evaluation, and the manager holds its lock while it waits for
	// evaluations to end on Stop and Update.
	if e.cfg.Notify == nil || len(alerts) == 0 {
		return
	}
	out := make([]Alert, 0, len(alerts))
	// As Prometheus's sendAlerts (cmd/prometheus): the external URL plus a
	// link to the expression in the table view.
	generator := e.GeneratorURL(expr)
	for _, a := range alerts {
		al := alertFrom(a)
		al.GeneratorURL = generator
		// External labels are added on the way out, as Prometheus's
		// notifier does; an alert's own label wins.
		for k, v := range e.cfg.ExternalLabels {
			if _, ok := al.Labels[k]; !ok {
				al.Labels[k] = v
			}
		}
		out = append(out, al)
	}
	e.cfg.Notify(ctx, out)
}

// countAlerts keeps vane_prom_embedded_active_alerts up to date, once per
// evaluation interval, until ctx ends.
func (e *Embedded) countAlerts(ctx context.Context) {
	t := time.NewTicker(e.cfg.EvaluationInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		counts := map[string]float64{"pending": 0, "firing": 0}
		for _, a := range e.Alerts() {
			counts[a.State]++
		}
		for s, n := range counts {
			e.o.metrics.ActiveAlerts.WithLabelValues(s).Set(n)
		}
	}
}

func alertFrom(a *rules.Alert) Alert {
	al := Alert{
		Name:        a.Labels.Get(labels.AlertName),
		State:       a.State.String(),
		Labels:      a.Labels.Map(),
		Annotations: a.Annotations.Map(),
		Value:       a.Value,
		ActiveAt:    a.ActiveAt,
		FiredAt:     a.FiredAt,
		ResolvedAt:  a.ResolvedAt,
		ValidUntil:  a.ValidUntil,
	}
	if len(al.Annotations) == 0 {
		al.Annotations = nil
	}
	return al
}

// GeneratorURL is the link Prometheus puts in an alert on expr: the
// external URL plus the graph page of the expression (Prometheus's
// sendAlerts in cmd/prometheus does the same).
func (e *Embedded) GeneratorURL(expr string) string {
	return strings.TrimRight(e.externalU.String(), "/") + strutil.TableLinkForExpression(expr)
}

// Alerts returns the active (pending and firing) alerts, sorted by name and
// labels. It is what an on-call page is built from.
func (e *Embedded) Alerts() []Alert {
	var out []Alert
	for _, r := range e.rules.AlertingRules() {
		generator := e.GeneratorURL(r.Query().String())
		for _, a := range r.ActiveAlerts() {
			al := alertFrom(a)
			al.GeneratorURL = generator
			out = append(out, al)
		}
	}
	sortAlerts(out)
	return out
}

// sortAlerts orders alerts by name, then labels.
func sortAlerts(out []Alert) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return labels.FromMap(out[i].Labels).String() < labels.FromMap(out[j].Labels).String()
	})
}

// RuleGroups returns the names of the loaded rule groups with their last
// evaluation time and duration, for status pages.
func (e *Embedded) RuleGroups() []RuleGroupStatus {
	var out []RuleGroupStatus
	for _, g := range e.rules.RuleGroups() {
		out = append(out, RuleGroupStatus{
			File: g.File(), Name: g.Name(), Rules: len(g.Rules()),
			Interval: g.Interval(), LastEvaluation: g.GetLastEvaluation(), EvaluationTime: g.GetEvaluationTime(),
		})
	}
	return out
}

// RuleGroupStatus describes one loaded rule group.
type RuleGroupStatus struct {
	File, Name     string
	Rules          int
	Interval       time.Duration
	LastEvaluation time.Time
	EvaluationTime time.Duration
}

// eval runs one PromQL query under a shared lock, so Close waits for it.
//
// read runs on the result before the query is closed: closing returns the
// result's point slices to the engine's pools, where the next evaluation
// (a rule's, another query's) reuses them.
func (e *Embedded) eval(ctx context.Context, query string, build func(context.Context) (promql.Query, error), read func(*promql.Result) error) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return &QueryError{Kind: KindServer, Source: "embedded", Query: query, Attempts: 1, Err: errors.New("embedded Prometheus is closed")}
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.QueryTimeout)
	defer cancel()
	defer context.AfterFunc(e.queriesCtx, cancel)()
	q, err := build(ctx)
	if err != nil {
		return &QueryError{Kind: engineErrorKind(ctx, err), Source: "embedded", Query: query, Attempts: 1, Err: err}
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return &QueryError{Kind: engineErrorKind(ctx, res.Err), Source: "embedded", Query: query, Attempts: 1, Err: res.Err}
	}
	return read(res)
}

// engineErrorKind mirrors how Prometheus's HTTP API maps engine errors to
// error types (web/api/v1 returnAPIError).
func engineErrorKind(ctx context.Context, err error) ErrorKind {
	var (
		timeout  promql.ErrQueryTimeout
		canceled promql.ErrQueryCanceled
		stor     promql.ErrStorage
	)
	switch {
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return KindTimeout
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.As(err, &stor):
		return KindServer
	default: // parse and execution errors
		return KindBadQuery
	}
}

// Query implements analysis.Querier.
func (e *Embedded) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	if at.IsZero() { // as the HTTP API does without a time parameter
		at = time.Now()
	}
	at = apiTime(at)
	var out analysis.Vector
	err := e.eval(ctx, query, func(ctx context.Context) (promql.Query, error) {
		return e.engine.NewInstantQuery(ctx, e.db, nil, query, at)
	}, func(res *promql.Result) error {
		out.Warnings = warningsOf(res, query)
		switch v := res.Value.(type) {
		case promql.Vector:
			out.Samples = make([]analysis.Sample, 0, len(v))
			for _, s := range v {
				if s.H != nil {
					return &QueryError{Kind: KindBadResponse, Source: "embedded", Query: query, Attempts: 1,
						Err: fmt.Errorf("series %s is a native histogram; query histogram_quantile, histogram_count or histogram_sum of it", s.Metric)}
				}
				out.Samples = append(out.Samples, analysis.Sample{Labels: s.Metric.Map(), Value: s.F})
			}
		case promql.Scalar:
			out.Samples = []analysis.Sample{{Labels: map[string]string{}, Value: v.V}}
		default:
			return &QueryError{Kind: KindBadResponse, Source: "embedded", Query: query, Attempts: 1,
				Err: fmt.Errorf("instant query returned a %s, want a vector or scalar", res.Value.Type())}
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	if len(out.Samples) == 0 {
		out.Warnings = append(out.Warnings, e.downWarnings()...) // why the data may be missing
	}
	return out, nil
}

// QueryRange implements analysis.Querier.
func (e *Embedded) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	if step <= 0 {
		return analysis.Matrix{}, &QueryError{Kind: KindBadQuery, Source: "embedded", Query: query, Attempts: 1, Err: fmt.Errorf("step %s must be positive", step)}
	}
	if end.Before(start) {
		return analysis.Matrix{}, &QueryError{Kind: KindBadQuery, Source: "embedded", Query: query, Attempts: 1,
			Err: fmt.Errorf("end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))}
	}
	start, end = apiTime(start), apiTime(end)
	var out analysis.Matrix
	err := e.eval(ctx, query, func(ctx context.Context) (promql.Query, error) {
		return e.engine.NewRangeQuery(ctx, e.db, nil, query, start, end, step)
	}, func(res *promql.Result) error {
		out.Warnings = warningsOf(res, query)
		m, ok := res.Value.(promql.Matrix)
		if !ok {
			return &QueryError{Kind: KindBadResponse, Source: "embedded", Query: query, Attempts: 1,
				Err: fmt.Errorf("range query returned a %s, want a matrix", res.Value.Type())}
		}
		out.Series = make([]analysis.Series, 0, len(m))
		for _, s := range m {
			if len(s.Histograms) > 0 {
				return &QueryError{Kind: KindBadResponse, Source: "embedded", Query: query, Attempts: 1,
					Err: fmt.Errorf("series %s holds native histograms; query histogram_quantile, histogram_count or histogram_sum of it", s.Metric)}
			}
			pts := make([]analysis.Point, len(s.Floats))
			for i, p := range s.Floats {
				pts[i] = analysis.Point{T: time.UnixMilli(p.T).UTC(), V: p.F}
			}
			out.Series = append(out.Series, analysis.Series{Labels: s.Metric.Map(), Points: pts})
		}
		return nil
	})
	return out, err
}

// apiTime rounds t to the millisecond as Prometheus's HTTP API does with
// the times it is sent, so both adapters evaluate at the same instant.
func apiTime(t time.Time) time.Time {
	ms := (t.Nanosecond() + 500_000) / 1_000_000
	return time.Unix(t.Unix(), int64(ms)*1_000_000).UTC()
}

// warningsOf returns the result's warnings as Prometheus's API words them
// (at most 10, as the API sends).
func warningsOf(res *promql.Result, query string) []string {
	if len(res.Warnings) == 0 {
		return nil
	}
	w, _ := res.Warnings.AsStrings(query, 10, 10)
	if len(w) == 0 {
		return nil
	}
	return w
}

var _ io.Closer = (*Embedded)(nil)
