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
	"sync"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

type memScale struct {
	mu sync.Mutex
	n  int32
}

func (a *memScale) GetScale(context.Context) (autoscale.Scale, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return autoscale.Scale{Desired: a.n, Ready: a.n}, nil
}

func (a *memScale) SetScale(_ context.Context, n int32) error {
	a.mu.Lock()
	a.n = n
	a.mu.Unlock()
	return nil
}

type constQuerier float64

func (q constQuerier) Query(context.Context, string, time.Time) (analysis.Vector, error) {
	return analysis.Vector{Samples: []analysis.Sample{{Value: float64(q)}}}, nil
}

func (q constQuerier) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (analysis.Matrix, error) {
	return analysis.Matrix{}, nil
}

func TestAutoscalerAPI(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "vane.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	spec := autoscale.Spec{Name: "checkout", Min: 1, Max: 10, Behavior: &autoscale.Behavior{},
		Metrics: []autoscale.MetricSpec{{Name: "rps", Query: "x", Target: autoscale.MetricTarget{Type: autoscale.AverageValue, Value: 100}}}}
	c, err := autoscale.New(autoscale.Options{Spec: spec, Actuator: &memScale{n: 2}, Querier: constQuerier(400), Store: db})
	if err != nil {
		t.Fatal(err)
	}
	as, err := autoscale.NewManager(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = as.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for {
		if s, _ := as.Get("checkout"); s.Last != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	rm, err := rollout.NewManager(rollout.Options{Router: traffic.RouterFunc(func(context.Context, traffic.Service, traffic.Routing) (traffic.Applied, error) {
		return traffic.Applied{}, nil
	}), Store: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Rollouts: rm, Autoscalers: as, TokenFile: tokenFile})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	call := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	// The web page lists the autoscalers from this API.
	if code, page := call("GET", "/", "", ""); code != 200 || !strings.Contains(page, `<table id="autoscalers">`) || !strings.Contains(page, `getJSON("/api/v1/autoscalers")`) {
		t.Fatalf("ui: %d", code)
	}
	code, body := call("GET", "/api/v1/autoscalers", "", "")
	var list AutoscalerList
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Autoscalers) != 1 {
		t.Fatalf("%d %s", code, body)
	}
	code, body = call("GET", "/api/v1/autoscalers/checkout", "", "")
	var st autoscale.Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.Desired != 4 || st.Recommendations[0].Recommender != "hpa" ||
		!strings.Contains(st.Recommendations[0].Reason, "rps") {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := call("GET", "/api/v1/autoscalers/nope", "", ""); code != 404 {
		t.Fatalf("unknown: %d", code)
	}
	if code, _ := call("POST", "/api/v1/autoscalers/checkout/pause", "", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := call("POST", "/api/v1/autoscalers/checkout/pause", "wrong", ""); code != 403 {
		t.Fatalf("wrong token: %d", code)
	}
	code, body = call("POST", "/api/v1/autoscalers/checkout/pause", "s3cret", `{"reason":"incident 7"}`)
	if code != 200 || !strings.Contains(body, `"paused": true`) || !strings.Contains(body, "incident 7") {
		t.Fatalf("pause: %d %s", code, body)
	}
	if code, _ := call("POST", "/api/v1/autoscalers/checkout/pause", "s3cret", ""); code != 409 {
		t.Fatalf("second pause: %d", code)
	}
	if code, body := call("POST", "/api/v1/autoscalers/checkout/pause", "s3cret", `{"reason":1}`); code != 400 {
		t.Fatalf("bad body: %d %s", code, body)
	}
	if code, _ := call("POST", "/api/v1/autoscalers/checkout/scale", "s3cret", ""); code != 404 {
		t.Fatalf("unknown action: %d", code)
	}
	if code, body := call("POST", "/api/v1/autoscalers/checkout/resume", "s3cret", ""); code != 200 || !strings.Contains(body, `"paused": false`) {
		t.Fatalf("resume: %d %s", code, body)
	}
}
