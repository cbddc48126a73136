package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/demo/sampleapp"
	"github.com/vaneproj/vane/internal/controller"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/slo"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// WorldConfig configures the demo's world: the sample service's versions,
// the controller that routes and judges them (built by package controller
// from a configuration, as vane run's is) and the load generator that
// reaches them through a gRPC xDS client.
type WorldConfig struct {
	// Service is the routed service's name (default "demo"); the load
	// generator dials xds:///<Service> and every scraped series carries
	// service=<Service>.
	Service string
	// Versions are the sample app instances to start, one per version.
	// Loggers left nil get the world's logger.
	Versions []sampleapp.Config
	// Stable is the version that takes all traffic at first; default the
	// first of Versions.
	Stable string
	// Plan is the service's rollout plan (default: rollout's default plan).
	Plan rollout.Plan
	// SLOs are the SLOs the controller's embedded Prometheus evaluates
	// (their recording and alerting rules) and its API reports; Sources
	// names the spec files they came from.
	SLOs       []*slo.SLO
	SLOSources []string
	// ScrapeInterval is the embedded Prometheus's scrape and rule
	// evaluation interval (default 2s).
	ScrapeInterval time.Duration
	// Rate is the load generator's steady rate in calls per second
	// (default 50).
	Rate float64
	// SlowThreshold counts calls slower than it as bad for users (default
	// 100ms; see loadgen.Config).
	SlowThreshold time.Duration
	// HTTPListen is the address of the controller's HTTP API, web UI,
	// /metrics and Prometheus query API (default 127.0.0.1:0, a free port).
	HTTPListen string
	// Registry receives Vane's own metrics and is served on /metrics; nil
	// means a new registry.
	Registry controller.Registry
	// OnEvent receives every rollout event; WrapRouter wraps the router
	// the rollouts apply routings through; Autoscalers are what the API
	// serves under /api/v1/autoscalers (see controller.Options).
	OnEvent     func(rollout.Event)
	WrapRouter  func(traffic.Router) traffic.Router
	Autoscalers api.Autoscalers
	// Logger receives the components' logs; nil discards.
	Logger *slog.Logger
}

// World is the running demo world. Create it with StartWorld and stop it
// with Close.
type World struct {
	// Controller is Vane's controller, wired by package controller as
	// vane run's: store, embedded Prometheus, xDS server, rollout loops,
	// HTTP API.
	Controller *controller.Controller
	// Prom is the controller's embedded Prometheus scraping every version;
	// it is the analysis.Querier the judges read.
	Prom *prom.Embedded
	// XDS is the controller's xDS server; it is the traffic.Router
	// rollouts drive.
	XDS *xds.Server
	// HTTP is the base URL of the controller's HTTP endpoints.
	HTTP string
	// Load is the load generator, already running at the configured rate.
	Load *loadgen.Generator
	// Apps holds the sample app instances by version.
	Apps map[string]*sampleapp.Instance

	cfg WorldConfig
	// targets are the versions' scrape targets.
	targets []string
	logger  *slog.Logger
	// stops are called in reverse start order by Close.
	stops     []func() error
	closeOnce sync.Once
	closeErr  error
}

