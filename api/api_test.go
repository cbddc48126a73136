package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"

	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	t   *testing.T
	srv *httptest.Server
	m   *rollout.Manager
}

func newEnv(t *testing.T, token string) *env {
	t.Helper()
	return newEnvWith(t, token, nil)
}

// newEnvWith is newEnv with a chance to change the API's options.
func newEnvWith(t *testing.T, token string, edit func(*Options)) *env {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "vane.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	router := traffic.RouterFunc(func(ctx context.Context, svc traffic.Service, r traffic.Routing) (traffic.Applied, error) {
		return traffic.Applied{Version: "1"}, nil
	})
	reg := prometheus.NewRegistry()
	svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:9001"}}}
	plan := rollout.Plan{Steps: []rollout.PlanStep{rollout.WeightStep(10), rollout.PauseFor(0)}}
	m, err := rollout.NewManager(rollout.Options{Router: router, Store: db, Metrics: rollout.NewMetrics(reg)},
		[]rollout.ServiceConfig{{Service: svc, Plan: plan}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	for !m.Ready() {
		time.Sleep(time.Millisecond)
	}
	o := Options{Rollouts: m, Ready: m.Ready, Registerer: reg, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	if token != "" {
		o.TokenFile = filepath.Join(dir, "token")
		if err := os.WriteFile(o.TokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		_ = db.Close()
	})
	return &env{t: t, srv: srv, m: m}
}

type answer struct {
	code int
	body string
	err  Error
}

func (e *env) do(method, path, token, body string) answer {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, body: string(b)}
	if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &a.err); err != nil {
			e.t.Fatalf("error body is not JSON: %s", b)
		}
	}
	return a
}

const startBody = `{"service":"checkout","version":"v2","endpoints":["127.0.0.1:9002"]}`

func TestMutatingCallsNeedTheToken(t *testing.T) {
	e := newEnv(t, "s3cret")
	for name, tc := range map[string]struct {
		token string
		code  int
		ecode string
	}{
		"no token is 401":      {"", 401, "unauthorized"},
		"a wrong token is 403": {"guess", 403, "forbidden"},
	} {
		a := e.do("POST", "/api/v1/rollouts", tc.token, startBody)
		if a.code != tc.code || a.err.Code != tc.ecode || a.err.Error == "" {
			t.Errorf("%s: got %d %+v", name, a.code, a.err)
		}
		a = e.do("POST", "/api/v1/rollouts/checkout/abort", tc.token, "")
		if a.code != tc.code {
			t.Errorf("%s: abort got %d", name, a.code)
		}
	}
	if l := e.m.List(); len(l) != 0 {
		t.Fatalf("refused calls started a rollout: %+v", l)
	}
	// Reads need no token.
	if a := e.do("GET", "/api/v1/rollouts", "", ""); a.code != 200 {
		t.Fatalf("GET rollouts: %d %s", a.code, a.body)
	}
	if a := e.do("POST", "/api/v1/rollouts", "s3cret", startBody); a.code != 201 {
		t.Fatalf("start with the token: %d %s", a.code, a.body)
	}
}

func TestSecondStartIs409AndChangesNothing(t *testing.T) {
	e := newEnv(t, "")
	if a := e.do("POST", "/api/v1/rollouts", "", startBody); a.code != 201 {
		t.Fatalf("start: %d %s", a.code, a.body)
	}
	waitFor(t, func() bool { st, _ := e.m.Get("checkout"); return st.Phase == rollout.Paused })
	before, _ := e.m.Get("checkout")
	a := e.do("POST", "/api/v1/rollouts", "", `{"service":"checkout","version":"v3","endpoints":["127.0.0.1:9003"]}`)
	if a.code != 409 || a.err.Code != "conflict" || !strings.Contains(a.err.Error, "already Paused") {
		t.Fatalf("second start: %d %+v", a.code, a.err)
	}
	after, _ := e.m.Get("checkout")
	if after.Seq != before.Seq || after.Service.Canary.Version != "v2" {
		t.Fatalf("the refused start changed the rollout")
	}
	// Commands: resume (the pause step) promotes; a second resume is a 409.
	if a := e.do("POST", "/api/v1/rollouts/checkout/resume", "", ""); a.code != 200 {
		t.Fatalf("resume: %d %s", a.code, a.body)
	}
	waitFor(t, func() bool { st, _ := e.m.Get("checkout"); return st.Phase == rollout.Succeeded })
	if a := e.do("POST", "/api/v1/rollouts/checkout/resume", "", ""); a.code != 409 {
		t.Fatalf("resume after success: %d %s", a.code, a.body)
	}
	a = e.do("GET", "/api/v1/rollouts/checkout?events=100", "", "")
	var d RolloutDetail
	if err := json.Unmarshal([]byte(a.body), &d); err != nil || a.code != 200 {
		t.Fatalf("GET rollout: %d %v", a.code, err)
	}
	if d.Rollout.Phase != rollout.Succeeded || len(d.Events) < 5 || d.Events[len(d.Events)-1].Type != rollout.EvSucceeded {
		t.Fatalf("detail: %s with %d events", d.Rollout.Phase, len(d.Events))
	}
}

