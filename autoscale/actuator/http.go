package actuator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vaneproj/vane/autoscale"
)

// HTTPConfig configures an HTTP webhook actuator.
//
// The webhook's contract:
//
//	GET URL                   → 200 {"desired": 3, "ready": 2}   (or "3", or "3 2")
//	PUT URL  {"replicas": 4}  → any 2xx (the body is ignored; POST when Method says so)
//
// A 404 means the scale target does not exist; other 4xx answers are the
// request's fault and not retried; 5xx answers, 408, 429 and network
// errors are retried by Retrying.
type HTTPConfig struct {
	// URL is the webhook's http or https URL.
	URL string
	// Method is the set call's method: PUT (default) or POST.
	Method string
	// TokenFile, when set, holds a bearer token sent with every request;
	// it is read at each call, so a rotated token is picked up.
	TokenFile string
	// Headers are sent with every request.
	Headers map[string]string
	// Timeout bounds each request; default 10s.
	Timeout time.Duration
	// Client sends the requests; nil means a client with Timeout.
	Client *http.Client
}

// Validate reports every problem with the configuration.
func (c HTTPConfig) Validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("url: empty"))
	case err != nil:
		errs = append(errs, fmt.Errorf("url: %w", err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("url: %q is not an http or https URL", c.URL))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("url: %q has no host", c.URL))
	}
	switch c.Method {
	case "", http.MethodPut, http.MethodPost:
	default:
		errs = append(errs, fmt.Errorf("method: %q is not PUT or POST", c.Method))
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			errs = append(errs, fmt.Errorf("headers: %q is not a header name", k))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %v is negative", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: http actuator: %w", ErrInvalid, err)
	}
	return nil
}

// HTTP scales through a webhook.
type HTTP struct {
	cfg    HTTPConfig
	client *http.Client
}

// NewHTTP checks cfg and returns the actuator.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPut
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{Timeout: cfg.Timeout}
	}
	return &HTTP{cfg: cfg, client: c}, nil
}

// Kind implements Kinded.
func (h *HTTP) Kind() string { return "http" }

// GetScale implements autoscale.Actuator.
func (h *HTTP) GetScale(ctx context.Context) (autoscale.Scale, error) {
	body, err := h.do(ctx, http.MethodGet, nil)
	if err != nil {
		return autoscale.Scale{}, err
	}
	s, err := ParseScale(body)
	if err != nil {
		return autoscale.Scale{}, fmt.Errorf("http actuator: GET %s: %w", h.cfg.URL, err)
	}
	return s, nil
}

// SetScale implements autoscale.Actuator.
func (h *HTTP) SetScale(ctx context.Context, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("http actuator: %w: %d replicas", ErrInvalid, replicas)
	}
	b, _ := json.Marshal(struct {
		Replicas int32 `json:"replicas"`
	}{replicas})
	_, err := h.do(ctx, h.cfg.Method, b)
	return err
}

func (h *HTTP) do(ctx context.Context, method string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.cfg.URL, rd)
	if err != nil {
		return nil, Permanent(fmt.Errorf("http actuator: %s %s: %w", method, h.cfg.URL, err))
	}
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, v)
	}
	if h.cfg.TokenFile != "" {
		tok, err := os.ReadFile(h.cfg.TokenFile)
		if err != nil {
			return nil, Permanent(fmt.Errorf("http actuator: token_file: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("http actuator: %s %s: %w", method, h.cfg.URL, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("http actuator: %s %s: reading the answer: %w", method, h.cfg.URL, err)
	}
	if resp.StatusCode/100 == 2 {
		return out, nil
	}
	err = fmt.Errorf("http actuator: %s %s: %s: %s", method, h.cfg.URL, resp.Status, excerpt(bytes.TrimSpace(out)))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, err
	default:
		return nil, Permanent(err)
	}
}

// httpConfig is the HTTPConfig of a vane.yaml webhook actuator.
func httpConfig(spec autoscale.WebhookSpec) HTTPConfig {
	return HTTPConfig{URL: spec.URL, Method: spec.Method, TokenFile: spec.TokenFile, Headers: spec.Headers, Timeout: spec.Timeout}
}