// StartWorld starts, on loopback ports it picks, every version of the
// sample app, Vane's controller (package controller, from a configuration
// that scrapes every version and routes the service with all traffic on
// the stable version), and the load generator; it returns once the load
// generator's calls are answered through xDS, or an error (having stopped
// what it started) if that does not happen before ctx ends or within 30 s.
// Background components run until Close.
func StartWorld(ctx context.Context, cfg WorldConfig) (_ *World, err error) {
	if cfg.Service == "" {
		cfg.Service = "demo"
	}
	if len(cfg.Versions) == 0 {
		return nil, errors.New("demo: world: no versions")
	}
	if cfg.Stable == "" {
		cfg.Stable = cfg.Versions[0].Version
	}
	if cfg.ScrapeInterval <= 0 {
		cfg.ScrapeInterval = 2 * time.Second
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 50
	}
	if cfg.SlowThreshold <= 0 {
		cfg.SlowThreshold = 100 * time.Millisecond
	}
	if cfg.HTTPListen == "" {
		cfg.HTTPListen = "127.0.0.1:0"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	w := &World{Apps: map[string]*sampleapp.Instance{}, cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			_ = w.Close()
		}
	}()
	w.stops = append(w.stops, func() error { cancel(); return nil })

	// The service's versions.
	var targets []string
	for _, vc := range cfg.Versions {
		if _, dup := w.Apps[vc.Version]; dup {
			return nil, fmt.Errorf("demo: world: version %q given twice", vc.Version)
		}
		if vc.Logger == nil {
			vc.Logger = logger.With("component", "sampleapp")
		}
		app, err := sampleapp.Start(vc)
		if err != nil {
			return nil, fmt.Errorf("demo: world: %w", err)
		}
		w.Apps[vc.Version] = app
		w.stops = append(w.stops, app.Close)
		targets = append(targets, app.MetricsAddr())
	}
	if w.Apps[cfg.Stable] == nil {
		return nil, fmt.Errorf("demo: world: stable version %q is not among the versions", cfg.Stable)
	}
	w.targets = targets

	// Vane's controller, configured as a vane.yaml would: the embedded
	// Prometheus scraping every version, the service on its stable
	// version, state in a temporary directory.
	dir, err := os.MkdirTemp("", "vane-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo: world: state dir: %w", err)
	}
	w.stops = append(w.stops, func() error { return os.RemoveAll(dir) })
	oneProxy := 1
	c, err := controller.New(ctx, controller.Options{
		Config: &config.Config{
			Prometheus: config.Prometheus{DataDir: filepath.Join(dir, "prometheus"), Retention: model.Duration(time.Hour),
				Timeout: model.Duration(2 * time.Second)},
			Scrape: config.Scrape{Interval: model.Duration(cfg.ScrapeInterval), Jobs: []config.ScrapeJob{{
				Name: cfg.Service, Targets: targets, Labels: map[string]string{"service": cfg.Service}}}},
			// A change counts once the users' xDS client ACKed it.
			XDS:      config.XDS{Listen: "127.0.0.1:0", MinProxies: &oneProxy},
			HTTP:     config.HTTP{Listen: cfg.HTTPListen},
			Store:    config.Store{Kind: config.StoreBbolt, Path: filepath.Join(dir, "vane.db"), HistoryLimit: config.DefaultHistoryLimit},
			SLOs:     cfg.SLOSources,
			Loaded:   cfg.SLOs,
			Services: []config.Service{{Name: cfg.Service, Stable: w.backend(cfg.Stable), Rollout: cfg.Plan}},
		},
		Logger:             logger,
		Registry:           cfg.Registry,
		WrapRouter:         cfg.WrapRouter,
		OnRolloutEvent:     cfg.OnEvent,
		Autoscalers:        cfg.Autoscalers,
		EvaluationInterval: cfg.ScrapeInterval,
		XDSShutdownTimeout: 2 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: world: %w", err)
	}
	w.Controller, w.Prom, w.XDS, w.HTTP = c, c.Embedded(), c.XDS(), baseURL(c.HTTPAddr())
	ctrlCtx, stopCtrl := context.WithCancel(runCtx)
	ctrlDone := w.goRun("controller", func() error { return c.Run(ctrlCtx) })
	w.stops = append(w.stops, func() error { stopCtrl(); <-ctrlDone; return nil })
	if err := waitUntil(ctx, 30*time.Second, c.Rollouts().Ready); err != nil {
		return nil, fmt.Errorf("demo: world: the rollout manager is not ready: %w", err)
	}

	// The service's users, through a real gRPC xDS client.
	boot, err := xds.Bootstrap(xds.BootstrapConfig{ServerURI: c.XDSAddr().String(), NodeID: "vane-demo-loadgen", Cluster: "demo-users"})
	if err != nil {
		return nil, fmt.Errorf("demo: world: %w", err)
	}
	w.Load, err = loadgen.New(loadgen.Config{Target: "xds:///" + cfg.Service, Bootstrap: boot, Rate: cfg.Rate,
		SlowThreshold: cfg.SlowThreshold, Logger: logger.With("component", "loadgen")})
	if err != nil {
		return nil, fmt.Errorf("demo: world: %w", err)
	}
	w.stops = append(w.stops, w.Load.Close)
	loadCtx, stopLoad := context.WithCancel(runCtx)
	loadDone := w.goRun("loadgen", func() error { return w.Load.Run(loadCtx) })
	w.stops = append(w.stops, func() error { stopLoad(); <-loadDone; return nil })

	if err := w.waitServed(ctx, cfg.Stable, 30*time.Second); err != nil {
		return nil, err
	}
	// A controller in production reads a Prometheus that already holds the
	// stable version's counters; wait for the first scrape that has them.
	if err := w.waitScraped(ctx, cfg.Stable, 30*time.Second); err != nil {
		return nil, err
	}
	logger.Info("Demo world started", "service", cfg.Service, "xds", c.XDSAddr().String(), "http", w.HTTP, "versions", len(w.Apps))
	return w, nil
}

