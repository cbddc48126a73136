package prom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/common/config"
)

// Defaults of AlertmanagerConfig.
const (
	DefaultAlertmanagerTimeout     = 10 * time.Second
	DefaultAlertmanagerMaxAttempts = 3
	DefaultAlertmanagerBackoff     = 200 * time.Millisecond
)

// AlertmanagerConfig configures an AlertmanagerClient. The zero value of
// every field but URL means its default.
type AlertmanagerConfig struct {
	// URL is Alertmanager's base URL, without /api/v2 (for example
	// http://alertmanager:9093, or with the path prefix it is served under).
	URL string
	// Timeout bounds one Send call, retries and their waits included, so a
	// slow Alertmanager cannot hold up rule evaluation. Default 10s.
	Timeout time.Duration
	// MaxAttempts is how many times a batch is posted when it fails with a
	// retryable error (a 5xx answer, a network error, an attempt timeout);
	// 1 disables retries. Other 4xx answers are never retried. Default 3.
	MaxAttempts int
	// Backoff is the wait before the first retry; it doubles on each retry,
	// with up to 20% random jitter. Default 200ms.
	Backoff time.Duration
	// Client, when set, sends the requests (tests, custom transports);
	// otherwise one is built from HTTPClient.
	Client *http.Client
	// HTTPClient holds authentication and TLS (bearer token, basic auth,
	// OAuth2, TLS, proxy, headers) as in Prometheus's alertmanager_config.
	HTTPClient promconfig.HTTPClientConfig
	// Logger receives retries and failures; nil discards them.
	Logger *slog.Logger
	// Registerer receives the vane_prom_alertmanager_* metrics; nil keeps
	// them unregistered.
	Registerer prometheus.Registerer
}

// AlertmanagerClient posts alerts to Alertmanager's v2 API
// (POST /api/v2/alerts), as Prometheus's notifier does. It is safe for
// concurrent use.
type AlertmanagerClient struct {
	cfg      AlertmanagerConfig
	endpoint string
	client   *http.Client
	log      *slog.Logger
	metrics  *AlertmanagerMetrics
}

