package api

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vaneproj/vane/rollout"
)

//go:embed ui/index.html
var ui embed.FS

// Rollouts is what the API needs from the rollout controller; the
// rollout.Manager implements it. Methods are safe for concurrent use and
// return errors wrapping rollout.ErrNotFound, ErrConflict, ErrInvalid or
// ErrNotRunning where those apply.
type Rollouts interface {
	List() []rollout.State
	Get(name string) (rollout.State, error)
	History(name string, limit int) ([]rollout.Event, error)
	Start(ctx context.Context, req rollout.StartRequest) (rollout.State, error)
	Command(ctx context.Context, name string, c rollout.Command) (rollout.State, error)
}

// SLOs reports the status of the configured SLOs.
type SLOs interface {
	Status(ctx context.Context, now time.Time) ([]SLOStatus, error)
}

// Options configures the API server.
type Options struct {
	// Rollouts is the rollout controller. Required.
	Rollouts Rollouts
	// SLOs, when set, serves GET /api/v1/slos.
	SLOs SLOs
	// SLOHistory serves GET /api/v1/slos/{service}/{slo}/history; when
	// nil, SLOs serves it if it implements SLOHistories (slo.Evaluator does).
	SLOHistory SLOHistories
	// Autoscalers, when set, serves /api/v1/autoscalers (empty otherwise).
	Autoscalers Autoscalers
	// Services serves GET /api/v1/services; nil: Rollouts when it
	// implements Services (rollout.Manager does), else an empty list.
	Services Services
	// TokenFile, when set, holds the bearer token mutating calls need.
	// Without CertFile the token crosses the network in clear: keep the
	// listener on loopback then. Without a token every caller may change
	// things: Listen warns when the address is not a loopback one.
	TokenFile string
	// CertFile and KeyFile, when both set, make the server speak HTTPS
	// (PEM certificate chain and private key). Default: plain HTTP.
	CertFile, KeyFile string
	// Metrics serves /metrics (e.g. promhttp.HandlerFor(reg, …)).
	Metrics http.Handler
	// Ready reports readiness for /readyz; nil means ready.
	Ready func() bool
	// Registerer receives the API's own metrics; nil: none.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// ShutdownTimeout bounds the drain on shutdown (default 5s).
	ShutdownTimeout time.Duration
	// Leader, when set (several replicas), makes a follower forward the
	// mutating calls and the autoscaler reads to the leader's API, with
	// the caller's Authorization header (the leader authorizes them);
	// with no leader known they get 503 not_running. Rollout reads are
	// served locally.
	Leader Leader
	// ReplicaID names this replica in the ForwardedHeader of the calls it
	// forwards.
	ReplicaID string
	// ForwardTimeout bounds a forwarded call (default DefaultForwardTimeout).
	ForwardTimeout time.Duration
	// ForwardTLS verifies the leader's HTTPS certificate (default: the
	// system's roots).
	ForwardTLS *tls.Config
	// Alerts, when set, serves GET /api/v1/alerts (501 otherwise).
	Alerts AlertSource
	// AlertsFrom names the alert source in the answers of GET
	// /api/v1/alerts (AlertList.Source): AlertsEmbedded, or the URL of the
	// Prometheus server (without its password).
	AlertsFrom string
	// Cluster, when set, serves GET /api/v1/replicas.
	Cluster Cluster
	// Mounts are handlers served under a path prefix ending in "/" (such as
	// "/prometheus/" for the embedded Prometheus's API), with the prefix
	// stripped. They are read-only: no token is asked.
	Mounts map[string]http.Handler
}

// Server is the HTTP API.
type Server struct {
	o       Options
	token   []byte
	mux     *http.ServeMux
	log     *slog.Logger
	reqs    *prometheus.CounterVec
	refused *prometheus.CounterVec
	latency *prometheus.HistogramVec
	lis     net.Listener
	tls     *tls.Config
	fwd     *forwarder
}

