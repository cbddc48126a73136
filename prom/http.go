package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
)

// Defaults of HTTPConfig.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 3
	DefaultBackoff     = 250 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
)

// HTTPConfig configures a querier over the Prometheus HTTP API. The zero
// value of every field but URL means its default.
type HTTPConfig struct {
	// URL is the Prometheus (or Thanos, Mimir…) base URL, without /api/v1.
	URL string
	// Timeout bounds one attempt, and is sent to the server as the query's
	// evaluation timeout. Default 10s.
	Timeout time.Duration
	// MaxAttempts is how many times a query is sent when it fails with a
	// retryable error (a 5xx, a timeout, a network error); 1 disables
	// retries. Bad queries and other 4xx answers are never retried.
	// Default 3.
	MaxAttempts int
	// Backoff is the wait before the first retry; it doubles on each retry
	// up to MaxBackoff, with up to 20% random jitter. Defaults 250ms and 5s.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Client holds authentication and TLS: bearer token (or token file),
	// basic auth, OAuth2, TLS CA, client certificate and server name,
	// proxy and extra headers, exactly as in a Prometheus scrape config.
	Client promconfig.HTTPClientConfig
}

// withDefaults fills zero fields and checks the rest.
func (c HTTPConfig) withDefaults() (HTTPConfig, error) {
	if c.URL == "" {
		return c, errors.New("prom: url is empty")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return c, fmt.Errorf("prom: url %q: %w", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return c, fmt.Errorf("prom: url %q: scheme must be http or https", c.URL)
	}
	if u.Host == "" {
		return c, fmt.Errorf("prom: url %q: no host", c.URL)
	}
	if c.Timeout < 0 || c.MaxAttempts < 0 || c.Backoff < 0 || c.MaxBackoff < 0 {
		return c, errors.New("prom: timeout, max attempts and backoffs must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if err := c.Client.Validate(); err != nil {
		return c, fmt.Errorf("prom: http client config: %w", err)
	}
	return c, nil
}

// Option configures a querier of this package.
type Option func(*options)

type options struct {
	logger  *slog.Logger
	metrics *Metrics
}

// WithLogger sets the logger; nil (the default) discards logs.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMetrics records queries, errors and retries in m.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// HTTPQuerier is an analysis.Querier over the Prometheus HTTP API
// (client_golang's api/prometheus/v1). It is safe for concurrent use.
type HTTPQuerier struct {
	cfg    HTTPConfig
	api    v1.API
	source string
	o      options
}

var _ analysis.Querier = (*HTTPQuerier)(nil)

// NewHTTPQuerier checks cfg and builds the querier; it does not contact
// the server. With WithMetrics, retries are counted; wrap the result with
// Instrument to time queries and count errors (NewInstrumentedHTTP does both).
func NewHTTPQuerier(cfg HTTPConfig, opts ...Option) (*HTTPQuerier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rt, err := promconfig.NewRoundTripperFromConfig(cfg.Client, "vane-prom")
	if err != nil {
		return nil, fmt.Errorf("prom: http client for %s: %w", cfg.URL, err)
	}
	client, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prom: client for %s: %w", cfg.URL, err)
	}
	return &HTTPQuerier{cfg: cfg, api: v1.NewAPI(client), source: redact(cfg.URL), o: buildOptions(opts)}, nil
}

// NewInstrumentedHTTP is NewHTTPQuerier wrapped by Instrument with the
// metrics given by WithMetrics (if any), under the querier label "http".
func NewInstrumentedHTTP(cfg HTTPConfig, opts ...Option) (analysis.Querier, error) {
	q, err := NewHTTPQuerier(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return Instrument(q, q.o.metrics, "http"), nil
}

// redact drops a password from the URL so it never reaches errors or logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// URL returns the server's base URL with any password redacted.
func (q *HTTPQuerier) URL() string { return q.source }

// Query implements analysis.Querier.
func (q *HTTPQuerier) Query(ctx context.Context, query string, at time.Time) (analysis.Vector, error) {
	var out analysis.Vector
	err := q.do(ctx, query, func(ctx context.Context) (v1.Warnings, error) {
		val, warn, _, err := q.api.Query(ctx, query, at, v1.WithTimeout(q.cfg.Timeout))
		if err != nil {
			return warn, err
		}
		out, err = vectorFromModel(val)
		return warn, err
	}, &out.Warnings)
	if err == nil && len(out.Samples) == 0 {
		out.Warnings = append(out.Warnings, q.downTargets(ctx)...) // why the data may be missing
	}
	return out, err
}

// downTargets asks the server which of its scrape targets are down, for an
// empty result's warnings: best effort, within the query timeout; servers
// without the targets API (Thanos, Mimir) give none. At most three are named.
func (q *HTTPQuerier) downTargets(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	defer cancel()
	res, err := q.api.Targets(ctx)
	if err != nil {
		return nil
	}
	var down []TargetDown
	for _, t := range res.Active {
		if t.Health != v1.HealthBad {
			continue
		}
		down = append(down, TargetDown{Job: string(t.Labels["job"]), URL: t.ScrapeURL, Error: t.LastError})
	}
	var out []string
	for i, t := range down {
		if i == 3 {
			out = append(out, fmt.Sprintf("and %d more scrape targets are down", len(down)-3))
			break
		}
		out = append(out, t.String())
	}
	return out
}

// QueryRange implements analysis.Querier.
func (q *HTTPQuerier) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (analysis.Matrix, error) {
	var out analysis.Matrix
	if step <= 0 {
		return out, &QueryError{Kind: KindBadQuery, Source: q.source, Query: query, Err: fmt.Errorf("step %s must be positive", step)}
	}
	if end.Before(start) {
		return out, &QueryError{Kind: KindBadQuery, Source: q.source, Query: query, Err: fmt.Errorf("end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))}
	}
	r := v1.Range{Start: start, End: end, Step: step}
	err := q.do(ctx, query, func(ctx context.Context) (v1.Warnings, error) {
		val, warn, _, err := q.api.QueryRange(ctx, query, r, v1.WithTimeout(q.cfg.Timeout))
		if err != nil {
			return warn, err
		}
		out, err = matrixFromModel(val)
		return warn, err
	}, &out.Warnings)
	return out, err
}

// alertsQuery names the alerts API in a QueryError.
const alertsQuery = "GET /api/v1/alerts"

// Alerts returns the server's active (pending and firing) alerts, from its
// /api/v1/alerts endpoint (Prometheus's; the Thanos and Mimir rulers serve
// it too), sorted by name and labels, with the retries of queries. The
// endpoint gives no generatorURL.
func (q *HTTPQuerier) Alerts(ctx context.Context) ([]Alert, error) {
	var out []Alert
	var warnings []string
	err := q.do(ctx, alertsQuery, func(ctx context.Context) (v1.Warnings, error) {
		res, err := q.api.Alerts(ctx)
		if err != nil {
			return nil, err
		}
		out = make([]Alert, 0, len(res.Alerts))
		for _, a := range res.Alerts {
			v, err := strconv.ParseFloat(a.Value, 64)
			if err != nil {
				return nil, errDecode{fmt.Sprintf("alert %s: value %q is not a number", a.Labels, a.Value)}
			}
			al := Alert{Name: string(a.Labels[model.AlertNameLabel]), State: string(a.State), Labels: labelsOf(model.Metric(a.Labels)),
				Value: v, ActiveAt: a.ActiveAt}
			if len(a.Annotations) > 0 {
				al.Annotations = labelsOf(model.Metric(a.Annotations))
			}
			out = append(out, al)
		}
		return nil, nil
	}, &warnings)
	if err != nil {
		return nil, err
	}
	sortAlerts(out)
	return out, nil
}

// errDecode marks a successful answer whose value cannot be converted.
type errDecode struct{ msg string }

func (e errDecode) Error() string { return e.msg }

// do runs attempt with a per-attempt timeout, retrying retryable failures
// with exponential backoff until MaxAttempts or the caller's context ends.
func (q *HTTPQuerier) do(ctx context.Context, query string, attempt func(context.Context) (v1.Warnings, error), warnings *[]string) error {
	backoff := q.cfg.Backoff
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
		warn, err := attempt(actx)
		cancel()
		if err == nil {
			if len(warn) > 0 {
				*warnings = append([]string(nil), warn...)
			}
			return nil
		}
		kind := classify(ctx, err)
		var de errDecode
		if errors.As(err, &de) {
			kind = KindBadResponse
		}
		if !kind.Retryable() || n >= q.cfg.MaxAttempts {
			return &QueryError{Kind: kind, Source: q.source, Query: query, Attempts: n, Err: err}
		}
		wait := backoff + time.Duration(rand.Int64N(int64(backoff)/5+1))
		q.o.logger.Debug("prometheus query failed, retrying", "url", q.source, "query", query,
			"attempt", n, "kind", string(kind), "err", err, "wait", wait)
		if q.o.metrics != nil {
			q.o.metrics.Retries.WithLabelValues(string(kind)).Inc()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &QueryError{Kind: KindCanceled, Source: q.source, Query: query, Attempts: n,
				Err: fmt.Errorf("%w (while waiting to retry after: %v)", ctx.Err(), err)}
		case <-t.C:
		}
		backoff = min(2*backoff, q.cfg.MaxBackoff)
	}
}

func labelsOf(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

func vectorFromModel(val model.Value) (analysis.Vector, error) {
	var out analysis.Vector
	switch v := val.(type) {
	case model.Vector:
		out.Samples = make([]analysis.Sample, 0, len(v))
		for _, s := range v {
			if s.Histogram != nil {
				return out, errDecode{fmt.Sprintf("series %s is a native histogram; query histogram_quantile, histogram_count or histogram_sum of it", s.Metric)}
			}
			out.Samples = append(out.Samples, analysis.Sample{Labels: labelsOf(s.Metric), Value: float64(s.Value)})
		}
	case *model.Scalar:
		out.Samples = []analysis.Sample{{Labels: map[string]string{}, Value: float64(v.Value)}}
	case nil:
		return out, errDecode{"empty answer"}
	default:
		return out, errDecode{fmt.Sprintf("instant query returned a %s, want a vector or scalar", val.Type())}
	}
	return out, nil
}

func matrixFromModel(val model.Value) (analysis.Matrix, error) {
	var out analysis.Matrix
	m, ok := val.(model.Matrix)
	if !ok {
		if val == nil {
			return out, errDecode{"empty answer"}
		}
		return out, errDecode{fmt.Sprintf("range query returned a %s, want a matrix", val.Type())}
	}
	out.Series = make([]analysis.Series, 0, len(m))
	for _, s := range m {
		if len(s.Histograms) > 0 {
			return out, errDecode{fmt.Sprintf("series %s holds native histograms; query histogram_quantile, histogram_count or histogram_sum of it", s.Metric)}
		}
		pts := make([]analysis.Point, len(s.Values))
		for i, p := range s.Values {
			pts[i] = analysis.Point{T: p.Timestamp.Time().UTC(), V: float64(p.Value)}
		}
		out.Series = append(out.Series, analysis.Series{Labels: labelsOf(s.Metric), Points: pts})
	}
	return out, nil
}