// NewAlertmanagerClient checks cfg and builds the client; it does not
// contact Alertmanager.
func NewAlertmanagerClient(cfg AlertmanagerConfig) (*AlertmanagerClient, error) {
	if cfg.URL == "" {
		return nil, errors.New("prom: alertmanager: url is empty")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("prom: alertmanager: url %q: %w", cfg.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("prom: alertmanager: url %q: scheme must be http or https", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("prom: alertmanager: url %q: no host", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("prom: alertmanager: url %q: must not have a query or fragment", cfg.URL)
	}
	if cfg.Timeout < 0 || cfg.MaxAttempts < 0 || cfg.Backoff < 0 {
		return nil, errors.New("prom: alertmanager: timeout, max attempts and backoff must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultAlertmanagerTimeout
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultAlertmanagerMaxAttempts
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = DefaultAlertmanagerBackoff
	}
	c := &AlertmanagerClient{
		cfg:      cfg,
		endpoint: strings.TrimRight(u.String(), "/") + "/api/v2/alerts",
		client:   cfg.Client,
		log:      cfg.Logger,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.client == nil {
		if err := cfg.HTTPClient.Validate(); err != nil {
			return nil, fmt.Errorf("prom: alertmanager: http client config: %w", err)
		}
		rt, err := promconfig.NewRoundTripperFromConfig(cfg.HTTPClient, "vane-alertmanager")
		if err != nil {
			return nil, fmt.Errorf("prom: alertmanager: http client for %s: %w", cfg.URL, err)
		}
		c.client = &http.Client{Transport: rt}
	}
	if c.metrics, err = NewAlertmanagerMetrics(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("prom: alertmanager: %w", err)
	}
	return c, nil
}

// URL returns the endpoint alerts are posted to.
func (c *AlertmanagerClient) URL() string { return c.endpoint }

// Send posts alerts to Alertmanager in one request, retrying retryable
// failures until MaxAttempts or Timeout. An empty batch sends nothing.
// Every failed call is counted in vane_prom_alertmanager_send_errors_total
// and returned as an error naming the endpoint and the last failure.
func (c *AlertmanagerClient) Send(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	pa := PostableAlerts(alerts)
	if err := pa.Validate(strfmt.Default); err != nil {
		c.metrics.SendErrors.WithLabelValues("invalid").Inc()
		return fmt.Errorf("prom: alertmanager: invalid alerts: %w", err)
	}
	body, err := json.Marshal(pa)
	if err != nil {
		c.metrics.SendErrors.WithLabelValues("invalid").Inc()
		return fmt.Errorf("prom: alertmanager: encode alerts: %w", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	attempts, serr := c.post(ctx, body)
	if serr != nil {
		c.metrics.SendDuration.WithLabelValues("error").Observe(time.Since(start).Seconds())
		c.metrics.SendErrors.WithLabelValues(serr.kind).Inc()
		return fmt.Errorf("prom: alertmanager: post %d alerts to %s (%d attempts): %w", len(alerts), c.endpoint, attempts, serr)
	}
	c.metrics.SendDuration.WithLabelValues("success").Observe(time.Since(start).Seconds())
	c.metrics.AlertsSent.Add(float64(len(alerts)))
	return nil
}

// sendError is a failed attempt with the kind it is counted under:
// "http_4xx", "http_5xx", "network", "timeout" or "canceled".
type sendError struct {
	kind      string
	retryable bool
	err       error
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// post sends body until it is accepted, a non-retryable error, the last
// attempt or the end of ctx. It returns the number of attempts made.
func (c *AlertmanagerClient) post(ctx context.Context, body []byte) (int, *sendError) {
	wait := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, body)
		if err == nil {
			return attempt, nil
		}
		if !err.retryable || attempt >= c.cfg.MaxAttempts {
			return attempt, err
		}
		d := wait + time.Duration(rand.Int64N(int64(wait)/5+1))
		c.log.Warn("Alertmanager send failed, retrying", "url", c.endpoint, "attempt", attempt, "retry_in", d, "err", err)
		c.metrics.Retries.Inc()
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, classifyTransportErr(ctx, fmt.Errorf("%w (giving up while waiting to retry after: %v)", ctx.Err(), err))
		case <-t.C:
		}
		wait *= 2
	}
}

func (c *AlertmanagerClient) attempt(ctx context.Context, body []byte) *sendError {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return &sendError{kind: "invalid", err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return classifyTransportErr(ctx, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 5:
		return &sendError{kind: "http_5xx", retryable: true, err: fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(msg)))}
	default:
		return &sendError{kind: "http_4xx", err: fmt.Errorf("HTTP %s: %s", resp.Status, strings.TrimSpace(string(msg)))}
	}
}

func classifyTransportErr(ctx context.Context, err error) *sendError {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &sendError{kind: "canceled", err: err}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &sendError{kind: "timeout", err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &sendError{kind: "timeout", retryable: true, err: err}
	}
	return &sendError{kind: "network", retryable: true, err: err}
}

// PostableAlerts turns alerts of the embedded rule manager into
// Alertmanager v2 postable alerts, as Prometheus's notifier does: the
// labels with alertname, the annotations, startsAt (when the alert became
// active), endsAt (the resolve time of a resolved alert, else ValidUntil,
// after which Alertmanager resolves it unless it is sent again) and the
// generator URL.
func PostableAlerts(alerts []Alert) models.PostableAlerts {
	out := make(models.PostableAlerts, 0, len(alerts))
	for _, a := range alerts {
		lbl := models.LabelSet{}
		for k, v := range a.Labels {
			lbl[k] = v
		}
		if a.Name != "" {
			lbl["alertname"] = a.Name
		}
		var ann models.LabelSet
		if len(a.Annotations) > 0 {
			ann = models.LabelSet{}
			for k, v := range a.Annotations {
				ann[k] = v
			}
		}
		pa := &models.PostableAlert{
			Annotations: ann,
			StartsAt:    strfmt.DateTime(a.ActiveAt),
			Alert:       models.Alert{Labels: lbl, GeneratorURL: strfmt.URI(a.GeneratorURL)},
		}
		switch {
		case !a.ResolvedAt.IsZero():
			pa.EndsAt = strfmt.DateTime(a.ResolvedAt)
		case !a.ValidUntil.IsZero():
			pa.EndsAt = strfmt.DateTime(a.ValidUntil)
		}
		out = append(out, pa)
	}
	return out
}

// NotifyAlerts returns a function for EmbeddedConfig.Notify that logs each
// alert once when it starts firing (warn) and once when it resolves (info),
// not on every resend, and, when am is not nil, sends every alert it is
// given to Alertmanager (resends included, as Alertmanager expects),
// logging a failure (the client already counts it). A nil log discards the
// logs.
func NotifyAlerts(am *AlertmanagerClient, log *slog.Logger) func(ctx context.Context, alerts []Alert) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var mu sync.Mutex
	firing := map[string]bool{} // alerts logged as firing, by label set
	return func(ctx context.Context, alerts []Alert) {
		mu.Lock()
		for _, a := range alerts {
			key := sortedLabels(a.Labels)
			switch {
			case !a.ResolvedAt.IsZero():
				if firing[key] {
					delete(firing, key)
					log.Info("Alert resolved", "alert", a.Name, "labels", key)
				}
			case a.State == "firing" && !firing[key]:
				firing[key] = true
				log.Warn("Alert firing", "alert", a.Name, "labels", key, "value", a.Value, "generator_url", a.GeneratorURL)
			}
		}
		mu.Unlock()
		if am == nil || len(alerts) == 0 {
			return
		}
		if err := am.Send(ctx, alerts); err != nil {
			log.Error("Could not send alerts to Alertmanager", "url", am.endpoint, "alerts", len(alerts), "err", err)
		}
	}
}

// sortedLabels renders labels as {a="1", b="2"} for logs.
func sortedLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}