// Reasons of refused calls, the values of vane_api_requests_refused_total's
// reason label.
const (
	RefusedMissingToken = "missing_token" // no Authorization header or no token in it
	RefusedBadScheme    = "bad_scheme"    // a scheme other than Bearer
	RefusedWrongToken   = "wrong_token"   // a token that does not match http.token_file
)

// Error is the JSON body of every error answer.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// RolloutDetail is the answer of GET /api/v1/rollouts/{name}.
type RolloutDetail struct {
	Rollout rollout.State   `json:"rollout"`
	Events  []rollout.Event `json:"events"`
}

// RolloutList is the answer of GET /api/v1/rollouts.
type RolloutList struct {
	Rollouts []rollout.State `json:"rollouts"`
}

// SLOList is the answer of GET /api/v1/slos.
type SLOList struct {
	SLOs []SLOStatus `json:"slos"`
}

// New builds the server; a configured token file must exist and hold a
// non-empty token.
func New(o Options) (*Server, error) {
	if o.Rollouts == nil {
		return nil, errors.New("api: Options.Rollouts is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Services == nil {
		o.Services, _ = o.Rollouts.(Services)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	if o.ForwardTimeout <= 0 {
		o.ForwardTimeout = DefaultForwardTimeout
	}
	s := &Server{o: o, log: o.Logger, mux: http.NewServeMux(), fwd: newForwarder(o)}
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("api: http.token_file: %w", err)
		}
		s.token = []byte(strings.TrimSpace(string(b)))
		if len(s.token) == 0 {
			return nil, fmt.Errorf("api: http.token_file %s is empty", o.TokenFile)
		}
	}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "api", Name: "requests_total",
		Help: "HTTP API requests by route and status code."}, []string{"route", "code"})
	s.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "vane", Subsystem: "api", Name: "requests_refused_total",
		Help: "Mutating API calls refused for want of a valid bearer token, by reason."}, []string{"reason"})
	for _, r := range []string{RefusedMissingToken, RefusedBadScheme, RefusedWrongToken} {
		s.refused.WithLabelValues(r)
	}
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "vane", Subsystem: "api", Name: "request_duration_seconds",
		Help: "HTTP API request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9)}, []string{"route"})
	if o.Registerer != nil {
		if err := o.Registerer.Register(s.reqs); err != nil {
			return nil, fmt.Errorf("api: metrics: %w", err)
		}
		if err := o.Registerer.Register(s.latency); err != nil {
			return nil, fmt.Errorf("api: metrics: %w", err)
		}
		if err := o.Registerer.Register(s.refused); err != nil {
			return nil, fmt.Errorf("api: metrics: %w", err)
		}
	}
	switch {
	case (o.CertFile == "") != (o.KeyFile == ""):
		return nil, errors.New("api: http.cert_file and http.key_file go together")
	case o.CertFile != "":
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("api: http.cert_file/key_file: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	h := func(pattern, route string, mutating bool, f http.HandlerFunc) {
		s.mux.Handle(pattern, s.instrument(route, mutating, f))
	}
	h("GET /healthz", "healthz", false, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h("GET /readyz", "readyz", false, s.readyz)
	if s.o.Metrics != nil {
		s.mux.Handle("GET /metrics", s.o.Metrics)
	}
	h("GET /api/v1/rollouts", "rollouts", false, s.list)
	h("POST /api/v1/rollouts", "rollouts", true, s.start)
	h("GET /api/v1/rollouts/{name}", "rollout", false, s.get)
	h("POST /api/v1/rollouts/{name}/{action}", "rollout_action", true, s.action)
	h("GET /api/v1/slos", "slos", false, s.slos)
	s.sloHistoryRoutes(h)
	h("GET /api/v1/replicas", "replicas", false, s.replicas)
	s.autoscaleRoutes(h)
	s.serviceRoutes(h)
	s.alertRoutes(h)
	for prefix, mh := range s.o.Mounts {
		route := strings.Trim(prefix, "/")
		s.mux.Handle(prefix, s.instrument(route, false, http.StripPrefix(strings.TrimSuffix(prefix, "/"), mh).ServeHTTP))
	}
	h("GET /{$}", "ui", false, func(w http.ResponseWriter, r *http.Request) {
		b, _ := ui.ReadFile("ui/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(b)
	})
	h("/", "not_found", false, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
}

// Handler returns the API's handler.
func (s *Server) Handler() http.Handler { return s.mux }

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

// Flush lets streaming answers through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument counts every request by route and code and times the ones it
// serves with promhttp's handler instrumentation. Mutating routes first check
// the bearer token (a refused call is counted, not timed) and are audited.
func (s *Server) instrument(route string, mutating bool, f http.HandlerFunc) http.Handler {
	reqs := s.reqs.MustCurryWith(prometheus.Labels{"route": route})
	timed := promhttp.InstrumentHandlerDuration(s.latency.MustCurryWith(prometheus.Labels{"route": route}), f)
	if !mutating {
		if s.fwd != nil && (route == "autoscalers" || route == "autoscaler") {
			// Only the leader runs the autoscalers.
			return promhttp.InstrumentHandlerCounter(reqs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !s.fwd.serve(w, r) {
					timed.ServeHTTP(w, r)
				}
			}))
		}
		return promhttp.InstrumentHandlerCounter(reqs, timed)
	}
	return promhttp.InstrumentHandlerCounter(reqs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		if s.fwd != nil && s.fwd.serve(sw, r) {
			s.audit(r, sw.code, "forwarded", "")
			return
		}
		if reason := s.authorize(sw, r); reason != "" {
			s.refused.WithLabelValues(reason).Inc()
			s.audit(r, sw.code, "refused", reason)
			return
		}
		timed.ServeHTTP(sw, r)
		outcome := "accepted"
		if sw.code >= 400 {
			outcome = "failed"
		}
		s.audit(r, sw.code, outcome, "")
	}))
}

