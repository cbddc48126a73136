package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/slo"
)

func TestAlertSenderPostsToAlertmanager(t *testing.T) {
	var mu sync.Mutex
	var got []postableAlert
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/alerts" {
			http.Error(w, "wrong endpoint", http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("body: %v", err)
		}
	}))
	defer srv.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	send := alertSender(srv.URL+"/", srv.Client(), slog.New(slog.NewTextHandler(t.Output(), nil)))
	send(context.Background(), []prom.Alert{
		{Name: "CheckoutAvailability", State: "firing", Labels: map[string]string{"severity": "page", "slo": "availability"}, ActiveAt: start},
		{Name: "CheckoutAvailability", State: "inactive", Labels: map[string]string{"severity": "ticket"}, ActiveAt: start, ResolvedAt: start.Add(time.Hour)},
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Labels["alertname"] != "CheckoutAvailability" || got[0].Labels["severity"] != "page" ||
		!got[0].EndsAt.IsZero() || !got[1].EndsAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("Alertmanager got %+v", got)
	}
}

func TestSLORuleFile(t *testing.T) {
	b, err := os.ReadFile("../../examples/slos/sloth-checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	slos, err := slo.Load(slo.File{Name: "sloth-checkout.yaml", Data: b})
	if err != nil {
		t.Fatal(err)
	}
	path, remove, err := sloRuleFile(slos, []string{"sloth-checkout.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(path)
	remove()
	if err != nil || !strings.Contains(string(rules), "slo:current_burn_rate:ratio") {
		t.Fatalf("rule file: %v\n%s", err, rules)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("remove left the file")
	}
}
