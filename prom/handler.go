package prom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// maxPoints is Prometheus's limit on points per series of a range query.
const maxPoints = 11000

// Handler serves the part of Prometheus's HTTP API that dashboards and
// scripts need to read the embedded TSDB: /api/v1/query and
// /api/v1/query_range (GET or form POST, with the same parameters, answers
// and error types as Prometheus), /api/v1/alerts, /api/v1/labels,
// /api/v1/label/{name}/values, and /-/healthy and /-/ready. Grafana's
// Prometheus data source can point at it.
func (e *Embedded) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/query", e.handleQuery)
	mux.HandleFunc("/api/v1/query_range", e.handleQueryRange)
	mux.HandleFunc("GET /api/v1/alerts", e.handleAlerts)
	mux.HandleFunc("GET /api/v1/labels", e.handleLabels)
	mux.HandleFunc("GET /api/v1/label/{name}/values", e.handleLabelValues)
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK\n")) }
	mux.HandleFunc("GET /-/healthy", ok)
	mux.HandleFunc("GET /-/ready", ok)
	return mux
}

type apiResponse struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

type queryData struct {
	ResultType string `json:"resultType"`
	Result     any    `json:"result"`
}

func writeAPI(w http.ResponseWriter, code int, r apiResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

func apiError(w http.ResponseWriter, errType string, err error) {
	code := map[string]int{
		"bad_data":  http.StatusBadRequest,
		"execution": http.StatusUnprocessableEntity,
		"timeout":   http.StatusServiceUnavailable,
		"canceled":  499,
		"internal":  http.StatusInternalServerError,
	}[errType]
	writeAPI(w, code, apiResponse{Status: "error", ErrorType: errType, Error: err.Error()})
}

// parseTime accepts Unix seconds (with fractions) or RFC 3339, as Prometheus does.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000)*1e6)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration accepts seconds (with fractions) or a Prometheus duration.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		d := f * float64(time.Second)
		if math.IsNaN(d) || d >= math.MaxInt64 || d < math.MinInt64 {
			return 0, fmt.Errorf("cannot parse %q to a valid duration: it overflows int64", s)
		}
		return time.Duration(d), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// queryContext applies the request's optional timeout parameter.
func queryContext(r *http.Request) (context.Context, context.CancelFunc, error) {
	if s := r.FormValue("timeout"); s != "" {
		d, err := parseDuration(s)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid parameter 'timeout': %w", err)
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithCancel(r.Context())
	return ctx, cancel, nil
}

// parseQueryForm accepts GET and POST query requests and parses their
// parameters; on failure it has answered the request and returns false.
func parseQueryForm(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	if err := r.ParseForm(); err != nil {
		apiError(w, "bad_data", fmt.Errorf("error parsing form values: %w", err))
		return false
	}
	return true
}

func (e *Embedded) handleQuery(w http.ResponseWriter, r *http.Request) {
	if !parseQueryForm(w, r) {
		return
	}
	qs := r.FormValue("query")
	ts, err := parseTime(r.FormValue("time"), time.Now())
	if err != nil {
		apiError(w, "bad_data", fmt.Errorf("invalid parameter 'time': %w", err))
		return
	}
	ctx, cancel, err := queryContext(r)
	if err != nil {
		apiError(w, "bad_data", err)
		return
	}
	defer cancel()
	res, err := e.eval(ctx, qs, func(ctx context.Context) (promql.Query, error) {
		return e.engine.NewInstantQuery(ctx, e.db, nil, qs, ts)
	})
	e.writeResult(w, qs, res, err)
}

func (e *Embedded) handleQueryRange(w http.ResponseWriter, r *http.Request) {
	if !parseQueryForm(w, r) {
		return
	}
	qs := r.FormValue("query")
	start, err := parseTime(r.FormValue("start"), time.Time{})
	if err != nil || start.IsZero() {
		apiError(w, "bad_data", fmt.Errorf("invalid parameter 'start': %v", orMissing(err)))
		return
	}
	end, err := parseTime(r.FormValue("end"), time.Time{})
	if err != nil || end.IsZero() {
		apiError(w, "bad_data", fmt.Errorf("invalid parameter 'end': %v", orMissing(err)))
		return
	}
	if end.Before(start) {
		apiError(w, "bad_data", errors.New("end timestamp must not be before start time"))
		return
	}
	step, err := parseDuration(r.FormValue("step"))
	if err != nil {
		apiError(w, "bad_data", fmt.Errorf("invalid parameter 'step': %w", err))
		return
	}
	if step <= 0 {
		apiError(w, "bad_data", errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"))
		return
	}
	if end.Sub(start)/step > maxPoints {
		apiError(w, "bad_data", errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"))
		return
	}
	ctx, cancel, err := queryContext(r)
	if err != nil {
		apiError(w, "bad_data", err)
		return
	}
	defer cancel()
	res, err := e.eval(ctx, qs, func(ctx context.Context) (promql.Query, error) {
		return e.engine.NewRangeQuery(ctx, e.db, nil, qs, start, end, step)
	})
	e.writeResult(w, qs, res, err)
}

func orMissing(err error) error {
	if err == nil {
		return errors.New("missing")
	}
	return err
}

func (e *Embedded) writeResult(w http.ResponseWriter, qs string, res *promql.Result, err error) {
	if err != nil {
		var qe *QueryError
		errors.As(err, &qe)
		cause := err
		if qe != nil && qe.Err != nil {
			cause = qe.Err
		}
		switch KindOf(err) {
		case KindTimeout:
			apiError(w, "timeout", cause)
		case KindCanceled:
			apiError(w, "canceled", cause)
		case KindServer:
			apiError(w, "internal", cause)
		default:
			if qs == "" {
				apiError(w, "bad_data", errors.New("invalid parameter 'query': empty query"))
				return
			}
			// Parse errors are bad_data in Prometheus; other failures are
			// execution errors.
			if isParseError(cause) {
				apiError(w, "bad_data", cause)
			} else {
				apiError(w, "execution", cause)
			}
		}
		return
	}
	writeAPI(w, http.StatusOK, apiResponse{
		Status:   "success",
		Data:     queryData{ResultType: string(res.Value.Type()), Result: res.Value},
		Warnings: warningsOf(res, qs),
	})
}

func (e *Embedded) handleAlerts(w http.ResponseWriter, _ *http.Request) {
	type alert struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		State       string            `json:"state"`
		ActiveAt    time.Time         `json:"activeAt"`
		Value       string            `json:"value"`
	}
	alerts := []alert{}
	for _, a := range e.Alerts() {
		ann := a.Annotations
		if ann == nil {
			ann = map[string]string{}
		}
		alerts = append(alerts, alert{Labels: a.Labels, Annotations: ann, State: a.State, ActiveAt: a.ActiveAt,
			Value: strconv.FormatFloat(a.Value, 'e', -1, 64)})
	}
	writeAPI(w, http.StatusOK, apiResponse{Status: "success", Data: map[string]any{"alerts": alerts}})
}

func (e *Embedded) handleLabels(w http.ResponseWriter, r *http.Request) {
	e.labelQuery(w, r, "")
}

func (e *Embedded) handleLabelValues(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		apiError(w, "bad_data", fmt.Errorf("invalid label name: %q", name))
		return
	}
	e.labelQuery(w, r, name)
}

// labelQuery answers label names (name == "") or one label's values over
// the optional start/end range (default: the last 6 hours).
func (e *Embedded) labelQuery(w http.ResponseWriter, r *http.Request, name string) {
	now := time.Now()
	start, err := parseTime(r.FormValue("start"), now.Add(-6*time.Hour))
	if err != nil {
		apiError(w, "bad_data", fmt.Errorf("invalid parameter 'start': %w", err))
		return
	}
	end, err := parseTime(r.FormValue("end"), now)
	if err != nil {
		apiError(w, "bad_data", fmt.Errorf("invalid parameter 'end': %w", err))
		return
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		apiError(w, "internal", errors.New("embedded Prometheus is closed"))
		return
	}
	q, err := e.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		apiError(w, "internal", err)
		return
	}
	defer q.Close()
	var vals []string
	if name == "" {
		vals, _, err = q.LabelNames(r.Context(), nil)
	} else {
		vals, _, err = q.LabelValues(r.Context(), name, nil)
	}
	if err != nil {
		apiError(w, "execution", err)
		return
	}
	if vals == nil {
		vals = []string{}
	}
	writeAPI(w, http.StatusOK, apiResponse{Status: "success", Data: vals})
}

// isParseError reports whether err is a PromQL syntax error, which
// Prometheus answers with bad_data rather than an execution error.
func isParseError(err error) bool {
	var errs parser.ParseErrors
	var one *parser.ParseErr
	return errors.As(err, &errs) || errors.As(err, &one)
}
