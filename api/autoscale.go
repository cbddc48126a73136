package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/slo"
)

// Autoscalers is what the API needs from the autoscalers; the
// autoscale.Manager implements it. Methods are safe for concurrent use and
// return errors wrapping autoscale.ErrNotFound or ErrConflict.
type Autoscalers interface {
	List() []autoscale.Status
	Get(name string) (autoscale.Status, error)
	Pause(name, reason string) error
	Resume(name string) error
}

// AutoscalerList is the answer of GET /api/v1/autoscalers.
type AutoscalerList struct {
	Autoscalers []autoscale.Status `json:"autoscalers"`
}

// PauseRequest is the optional body of POST /api/v1/autoscalers/{name}/pause.
type PauseRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (s *Server) autoscaleRoutes(h func(pattern, route string, mutating bool, f http.HandlerFunc)) {
	h("GET /api/v1/autoscalers", "autoscalers", false, s.autoscalers)
	h("GET /api/v1/autoscalers/{name}", "autoscaler", false, s.autoscaler)
	h("POST /api/v1/autoscalers/{name}/{action}", "autoscaler_action", true, s.autoscalerAction)
}

func (s *Server) autoscalers(w http.ResponseWriter, r *http.Request) {
	out := AutoscalerList{Autoscalers: []autoscale.Status{}}
	if s.o.Autoscalers != nil {
		out.Autoscalers = append(out.Autoscalers, s.o.Autoscalers.List()...)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) autoscaler(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.o.Autoscalers == nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("autoscaler %q: no autoscalers are configured", name))
		return
	}
	st, err := s.o.Autoscalers.Get(name)
	if err != nil {
		writeAutoscaleErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) autoscalerAction(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	if action != "pause" && action != "resume" {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("unknown action %q (one of pause, resume)", action))
		return
	}
	var req PauseRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
	}
	if req.Reason != "" && action != "pause" {
		writeError(w, http.StatusBadRequest, "bad_request", "reason applies to pause only")
		return
	}
	if s.o.Autoscalers == nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("autoscaler %q: no autoscalers are configured", name))
		return
	}
	var err error
	if action == "pause" {
		err = s.o.Autoscalers.Pause(name, req.Reason)
	} else {
		err = s.o.Autoscalers.Resume(name)
	}
	if err != nil {
		writeAutoscaleErr(w, err)
		return
	}
	st, err := s.o.Autoscalers.Get(name)
	if err != nil {
		writeAutoscaleErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func writeAutoscaleErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, autoscale.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, autoscale.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		writeErr(w, err)
	}
}

// SLOSignal reads the named SLO's page-tier burn rates (its first page
// tier's long and short windows) and its remaining budget, for the slo and
// queue recommenders (autoscale.SLOReader).
func (e *SLOEvaluator) SLOSignal(ctx context.Context, name string, now time.Time) (autoscale.SLOSignal, error) {
	sig := autoscale.SLOSignal{SLO: name, BurnLong: math.NaN(), BurnShort: math.NaN(), Budget: math.NaN()}
	s := e.find(name)
	if s == nil {
		return sig, fmt.Errorf("no SLO named %q", name)
	}
	var page *slo.Tier
	for _, t := range s.Tiers() {
		if t.Severity == slo.SeverityPage {
			page = &t
			break
		}
	}
	if page == nil {
		return sig, fmt.Errorf("SLO %q has no page tier", name)
	}
	b, err := e.Budget(ctx, s.ID(), now)
	if err != nil {
		return sig, fmt.Errorf("budget: %w", err)
	}
	sig.Budget = b
	sig.PageBurnRate = page.BurnRate
	for _, w := range []struct {
		d  time.Duration
		to *float64
	}{{page.Long, &sig.BurnLong}, {page.Short, &sig.BurnShort}} {
		r, err := e.ratio(ctx, s, w.d, now)
		if errors.Is(err, errNoTraffic) {
			*w.to = 0
			continue
		}
		if err != nil {
			return sig, fmt.Errorf("burn rate over %s: %w", slo.FormatDuration(w.d), err)
		}
		*w.to = r / s.ErrorBudget()
	}
	return sig, nil
}
