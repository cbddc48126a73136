package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

func TestHTTPHooksPost(t *testing.T) {
	var got HookPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		switch r.URL.Path {
		case "/ok":
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		default:
			http.Error(w, "change freeze until Monday", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	h := HTTPHooks{}
	ctx := context.Background()
	body := HookPayload{Hook: HookPreRollout, Rollout: "checkout", Canary: "v2"}
	if err := h.Post(ctx, Webhook{URL: srv.URL + "/ok"}, body); err != nil || got.Canary != "v2" || got.Hook != HookPreRollout {
		t.Fatalf("ok hook: %v, got %+v", err, got)
	}
	err := h.Post(ctx, Webhook{URL: srv.URL + "/no"}, body)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "change freeze until Monday") {
		t.Fatalf("failing hook: %v", err)
	}
	err = h.Post(ctx, Webhook{URL: srv.URL + "/slow", Timeout: model.Duration(20 * time.Millisecond)}, body)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow hook: %v, want a deadline error", err)
	}
}

// recordingHooks fails the hooks named in fail and records every call.
type recordingHooks struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]bool
}

func (h *recordingHooks) Post(ctx context.Context, w Webhook, body any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := strings.TrimPrefix(w.URL, "http://hooks/")
	if n, ok := body.(Notification); ok {
		h.calls = append(h.calls, "notify:"+string(n.Event.Type))
		return nil
	}
	h.calls = append(h.calls, name)
	if h.fail[name] {
		h.fail[name] = false // fail once
		return errors.New("503 from " + name)
	}
	return nil
}

func TestControllerCallsWebhooksAndNotifies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "vane.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		hooks := &recordingHooks{fail: map[string]bool{"pre_promote": true}}
		plan := Plan{Steps: []PlanStep{WeightStep(50)}, Webhooks: Webhooks{
			PreRollout: &Webhook{URL: "http://hooks/pre_rollout"}, PrePromote: &Webhook{URL: "http://hooks/pre_promote"},
			PostRollout: &Webhook{URL: "http://hooks/post_rollout"}, Notify: &Webhook{URL: "http://hooks/notify"}}}
		svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}
		m, err := NewManager(Options{Router: &fakeRouter{}, Store: db, Hooks: hooks}, []ServiceConfig{{Service: svc, Plan: plan}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := runManager(t, m)
		defer stop()
		if _, err := m.Start(ctx, StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		st, _ := m.Get("checkout")
		if st.Phase != Paused || !strings.Contains(st.Reason, "pre_promote webhook failed: 503 from pre_promote") {
			t.Fatalf("after a failing pre_promote: %s %q", st.Phase, st.Reason)
		}
		if st, err := m.Command(ctx, "checkout", CmdResume); err != nil || st.Phase != Succeeded {
			t.Fatalf("resume: %v %s %s", err, st.Phase, st.Reason)
		}
		synctest.Wait()
		hooks.mu.Lock()
		var plain []string
		notified := 0
		for _, c := range hooks.calls {
			if strings.HasPrefix(c, "notify:") {
				notified++
				continue
			}
			plain = append(plain, c)
		}
		hooks.mu.Unlock()
		if got := strings.Join(plain, " "); got != "pre_rollout pre_promote pre_promote post_rollout" {
			t.Fatalf("hooks called: %s", got)
		}
		if notified < 5 {
			t.Fatalf("only %d notifications", notified)
		}
	})
}

// runManager runs m's loops until the returned stop is called, and waits
// until they are idle.
func runManager(t *testing.T, m *Manager) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	synctest.Wait()
	return ctx, func() { cancel(); <-done }
}