// audit logs one mutating call: who (the caller's address), what, and the
// outcome: refused (no valid token), failed (an error answer) or accepted.
func (s *Server) audit(r *http.Request, code int, outcome, reason string) {
	lvl := slog.LevelInfo
	args := []any{"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "code", code, "outcome", outcome}
	if reason != "" {
		lvl = slog.LevelWarn
		args = append(args, "reason", reason)
	}
	s.log.Log(r.Context(), lvl, "API call", args...)
}

// authorize answers 401 or 403 and returns the reason when the call lacks
// a valid bearer token; it returns "" for an authorized call. The scheme
// is case-insensitive (RFC 9110 §11.1).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) string {
	if s.token == nil {
		return ""
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	unauthorized := func(reason, msg string) string {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vane"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", msg)
		return reason
	}
	switch {
	case h == "":
		return unauthorized(RefusedMissingToken, "this call needs an Authorization: Bearer <token> header (http.token_file is set)")
	case !strings.EqualFold(scheme, "Bearer"):
		return unauthorized(RefusedBadScheme, fmt.Sprintf("the Authorization scheme %q is not Bearer", scheme))
	case tok == "":
		return unauthorized(RefusedMissingToken, "the Authorization header holds no token after Bearer")
	}
	if subtle.ConstantTimeCompare([]byte(tok), s.token) != 1 {
		writeError(w, http.StatusForbidden, "forbidden", "the bearer token does not match http.token_file")
		return RefusedWrongToken
	}
	return ""
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.o.Ready != nil && !s.o.Ready() {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "vane is starting or stopping")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, RolloutList{Rollouts: s.o.Rollouts.List()})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n := 20
	if v := r.URL.Query().Get("events"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("query parameter events: %q is not a count", v))
			return
		}
	}
	st, err := s.o.Rollouts.Get(name)
	if err != nil {
		writeErr(w, err)
		return
	}
	evs, err := s.o.Rollouts.History(name, n)
	if err != nil {
		writeErr(w, err)
		return
	}
	if evs == nil {
		evs = []rollout.Event{}
	}
	writeJSON(w, http.StatusOK, RolloutDetail{Rollout: st, Events: evs})
}

