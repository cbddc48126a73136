package actuator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/autoscale/actuator"
)

var (
	_ autoscale.Actuator = (*actuator.Exec)(nil)
	_ autoscale.Actuator = (*actuator.HTTP)(nil)
)

func fastRetry(reg prometheus.Registerer) actuator.RetryOptions {
	return actuator.RetryOptions{Name: "t", Attempts: 4, Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond,
		Metrics: actuator.NewMetrics(reg)}
}

func TestExecScalesWithASetAndAGetCommand(t *testing.T) {
	state := filepath.Join(t.TempDir(), "replicas")
	if err := os.WriteFile(state, []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := actuator.NewExec(actuator.ExecConfig{
		Set: []string{"sh", "-c", `echo "{replicas}" > "$STATE" && test "$VANE_REPLICAS" = "{replicas}"`},
		Get: []string{"sh", "-c", `printf '{"desired": %s, "ready": 1}' "$(cat "$STATE")"`},
		Env: []string{"STATE=" + state},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got, err := e.GetScale(ctx); err != nil || got != (autoscale.Scale{Desired: 2, Ready: 1}) {
		t.Fatalf("GetScale = %+v, %v; want {2 1}", got, err)
	}
	a := actuator.Retrying(e, fastRetry(nil))
	if err := a.SetScale(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(state); strings.TrimSpace(string(b)) != "7" {
		t.Fatalf("state file holds %q after SetScale(7)", b)
	}
}

func TestExecReadsTheSetCommandsOutputWithoutAGetCommand(t *testing.T) {
	e, err := actuator.NewExec(actuator.ExecConfig{Set: []string{"sh", "-c", `echo "{replicas}"`}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.GetScale(ctx); !errors.Is(err, actuator.ErrUnconfirmed) {
		t.Fatalf("GetScale before any set: %v, want ErrUnconfirmed", err)
	}
	if err := actuator.Retrying(e, fastRetry(nil)).SetScale(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if got, err := e.GetScale(ctx); err != nil || got.Desired != 3 {
		t.Fatalf("GetScale = %+v, %v", got, err)
	}
}

func TestExecFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("a failing command is retried, then reported with its stderr", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		e, _ := actuator.NewExec(actuator.ExecConfig{Set: []string{"sh", "-c", "echo quota exceeded >&2; exit 3"}, Get: []string{"echo", "1"}})
		err := actuator.Retrying(e, fastRetry(reg)).SetScale(ctx, 2)
		if err == nil || !strings.Contains(err.Error(), "quota exceeded") || !strings.Contains(err.Error(), "gave up after 4 attempts") {
			t.Fatalf("SetScale: %v", err)
		}
		if n := testutil.ToFloat64(mustCounter(t, reg, "vane_autoscale_actuator_retries_total")); n != 3 {
			t.Errorf("retries counted: %v, want 3", n)
		}
	})
	t.Run("a missing command is permanent", func(t *testing.T) {
		e, _ := actuator.NewExec(actuator.ExecConfig{Set: []string{"/nonexistent/scale-it"}, Get: []string{"echo", "1"}})
		err := actuator.Retrying(e, fastRetry(nil)).SetScale(ctx, 2)
		if !actuator.IsPermanent(err) || !strings.Contains(err.Error(), "/nonexistent/scale-it") {
			t.Fatalf("SetScale: %v, want a permanent error naming the command", err)
		}
	})
	t.Run("output that is not a count", func(t *testing.T) {
		e, _ := actuator.NewExec(actuator.ExecConfig{Set: []string{"true"}, Get: []string{"echo", "lots"}})
		if _, err := e.GetScale(ctx); !errors.Is(err, actuator.ErrBadResponse) || !strings.Contains(err.Error(), "get command echo") {
			t.Fatalf("GetScale: %v", err)
		}
	})
	t.Run("a set that does not take is not confirmed", func(t *testing.T) {
		e, _ := actuator.NewExec(actuator.ExecConfig{Set: []string{"true"}, Get: []string{"echo", "1"}})
		if err := actuator.Retrying(e, fastRetry(nil)).SetScale(ctx, 5); !errors.Is(err, actuator.ErrUnconfirmed) {
			t.Fatalf("SetScale: %v, want ErrUnconfirmed", err)
		}
	})
	t.Run("a hanging command times out", func(t *testing.T) {
		e, _ := actuator.NewExec(actuator.ExecConfig{Set: []string{"sleep", "10"}, Get: []string{"echo", "1"}, Timeout: 100 * time.Millisecond})
		start := time.Now()
		if err := e.SetScale(ctx, 2); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Fatalf("SetScale: %v after %v", err, time.Since(start))
		}
	})
	t.Run("bad configurations", func(t *testing.T) {
		for name, cfg := range map[string]actuator.ExecConfig{
			"no set command": {Get: []string{"echo"}},
			"a bad env":      {Set: []string{"true"}, Env: []string{"NOEQUALS"}},
		} {
			if _, err := actuator.NewExec(cfg); !errors.Is(err, actuator.ErrInvalid) {
				t.Errorf("%s: NewExec: %v, want ErrInvalid", name, err)
			}
		}
	})
}

// webhook is a scale target behind the HTTP contract.
type webhook struct {
	mu       sync.Mutex
	desired  int32
	failNext int // answer 503 to this many requests
	ignore   bool
	posts    []string
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer s3cret" {
		http.Error(rw, "who are you", http.StatusUnauthorized)
		return
	}
	if w.failNext > 0 {
		w.failNext--
		http.Error(rw, "busy", http.StatusServiceUnavailable)
		return
	}
	switch r.Method {
	case http.MethodGet:
		fmt.Fprintf(rw, `{"desired": %d, "ready": %d}`, w.desired, w.desired)
	case http.MethodPut, http.MethodPost:
		var req struct {
			Replicas *int32 `json:"replicas"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Replicas == nil {
			http.Error(rw, "want {\"replicas\": N}", http.StatusBadRequest)
			return
		}
		w.posts = append(w.posts, fmt.Sprint(*req.Replicas))
		if !w.ignore {
			w.desired = *req.Replicas
		}
		rw.WriteHeader(http.StatusAccepted)
	}
}

func TestHTTPWebhook(t *testing.T) {
	ctx := context.Background()
	wh := &webhook{desired: 2}
	srv := httptest.NewServer(wh)
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := actuator.NewHTTP(actuator.HTTPConfig{URL: srv.URL + "/scale", TokenFile: tokenFile})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	a := actuator.Retrying(h, fastRetry(reg))
	if got, err := a.GetScale(ctx); err != nil || got != (autoscale.Scale{Desired: 2, Ready: 2}) {
		t.Fatalf("GetScale = %+v, %v", got, err)
	}
	wh.mu.Lock()
	wh.failNext = 2
	wh.mu.Unlock()
	if err := a.SetScale(ctx, 6); err != nil {
		t.Fatalf("SetScale through two 503s: %v", err)
	}
	if got, _ := h.GetScale(ctx); got.Desired != 6 {
		t.Fatalf("desired = %d after SetScale(6)", got.Desired)
	}
	if n := testutil.ToFloat64(mustCounter(t, reg, "vane_autoscale_actuator_retries_total")); n != 2 {
		t.Errorf("retries counted: %v, want 2", n)
	}

	t.Run("a webhook that accepts but does not scale is not confirmed", func(t *testing.T) {
		wh.mu.Lock()
		wh.ignore = true
		wh.mu.Unlock()
		defer func() { wh.mu.Lock(); wh.ignore = false; wh.mu.Unlock() }()
		if err := a.SetScale(ctx, 9); !errors.Is(err, actuator.ErrUnconfirmed) || !strings.Contains(err.Error(), "reports 6") {
			t.Fatalf("SetScale: %v, want ErrUnconfirmed", err)
		}
	})
	t.Run("client errors are permanent, 404 is ErrNotFound", func(t *testing.T) {
		noAuth, _ := actuator.NewHTTP(actuator.HTTPConfig{URL: srv.URL})
		start := time.Now()
		if err := actuator.Retrying(noAuth, actuator.RetryOptions{Initial: time.Second}).SetScale(ctx, 1); !actuator.IsPermanent(err) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("SetScale without a token: %v", err)
		}
		if time.Since(start) > 900*time.Millisecond {
			t.Error("a 401 was retried")
		}
		missing := httptest.NewServer(http.NotFoundHandler())
		defer missing.Close()
		m, _ := actuator.NewHTTP(actuator.HTTPConfig{URL: missing.URL})
		if _, err := m.GetScale(ctx); !errors.Is(err, actuator.ErrNotFound) {
			t.Fatalf("GetScale of a 404: %v", err)
		}
	})
	t.Run("an unreachable webhook is retried, then reported", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		g, _ := actuator.NewHTTP(actuator.HTTPConfig{URL: gone.URL})
		_, err := actuator.Retrying(g, fastRetry(nil)).GetScale(ctx)
		if err == nil || actuator.IsPermanent(err) || !strings.Contains(err.Error(), "gave up after 4 attempts") {
			t.Fatalf("GetScale of a closed server: %v", err)
		}
	})
	t.Run("POST when configured", func(t *testing.T) {
		p, _ := actuator.NewHTTP(actuator.HTTPConfig{URL: srv.URL, Method: http.MethodPost, Headers: map[string]string{"Authorization": "Bearer s3cret"}})
		if err := p.SetScale(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if got, _ := p.GetScale(ctx); got.Desired != 3 {
			t.Fatalf("desired = %d after a POST of 3", got.Desired)
		}
	})
	t.Run("bad configurations", func(t *testing.T) {
		if _, err := actuator.NewHTTP(actuator.HTTPConfig{URL: srv.URL, Method: "DELETE"}); !errors.Is(err, actuator.ErrInvalid) {
			t.Errorf("NewHTTP with method DELETE: %v, want ErrInvalid", err)
		}
		for _, u := range []string{"", "ftp://x/scale", "http://", "::"} {
			if _, err := actuator.NewHTTP(actuator.HTTPConfig{URL: u}); !errors.Is(err, actuator.ErrInvalid) {
				t.Errorf("NewHTTP(%q): %v, want ErrInvalid", u, err)
			}
		}
	})
}

// mustCounter sums the named counter family gathered from reg.
func mustCounter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "sum"})
	c.Add(sum)
	return c
}
