package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// AlertmanagerConfig configures an Alertmanager process for a test.
type AlertmanagerConfig struct {
	// WebhookURL, when set, receives the notifications of the single
	// receiver (resolved ones too); otherwise the receiver has no
	// integrations and alerts are only kept and listed.
	WebhookURL string
	// GroupWait and GroupInterval are the route's timings; defaults 100ms
	// and 200ms, so notifications come quickly.
	GroupWait, GroupInterval time.Duration
	// ResolveTimeout is how long an alert without endsAt stays firing;
	// default 5m, as in Alertmanager.
	ResolveTimeout time.Duration
	// Args are extra command-line flags.
	Args []string
}

// Alertmanager is a running Alertmanager process on a loopback port, with
// clustering disabled.
type Alertmanager struct {
	// URL is its base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Addr is its host:port.
	Addr string
	// DataDir is its storage directory (silences, notification log).
	DataDir string
	// ConfigFile is the generated alertmanager.yml.
	ConfigFile string

	proc *Server // process handling shared with the Prometheus server
}

// AlertmanagerReceiver is the name of the receiver of the generated
// configuration.
const AlertmanagerReceiver = "vane-test"

// StartAlertmanager starts the `alertmanager` binary (Debian's
// prometheus-alertmanager, linked into .tools/bin by `make test-tools`)
// with a generated configuration on a free loopback port, clustering off
// and a temporary storage directory, and waits until /-/ready answers. It
// is stopped when the test ends; Stop stops it earlier. A missing binary
// fails the test, saying to run `make test-tools`.
func StartAlertmanager(t testing.TB, cfg AlertmanagerConfig) *Alertmanager {
	t.Helper()
	bin := Tool(t, "alertmanager")
	dataDir := t.TempDir()
	confFile := filepath.Join(t.TempDir(), "alertmanager.yml")
	conf, err := GenerateAlertmanagerConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confFile, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	proc := launch(t, "alertmanager", bin, dataDir, confFile, func(addr string) []string {
		return append([]string{
			"--config.file=" + confFile,
			"--storage.path=" + dataDir,
			"--web.listen-address=" + addr,
			"--cluster.listen-address=", // no gossip: a single, isolated instance
			"--log.level=warn",
		}, cfg.Args...)
	})
	return &Alertmanager{URL: proc.URL, Addr: proc.Addr, DataDir: dataDir, ConfigFile: confFile, proc: proc}
}

// Stop stops the process (SIGTERM, then a kill after 10 s). It is safe to
// call more than once.
func (a *Alertmanager) Stop() { a.proc.Stop() }

// Output returns what the process wrote to stdout and stderr so far.
func (a *Alertmanager) Output() string { return a.proc.Output() }

// AlertmanagerAlert is an alert as Alertmanager lists it
// (GET /api/v2/alerts).
type AlertmanagerAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	Status       struct {
		// State is "active", "suppressed" or "unprocessed".
		State string `json:"state"`
	} `json:"status"`
}

// Alerts lists the alerts Alertmanager holds that have not ended (its
// GET /api/v2/alerts; resolved alerts are not listed there).
func (a *Alertmanager) Alerts(ctx context.Context) ([]AlertmanagerAlert, error) {
	var out []AlertmanagerAlert
	b, err := a.get(ctx, "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("promtest: alertmanager alerts: %w", err)
	}
	return out, nil
}

// Metric returns the value of the sample of Alertmanager's own /metrics
// whose name and labels, as written in the exposition (for example
// `alertmanager_alerts_received_total{status="resolved",version="v2"}`),
// equal series; an absent sample is an error.
func (a *Alertmanager) Metric(ctx context.Context, series string) (float64, error) {
	b, err := a.get(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("promtest: alertmanager metric %s: %w", series, err)
			}
			return f, nil
		}
	}
	return 0, fmt.Errorf("promtest: alertmanager /metrics has no sample %s", series)
}

func (a *Alertmanager) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("promtest: alertmanager GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("promtest: alertmanager GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("promtest: alertmanager GET %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}

// GenerateAlertmanagerConfig renders the alertmanager.yml for cfg: one
// route to the receiver AlertmanagerReceiver, grouping by alertname.
func GenerateAlertmanagerConfig(cfg AlertmanagerConfig) ([]byte, error) {
	dur := func(d, def time.Duration) string {
		if d <= 0 {
			d = def
		}
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	type webhook struct {
		URL          string `yaml:"url"`
		SendResolved bool   `yaml:"send_resolved"`
	}
	type receiver struct {
		Name     string    `yaml:"name"`
		Webhooks []webhook `yaml:"webhook_configs,omitempty"`
	}
	doc := struct {
		Global struct {
			ResolveTimeout string `yaml:"resolve_timeout"`
		} `yaml:"global"`
		Route struct {
			Receiver       string   `yaml:"receiver"`
			GroupBy        []string `yaml:"group_by"`
			GroupWait      string   `yaml:"group_wait"`
			GroupInterval  string   `yaml:"group_interval"`
			RepeatInterval string   `yaml:"repeat_interval"`
		} `yaml:"route"`
		Receivers []receiver `yaml:"receivers"`
	}{}
	doc.Global.ResolveTimeout = dur(cfg.ResolveTimeout, 5*time.Minute)
	doc.Route.Receiver = AlertmanagerReceiver
	doc.Route.GroupBy = []string{"alertname"}
	doc.Route.GroupWait = dur(cfg.GroupWait, 100*time.Millisecond)
	doc.Route.GroupInterval = dur(cfg.GroupInterval, 200*time.Millisecond)
	doc.Route.RepeatInterval = "1h"
	r := receiver{Name: AlertmanagerReceiver}
	if cfg.WebhookURL != "" {
		if !strings.HasPrefix(cfg.WebhookURL, "http://") && !strings.HasPrefix(cfg.WebhookURL, "https://") {
			return nil, fmt.Errorf("promtest: alertmanager webhook url %q: must be http(s)", cfg.WebhookURL)
		}
		r.Webhooks = []webhook{{URL: cfg.WebhookURL, SendResolved: true}}
	}
	doc.Receivers = []receiver{r}
	return yaml.Marshal(doc)
}
