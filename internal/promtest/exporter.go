package promtest

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The exporter's metric names and labels. They match the analysis package's
// default queries (requests_metric with service, version and code labels;
// a latency histogram with service and version labels).
const (
	RequestsMetric = "http_requests_total"
	LatencyMetric  = "http_request_duration_seconds"
)

// LatencyBuckets are the exporter's histogram buckets, in seconds.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Exporter is a small HTTP server exposing request counters and a latency
// histogram per version whose values the test sets. It stands in for a
// service whose versions Vane compares.
type Exporter struct {
	service  string
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	srv      *http.Server
	lis      net.Listener
	done     chan struct{}
}

// NewExporter starts an exporter for service on a free loopback port; it is
// closed when the test ends.
func NewExporter(t testing.TB, service string) *Exporter {
	t.Helper()
	e, err := StartExporter(service)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// StartExporter is NewExporter without a testing.TB; Close stops it.
func StartExporter(service string) (*Exporter, error) {
	e := &Exporter{service: service, reg: prometheus.NewRegistry(), done: make(chan struct{})}
	e.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: RequestsMetric,
		Help: "Requests served, by service, version and status code.",
	}, []string{"service", "version", "code"})
	e.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    LatencyMetric,
		Help:    "Request latency, by service and version.",
		Buckets: LatencyBuckets,
	}, []string{"service", "version"})
	e.reg.MustRegister(e.requests, e.latency)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.lis = lis
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(e.done)
		_ = e.srv.Serve(lis)
	}()
	return e, nil
}

// Addr is the exporter's host:port, a scrape target.
func (e *Exporter) Addr() string { return e.lis.Addr().String() }

// Record counts requests of version: ok of them answered 200 and bad of
// them 500. Both series exist from the first call, even at zero, as a
// service that initialises its counters exposes them. Latency is not
// touched.
func (e *Exporter) Record(version string, ok, bad int) {
	e.requests.WithLabelValues(e.service, version, "200").Add(float64(ok))
	e.requests.WithLabelValues(e.service, version, "500").Add(float64(bad))
}

// Observe records n requests of version that took d each in the latency
// histogram.
func (e *Exporter) Observe(version string, d time.Duration, n int) {
	h := e.latency.WithLabelValues(e.service, version)
	for range n {
		h.Observe(d.Seconds())
	}
}

// Code counts n requests of version answered with an arbitrary status code.
func (e *Exporter) Code(version string, code, n int) {
	e.requests.WithLabelValues(e.service, version, strconv.Itoa(code)).Add(float64(n))
}

// Close stops the server.
func (e *Exporter) Close() error {
	err := e.srv.Close()
	<-e.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
