package sampleapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// VersionTrailer is the trailer key under which every answer names the
// version that produced it.
const VersionTrailer = "x-demo-version"

// Config configures one instance of the sample service.
type Config struct {
	// Version labels the instance's metrics and answers (required), e.g. "v1".
	Version string
	// ErrorRatio is the share of calls, in [0, 1], that fail with ErrorCode.
	ErrorRatio float64
	// ErrorCode is the gRPC code of injected failures; 0 (OK) means Unavailable.
	ErrorCode codes.Code
	// Latency is added to every call.
	Latency time.Duration
	// Concurrency, when positive, bounds the calls served at once: a call
	// that finds every slot taken waits its turn (the wait counts in its
	// duration), so one instance serves at most Concurrency/Latency calls
	// per second and load shows in latency. 0 means unbounded.
	Concurrency int
	// Seed seeds the choice of failing calls; 0 picks a seed from the version.
	Seed uint64
	// GRPCAddr and HTTPAddr are the listen addresses; empty means 127.0.0.1:0.
	GRPCAddr, HTTPAddr string
	// Logger receives start, stop and setting changes; nil discards.
	Logger *slog.Logger
}

// Instance is one running version of the sample service. Its methods are
// safe for concurrent use.
type Instance struct {
	version string
	code    codes.Code
	logger  *slog.Logger

	errRatio atomic.Uint64 // math.Float64bits
	latency  atomic.Int64  // nanoseconds

	mu  sync.Mutex
	rng *rand.Rand

	// free holds, per slot, when it finishes the work booked on it;
	// nil when unbounded.
	free     []time.Time
	inflight prometheus.Gauge

	reqs *prometheus.CounterVec
	dur  prometheus.Observer

	grpcLis, httpLis net.Listener
	grpcSrv          *grpc.Server
	httpSrv          *http.Server
	health           *health.Server
	wg               sync.WaitGroup
	closeOnce        sync.Once
	closeErr         error
}

// Start validates cfg, listens and serves gRPC and HTTP until Close.
func Start(cfg Config) (*Instance, error) {
	if cfg.Version == "" {
		return nil, errors.New("sampleapp: config.version: empty")
	}
	if err := validRatio(cfg.ErrorRatio); err != nil {
		return nil, fmt.Errorf("sampleapp %s: config.error_ratio: %w", cfg.Version, err)
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("sampleapp %s: config.concurrency: %d is negative", cfg.Version, cfg.Concurrency)
	}
	if cfg.Latency < 0 {
		return nil, fmt.Errorf("sampleapp %s: config.latency: %v is negative", cfg.Version, cfg.Latency)
	}
	if cfg.ErrorCode == codes.OK {
		cfg.ErrorCode = codes.Unavailable
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = "127.0.0.1:0"
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	seed := cfg.Seed
	if seed == 0 {
		for _, c := range cfg.Version {
			seed = seed*31 + uint64(c)
		}
	}
	in := &Instance{
		version: cfg.Version,
		code:    cfg.ErrorCode,
		logger:  logger.With("version", cfg.Version),
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	if cfg.Concurrency > 0 {
		in.free = make([]time.Time, cfg.Concurrency)
	}
	in.errRatio.Store(float64bits(cfg.ErrorRatio))
	in.latency.Store(int64(cfg.Latency))

	reg := prometheus.NewRegistry()
	in.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "demo_requests_total",
		Help: "Calls served by the sample service, by version and gRPC code.",
	}, []string{"version", "code"})
	durVec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "demo_request_duration_seconds",
		Help:    "Time the sample service took to answer a call, by version.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"version"})
	inflight := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "demo_requests_in_flight",
		Help: "Calls the sample service is serving or holding in its queue, by version.",
	}, []string{"version"})
	reg.MustRegister(in.reqs, durVec, inflight)
	in.inflight = inflight.WithLabelValues(cfg.Version)
	in.dur = durVec.WithLabelValues(cfg.Version)
	// Create the series up front so that rates start at zero, not absent.
	in.reqs.WithLabelValues(cfg.Version, codes.OK.String())
	in.reqs.WithLabelValues(cfg.Version, cfg.ErrorCode.String())

	var err error
	if in.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("sampleapp %s: listen grpc: %w", cfg.Version, err)
	}
	if in.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		in.grpcLis.Close()
		return nil, fmt.Errorf("sampleapp %s: listen http: %w", cfg.Version, err)
	}

	in.grpcSrv = grpc.NewServer()
	testgrpc.RegisterTestServiceServer(in.grpcSrv, &service{in: in})
	in.health = health.NewServer()
	healthpb.RegisterHealthServer(in.grpcSrv, in.health)

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "ok %s\n", in.version)
	})
	in.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	in.wg.Add(2)
	go func() {
		defer in.wg.Done()
		if err := in.grpcSrv.Serve(in.grpcLis); err != nil {
			in.logger.Error("gRPC server stopped", "err", err)
		}
	}()
	go func() {
		defer in.wg.Done()
		if err := in.httpSrv.Serve(in.httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			in.logger.Error("HTTP server stopped", "err", err)
		}
	}()
	in.logger.Info("Sample app started", "grpc", in.Addr(), "metrics", in.MetricsURL(),
		"error_ratio", cfg.ErrorRatio, "latency", cfg.Latency)
	return in, nil
}