func TestBadRequestsAreClearAndChangeNothing(t *testing.T) {
	e := newEnv(t, "")
	for name, tc := range map[string]struct {
		method, path, body string
		code               int
		ecode, contains    string
	}{
		"invalid JSON":        {"POST", "/api/v1/rollouts", `{"service":`, 400, "bad_request", "invalid JSON"},
		"an unknown field":    {"POST", "/api/v1/rollouts", `{"service":"checkout","versoin":"v2"}`, 400, "bad_request", `unknown field "versoin"`},
		"a wrong type":        {"POST", "/api/v1/rollouts", `{"service":"checkout","version":2}`, 400, "bad_request", `field "version"`},
		"an empty body":       {"POST", "/api/v1/rollouts", ``, 400, "bad_request", "empty"},
		"trailing data":       {"POST", "/api/v1/rollouts", startBody + `{}`, 400, "bad_request", "after the JSON object"},
		"an unknown service":  {"POST", "/api/v1/rollouts", `{"service":"cart","version":"v2","endpoints":["a:1"]}`, 404, "not_found", `unknown service "cart"`},
		"a bad endpoint":      {"POST", "/api/v1/rollouts", `{"service":"checkout","version":"v2","endpoints":["nohost"]}`, 400, "invalid", "canary.endpoints[0]"},
		"no version":          {"POST", "/api/v1/rollouts", `{"service":"checkout","endpoints":["a:1"]}`, 400, "invalid", "version: required"},
		"an unknown rollout":  {"GET", "/api/v1/rollouts/nope", "", 404, "not_found", `"nope"`},
		"an unknown action":   {"POST", "/api/v1/rollouts/checkout/explode", "", 404, "not_found", "unknown action"},
		"no rollout to abort": {"POST", "/api/v1/rollouts/checkout/abort", "", 404, "not_found", "no rollout"},
		"full on abort":       {"POST", "/api/v1/rollouts/checkout/abort?full=true", "", 400, "bad_request", "promote only"},
		"an unknown path":     {"GET", "/api/v2/things", "", 404, "not_found", "no route"},
	} {
		a := e.do(tc.method, tc.path, "", tc.body)
		if a.code != tc.code || a.err.Code != tc.ecode || !strings.Contains(a.err.Error, tc.contains) {
			t.Errorf("%s: got %d %+v, want %d %s containing %q", name, a.code, a.err, tc.code, tc.ecode, tc.contains)
		}
	}
	if l := e.m.List(); len(l) != 0 {
		t.Fatalf("bad requests changed state: %+v", l)
	}
}

func TestHealthReadyMetricsUI(t *testing.T) {
	e := newEnv(t, "")
	e.do("GET", "/healthz", "", "")
	for path, want := range map[string]string{
		"/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "vane_api_requests_total", "/": "<title>Vane</title>",
		"/api/v1/slos": `"slos": []`,
	} {
		// Twice, so that the first call shows up in /metrics.
		e.do("GET", path, "", "")
		if a := e.do("GET", path, "", ""); a.code != 200 || !strings.Contains(a.body, want) {
			t.Errorf("GET %s: %d, body lacks %q", path, a.code, want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