// goRun runs f in a goroutine; the returned channel is closed when it
// returns. An error other than a clean stop is logged.
func (w *World) goRun(name string, f func() error) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f(); err != nil {
			w.logger.Error("Component stopped with an error", "component", name, "err", err)
		}
	}()
	return done
}

// waitServed waits until the load generator got an answer from version.
func (w *World) waitServed(ctx context.Context, version string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if w.Load.Stats().ByVersion[version].OK > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: world: no call answered by %s through xds:///%s: %w", version, w.cfg.Service, ctx.Err())
		case <-t.C:
		}
	}
}

// waitScraped waits until the embedded Prometheus holds a request counter
// of version.
func (w *World) waitScraped(ctx context.Context, version string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	q := fmt.Sprintf("sum(demo_requests_total{version=%q})", version)
	for {
		if v, err := w.Prom.Query(ctx, q, time.Now()); err == nil && len(v.Samples) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: world: the embedded Prometheus has no %s: %w", q, ctx.Err())
		case <-t.C:
		}
	}
}

// Service returns the routed service with stable and canary versions
// (canary may be empty).
func (w *World) Service(stable, canary string) traffic.Service {
	svc := traffic.Service{Name: w.cfg.Service, Stable: w.backend(stable)}
	if canary != "" {
		svc.Canary = w.backend(canary)
	}
	return svc
}

func (w *World) backend(version string) traffic.Backend {
	b := traffic.Backend{Version: version}
	if app := w.Apps[version]; app != nil {
		b.Endpoints = []string{app.Addr()}
	}
	return b
}

// ScrapeAlso makes the embedded Prometheus scrape extra targets (such as
// replicas an autoscaler started) beside the versions, under the same job
// and service label.
func (w *World) ScrapeAlso(extra []string) error {
	return w.Prom.SetScrapeJobs([]prom.ScrapeJob{{
		Name:    w.cfg.Service,
		Targets: append(slices.Clone(w.targets), extra...),
		Labels:  map[string]string{"service": w.cfg.Service},
	}})
}

// Versions lists the versions, sorted.
func (w *World) Versions() []string {
	vs := make([]string, 0, len(w.Apps))
	for v := range w.Apps {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// Close stops the load generator, the controller and the apps, in that
// order. It is idempotent.
func (w *World) Close() error {
	w.closeOnce.Do(func() {
		var errs []error
		for i := len(w.stops) - 1; i >= 0; i-- {
			errs = append(errs, w.stops[i]())
		}
		w.closeErr = errors.Join(errs...)
	})
	return w.closeErr
}