// Version is the instance's version label.
func (in *Instance) Version() string { return in.version }

// Addr is the gRPC listen address, host:port.
func (in *Instance) Addr() string { return in.grpcLis.Addr().String() }

// MetricsAddr is the HTTP listen address, host:port (a scrape target).
func (in *Instance) MetricsAddr() string { return in.httpLis.Addr().String() }

// MetricsURL is the URL of the instance's Prometheus metrics.
func (in *Instance) MetricsURL() string { return "http://" + in.MetricsAddr() + "/metrics" }

// ErrorRatio is the current share of calls that fail.
func (in *Instance) ErrorRatio() float64 { return float64frombits(in.errRatio.Load()) }

// Latency is the current added latency.
func (in *Instance) Latency() time.Duration { return time.Duration(in.latency.Load()) }

// SetErrorRatio changes the share of calls that fail; r must be in [0, 1].
func (in *Instance) SetErrorRatio(r float64) error {
	if err := validRatio(r); err != nil {
		return fmt.Errorf("sampleapp %s: error ratio: %w", in.version, err)
	}
	in.errRatio.Store(float64bits(r))
	in.logger.Info("Error ratio changed", "error_ratio", r)
	return nil
}

// SetLatency changes the latency added to every call; d must not be negative.
func (in *Instance) SetLatency(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("sampleapp %s: latency: %v is negative", in.version, d)
	}
	in.latency.Store(int64(d))
	in.logger.Info("Latency changed", "latency", d)
	return nil
}

// Close stops both servers: the gRPC server gracefully (bounded to 2 s),
// the HTTP server within 2 s. It is idempotent.
func (in *Instance) Close() error {
	in.closeOnce.Do(func() {
		in.health.Shutdown()
		done := make(chan struct{})
		go func() { in.grpcSrv.GracefulStop(); close(done) }()
		t := time.NewTimer(2 * time.Second)
		select {
		case <-done:
		case <-t.C:
			in.grpcSrv.Stop()
			<-done
		}
		t.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := in.httpSrv.Shutdown(ctx); err != nil {
			in.closeErr = fmt.Errorf("sampleapp %s: http shutdown: %w", in.version, err)
			in.httpSrv.Close()
		}
		in.wg.Wait()
		in.logger.Info("Sample app stopped")
	})
	return in.closeErr
}

// fail decides whether this call fails.
func (in *Instance) fail() bool {
	r := in.ErrorRatio()
	if r <= 0 {
		return false
	}
	in.mu.Lock()
	x := in.rng.Float64()
	in.mu.Unlock()
	return x < r
}

type service struct {
	testgrpc.UnimplementedTestServiceServer
	in *Instance
}

// UnaryCall answers after the configured latency, failing the configured
// share of calls with the configured code.
func (s *service) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	in := s.in
	start := time.Now()
	_ = grpc.SetTrailer(ctx, metadata.Pairs(VersionTrailer, in.version))
	in.inflight.Inc()
	defer in.inflight.Dec()
	var err error
	// The call is served Latency after it gets a slot. With bounded
	// concurrency it books the slot that frees first, in virtual time:
	// late timers on a busy machine then delay calls but do not shrink
	// the instance's capacity (Concurrency/Latency calls per second).
	finish := start.Add(in.Latency())
	if in.free != nil {
		in.mu.Lock()
		i := 0
		for j, f := range in.free {
			if f.Before(in.free[i]) {
				i = j
			}
		}
		begin := start
		if in.free[i].After(begin) {
			begin = in.free[i]
		}
		finish = begin.Add(in.Latency())
		in.free[i] = finish
		in.mu.Unlock()
	}
	if d := time.Until(finish); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			err = status.FromContextError(ctx.Err()).Err()
		}
	}
	if err == nil && in.fail() {
		err = status.Errorf(in.code, "sample app %s: injected failure", in.version)
	}
	in.reqs.WithLabelValues(in.version, status.Code(err).String()).Inc()
	in.dur.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, err
	}
	resp := &testgrpc.SimpleResponse{ServerId: in.version, Hostname: in.Addr()}
	if n := req.GetResponseSize(); n > 0 && n <= 1<<20 {
		resp.Payload = &testgrpc.Payload{Body: make([]byte, n)}
	}
	return resp, nil
}