const maxBody = 1 << 20

// badBody answers a request whose body decode refused: 413 when it was too
// large, else 400.
func badBody(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, "bad_request", err.Error())
}

// decode reads a JSON body strictly: unknown fields, trailing data and
// wrong types are errors naming the place.
func decode(r *http.Request, into any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("Content-Type %q: application/json is expected", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return fmt.Errorf("request body: larger than %d bytes: %w", maxBody, err)
		case errors.Is(err, io.EOF):
			return errors.New("request body: empty; a JSON object is expected")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("request body: invalid JSON: it ends too early")
		case errors.As(err, &se):
			return fmt.Errorf("request body: invalid JSON at byte %d: %w", se.Offset, err)
		case errors.As(err, &te):
			return fmt.Errorf("request body: field %q: %s is not a %s", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return errors.New("request body: unexpected data after the JSON object")
	}
	return nil
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	var req rollout.StartRequest
	if err := decode(r, &req); err != nil {
		badBody(w, err)
		return
	}
	st, err := s.o.Rollouts.Start(r.Context(), req)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/rollouts/"+st.Name)
	writeJSON(w, http.StatusCreated, st)
}

// ActionRequest is the optional body of POST /api/v1/rollouts/{name}/promote.
type ActionRequest struct {
	// Full skips every remaining step (promote --full).
	Full bool `json:"full,omitempty"`
}

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	var cmd rollout.Command
	switch action {
	case "promote", "abort", "pause", "resume":
		cmd = rollout.Command(action)
	default:
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("unknown action %q (one of promote, abort, pause, resume)", action))
		return
	}
	var req ActionRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			badBody(w, err)
			return
		}
	}
	if full := r.URL.Query().Get("full"); full != "" {
		b, err := strconv.ParseBool(full)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("query parameter full: %q is not a boolean", full))
			return
		}
		req.Full = req.Full || b
	}
	if req.Full {
		if cmd != rollout.CmdPromote {
			writeError(w, http.StatusBadRequest, "bad_request", "full applies to promote only")
			return
		}
		cmd = rollout.CmdPromoteFull
	}
	st, err := s.o.Rollouts.Command(r.Context(), name, cmd)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) slos(w http.ResponseWriter, r *http.Request) {
	if s.o.SLOs == nil {
		writeJSON(w, http.StatusOK, SLOList{SLOs: []SLOStatus{}})
		return
	}
	st, err := s.o.SLOs.Status(r.Context(), time.Now())
	if err != nil {
		writeError(w, http.StatusBadGateway, "slo_status", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, SLOList{SLOs: st})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, c, msg string) {
	writeJSON(w, code, Error{Error: msg, Code: c})
}

func writeErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, rollout.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, rollout.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, rollout.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
	case errors.Is(err, rollout.ErrNotRunning):
		writeError(w, http.StatusServiceUnavailable, "not_running", err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "timeout", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

// TLS reports whether the server speaks HTTPS.
func (s *Server) TLS() bool { return s.tls != nil }

// Listen binds addr; Addr then reports the bound address.
func (s *Server) Listen(addr string) (net.Addr, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("api: listen %s: %w", addr, err)
	}
	s.lis = lis
	if ta, ok := lis.Addr().(*net.TCPAddr); ok && s.token == nil && !ta.IP.IsLoopback() {
		s.log.Warn("Anyone who can reach the API can change rollouts and autoscalers: set http.token_file, or listen on loopback", "http", lis.Addr().String())
	}
	return lis.Addr(), nil
}

// Run serves until ctx ends, then drains within ShutdownTimeout. Call
// Listen first, or Run listens on addr.
func (s *Server) Run(ctx context.Context, addr string) error {
	if s.lis == nil {
		if _, err := s.Listen(addr); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: s.tls,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			errc <- srv.ServeTLS(s.lis, "", "")
			return
		}
		errc <- srv.Serve(s.lis)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}
