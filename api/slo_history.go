package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/vaneproj/vane/slo"
)

// SLOHistories computes an SLO's burn rates and budget over time; the
// slo.Evaluator implements it (through a querier that runs range queries:
// the embedded Prometheus or a Prometheus server).
type SLOHistories interface {
	// Find returns the SLO of service named name, or nil.
	Find(service, name string) *slo.SLO
	// History computes s's burn rate per tier window and its budget
	// remaining from start to end every step.
	History(ctx context.Context, s *slo.SLO, start, end time.Time, step time.Duration) (slo.History, error)
}

// SLOHistory is the answer of GET /api/v1/slos/{service}/{slo}/history.
type SLOHistory = slo.History

// Bounds of GET /api/v1/slos/{service}/{slo}/history.
const (
	// DefaultHistoryRange is the range read when the call gives none.
	DefaultHistoryRange = 6 * time.Hour
	// MaxHistoryRange is the longest range a call may ask for.
	MaxHistoryRange = 7 * 24 * time.Hour
	// MaxHistoryPoints is the most points per series a call may ask for
	// (range / step + 1).
	MaxHistoryPoints = 1000
	// defaultHistoryPoints sets the default step: range / 240.
	defaultHistoryPoints = 240
)

func (s *Server) sloHistoryRoutes(h func(pattern, route string, mutating bool, f http.HandlerFunc)) {
	h("GET /api/v1/slos/{service}/{slo}/history", "slo_history", false, s.sloHistory)
}

func (s *Server) histories() SLOHistories {
	if s.o.SLOHistory != nil {
		return s.o.SLOHistory
	}
	if h, ok := s.o.SLOs.(SLOHistories); ok {
		return h
	}
	return nil
}

// sloHistory serves GET /api/v1/slos/{service}/{slo}/history: range (a
// duration, default 6h, at most 7d), end (RFC 3339 or unix seconds,
// default now) and step (a duration, default range/240 rounded up to the
// second; at most MaxHistoryPoints points).
func (s *Server) sloHistory(w http.ResponseWriter, r *http.Request) {
	service, name := r.PathValue("service"), r.PathValue("slo")
	hs := s.histories()
	if hs == nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("SLO %s/%s: no SLOs are configured", service, name))
		return
	}
	sl := hs.Find(service, name)
	if sl == nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no SLO %q of service %q", name, service))
		return
	}
	start, end, step, err := historyParams(r, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	hist, err := hs.History(r.Context(), sl, start, end, step)
	switch {
	case errors.Is(err, slo.ErrRangeUnsupported):
		writeError(w, http.StatusNotImplemented, "not_implemented", err.Error())
		return
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "timeout", err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadGateway, "slo_history", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, hist)
}

// historyParams reads range, end and step; an error names the parameter.
func historyParams(r *http.Request, now time.Time) (start, end time.Time, step time.Duration, err error) {
	q := r.URL.Query()
	rng := DefaultHistoryRange
	if v := q.Get("range"); v != "" {
		if rng, err = slo.ParseDuration(v); err != nil || rng <= 0 {
			return start, end, 0, fmt.Errorf("query parameter range: %q is not a positive duration such as 6h or 90m", v)
		}
		if rng > MaxHistoryRange {
			return start, end, 0, fmt.Errorf("query parameter range: %s is longer than the %s allowed", v, slo.FormatDuration(MaxHistoryRange))
		}
	}
	end = now
	if v := q.Get("end"); v != "" {
		if end, err = parseTime(v); err != nil {
			return start, end, 0, fmt.Errorf("query parameter end: %q is neither an RFC 3339 time nor unix seconds", v)
		}
	}
	start = end.Add(-rng)
	step = time.Duration(max(1, math.Ceil(rng.Seconds()/defaultHistoryPoints))) * time.Second
	if v := q.Get("step"); v != "" {
		if step, err = slo.ParseDuration(v); err != nil || step < time.Second {
			return start, end, 0, fmt.Errorf("query parameter step: %q is not a duration of 1s or more such as 30s or 1m", v)
		}
	}
	if n := int64(rng/step) + 1; n > MaxHistoryPoints {
		return start, end, 0, fmt.Errorf("query parameter step: %s over %s gives %d points per series, more than the %d allowed: use a step of %s or more",
			slo.FormatDuration(step), slo.FormatDuration(rng), n, MaxHistoryPoints, slo.FormatDuration(time.Duration(math.Ceil(rng.Seconds()/(MaxHistoryPoints-1)))*time.Second))
	}
	return start, end, step, nil
}

// parseTime reads RFC 3339 or (fractional) unix seconds, as Prometheus's
// API does.
func parseTime(v string) (time.Time, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, errors.New("not a finite time")
		}
		return time.UnixMilli(int64(math.Round(f * 1000))), nil
	}
	return time.Parse(time.RFC3339Nano, v)
}
