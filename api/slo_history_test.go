package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/slo"
)

// recordedHistories answers History with the times and step it was asked
// for, as points, so that the test sees what the parameters became.
type recordedHistories struct {
	slos []*slo.SLO
	err  error
}

func (h recordedHistories) Find(service, name string) *slo.SLO {
	for _, s := range h.slos {
		if s.Service == service && s.Name == name {
			return s
		}
	}
	return nil
}

func (h recordedHistories) History(ctx context.Context, s *slo.SLO, start, end time.Time, step time.Duration) (slo.History, error) {
	return slo.History{ID: s.ID(), Start: start, End: end, Step: slo.FormatDuration(step), Budget: []slo.Point{}, BurnRates: []slo.WindowHistory{}}, h.err
}

func TestSLOHistoryParameters(t *testing.T) {
	hs := recordedHistories{slos: []*slo.SLO{{Service: "checkout", Name: "availability", Objective: 99}}}
	e := newEnvWith(t, "secret", func(o *Options) { o.SLOHistory = hs })
	const path = "/api/v1/slos/checkout/availability/history"
	for query, want := range map[string]struct {
		code       int
		step       string
		span       time.Duration
		errContain string
	}{
		"":                                      {code: 200, step: "1m30s", span: 6 * time.Hour},
		"?range=1h":                             {code: 200, step: "15s", span: time.Hour},
		"?range=10m&step=1s":                    {code: 200, step: "1s", span: 10 * time.Minute},
		"?range=7d&step=15m":                    {code: 200, step: "15m", span: 7 * 24 * time.Hour},
		"?range=2h&end=2026-11-30T06:00:00Z":    {code: 200, step: "30s", span: 2 * time.Hour},
		"?range=8d":                             {code: 400, errContain: "range: 8d is longer than the 7d allowed"},
		"?range=soon":                           {code: 400, errContain: `range: "soon" is not a positive duration`},
		"?range=0s":                             {code: 400, errContain: "range"},
		"?step=0s":                              {code: 400, errContain: `step: "0s" is not a duration of 1s or more`},
		"?step=500ms":                           {code: 400, errContain: "step"},
		"?range=6h&step=10s":                    {code: 400, errContain: "gives 2161 points per series, more than the 1000 allowed: use a step of 22s or more"},
		"?end=yesterday":                        {code: 400, errContain: `end: "yesterday" is neither an RFC 3339 time nor unix seconds`},
		"?end=NaN":                              {code: 400, errContain: "end"},
		"?range=1h&end=1764482400&step=1m":      {code: 200, step: "1m", span: time.Hour},
		"?range=6h&step=22s":                    {code: 200, step: "22s", span: 6 * time.Hour},
		"?range=1h&step=30s&end=1764482400.500": {code: 200, step: "30s", span: time.Hour},
	} {
		a := e.do("GET", path+query, "", "")
		if a.code != want.code {
			t.Errorf("%s: HTTP %d, want %d: %s", query, a.code, want.code, a.body)
			continue
		}
		if want.code != 200 {
			if a.err.Code != "bad_request" || !strings.Contains(a.err.Error, want.errContain) {
				t.Errorf("%s: error %+v, want one containing %q", query, a.err, want.errContain)
			}
			continue
		}
		var h SLOHistory
		if err := json.Unmarshal([]byte(a.body), &h); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if h.Step != want.step || h.End.Sub(h.Start) != want.span || h.ID != "checkout-availability" {
			t.Errorf("%s: step %s, span %s, id %s; want %s, %s", query, h.Step, h.End.Sub(h.Start), h.ID, want.step, want.span)
		}
	}
	// Reading needs no token; unknown SLOs are 404; a failing querier 502.
	if a := e.do("GET", "/api/v1/slos/checkout/latency/history", "", ""); a.code != http.StatusNotFound || !strings.Contains(a.err.Error, `no SLO "latency" of service "checkout"`) {
		t.Errorf("unknown SLO: %d %s", a.code, a.body)
	}
	e2 := newEnvWith(t, "", func(o *Options) {
		o.SLOHistory = recordedHistories{slos: hs.slos, err: fmt.Errorf("query failed: %w", slo.ErrRangeUnsupported)}
	})
	if a := e2.do("GET", path, "", ""); a.code != http.StatusNotImplemented {
		t.Errorf("a querier without range queries: %d %s", a.code, a.body)
	}
	e3 := newEnvWith(t, "", func(o *Options) {
		o.SLOHistory = recordedHistories{slos: hs.slos, err: fmt.Errorf("history of checkout-availability: connection refused")}
	})
	if a := e3.do("GET", path, "", ""); a.code != http.StatusBadGateway || !strings.Contains(a.err.Error, "connection refused") {
		t.Errorf("a failing querier: %d %s", a.code, a.body)
	}
	e4 := newEnv(t, "")
	if a := e4.do("GET", path, "", ""); a.code != http.StatusNotFound || !strings.Contains(a.err.Error, "no SLOs are configured") {
		t.Errorf("without SLOs: %d %s", a.code, a.body)
	}
}

// TestListenWarnsWithoutTokenOffLoopback: without a token, a listener
// that is not on loopback lets anyone change things: Listen says so; on
// loopback, or with a token, it does not.
func TestListenWarnsWithoutTokenOffLoopback(t *testing.T) {
	e := newEnv(t, "")
	dir := t.TempDir()
	tokenFile := dir + "/token"
	if err := os.WriteFile(tokenFile, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr, token string
		warns       bool
	}{{"0.0.0.0:0", "", true}, {"127.0.0.1:0", "", false}, {"0.0.0.0:0", tokenFile, false}} {
		var logs lockedBuffer
		s, err := New(Options{Rollouts: e.m, TokenFile: tc.token, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Listen(tc.addr); err != nil {
			t.Fatal(err)
		}
		_ = s.lis.Close()
		if got := strings.Contains(logs.String(), "Anyone who can reach the API can change"); got != tc.warns {
			t.Errorf("%s, token %q: warned %v, want %v: %s", tc.addr, tc.token, got, tc.warns, logs.String())
		}
	}
}
