package promtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vaneproj/vane/internal/tools"

	"go.yaml.in/yaml/v3"
)

// Tool returns the path of a pinned test tool (prometheus, promtool,
// alertmanager): from $VANE_TOOLS_DIR, then PATH, then
// <repo root>/.tools/bin. When it is in none of them the test fails,
// saying how to install it; it never skips.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := FindTool(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FindTool is Tool without a testing.TB (tools.Find).
func FindTool(name string) (string, error) {
	p, err := tools.Find(name)
	if err != nil {
		return "", fmt.Errorf("promtest: %w", err)
	}
	return p, nil
}

// Job is one scrape job of the server's generated configuration.
type Job struct {
	// Name is the job label.
	Name string
	// Targets are host:port addresses serving /metrics.
	Targets []string
	// Labels are added to every series scraped from the targets.
	Labels map[string]string
	// Interval overrides the server's ScrapeInterval for this job.
	Interval time.Duration
}

// ServerConfig configures a Prometheus server process for a test.
type ServerConfig struct {
	// Jobs are the static scrape jobs.
	Jobs []Job
	// ScrapeInterval is the global scrape interval; default 1s.
	ScrapeInterval time.Duration
	// EvaluationInterval is the global rule evaluation interval; default 1s.
	EvaluationInterval time.Duration
	// RuleFiles are loaded by the server (absolute paths).
	RuleFiles []string
	// DataDir is the TSDB directory; default a fresh test temp dir. Tests
	// that backfill blocks with promtool pass the directory they filled.
	DataDir string
	// Args are extra command-line flags.
	Args []string
}

// Server is a running Prometheus server process on a loopback port.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Addr is its host:port.
	Addr string
	// DataDir is its TSDB directory.
	DataDir string
	// ConfigFile is the generated prometheus.yml.
	ConfigFile string

	cmd  *exec.Cmd
	bin  string
	args []string
	out  *SyncBuffer
	done chan struct{}
	once sync.Once
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers: it
// collects a process's output for failure messages.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start starts a Prometheus server with a generated configuration on a free
// loopback port and waits until it is ready. The server is stopped when the
// test ends; Stop stops it earlier.
func Start(t testing.TB, cfg ServerConfig) *Server {
	t.Helper()
	bin := Tool(t, "prometheus")
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	confDir := t.TempDir()
	confFile := filepath.Join(confDir, "prometheus.yml")
	conf, err := GenerateConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confFile, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	return launch(t, "prometheus", bin, cfg.DataDir, confFile, func(addr string) []string {
		return append([]string{
			"--config.file=" + confFile,
			"--storage.tsdb.path=" + cfg.DataDir,
			"--web.listen-address=" + addr,
			"--web.enable-lifecycle",
			"--log.level=warn",
		}, cfg.Args...)
	})
}

// launch starts bin on a free loopback port with the arguments args gives
// for that address, and returns it once /-/ready answers. It tries three
// ports (another process may take one between pick and bind) and fails the
// test if none becomes ready. The process is stopped when the test ends.
func launch(t testing.TB, name, bin, dataDir, confFile string, args func(addr string) []string) *Server {
	t.Helper()
	var lastErr error
	for range 3 {
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{URL: "http://" + addr, Addr: addr, DataDir: dataDir, ConfigFile: confFile, out: &SyncBuffer{}, done: make(chan struct{}),
			bin: bin, args: args(addr)}
		s.cmd = exec.Command(bin, s.args...)
		s.cmd.Stdout = s.out
		s.cmd.Stderr = s.out
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("promtest: start %s: %v", bin, err)
		}
		go func() {
			_ = s.cmd.Wait()
			close(s.done)
		}()
		if lastErr = s.waitReady(30 * time.Second); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
		s.Stop()
	}
	t.Fatalf("promtest: %s did not become ready: %v", name, lastErr)
	return nil
}

// waitReady polls /-/ready until it answers 200, the process exits, or the
// timeout passes.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited: %s; output:\n%s", filepath.Base(s.cmd.Path), s.cmd.ProcessState, s.out.String())
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s; output:\n%s", timeout, s.out.String())
}

// Output returns what the server wrote to stdout and stderr so far.
func (s *Server) Output() string { return s.out.String() }

// Stop sends SIGTERM, waits up to 10 s for a clean exit, then kills the
// process. It is safe to call more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// Restart stops the server if it still runs and starts it again on the
// same address with the same configuration and data directory, as a
// Prometheus server comes back after an outage. It returns the new process
// once it is ready; it is stopped when the test ends.
func (s *Server) Restart(t testing.TB) *Server {
	t.Helper()
	s.Stop()
	n := &Server{URL: s.URL, Addr: s.Addr, DataDir: s.DataDir, ConfigFile: s.ConfigFile, out: &SyncBuffer{}, done: make(chan struct{}),
		bin: s.bin, args: s.args}
	n.cmd = exec.Command(n.bin, n.args...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("promtest: restart %s: %v", n.bin, err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(n.Stop)
	if err := n.waitReady(30 * time.Second); err != nil {
		t.Fatalf("promtest: restarted %s did not become ready: %v", filepath.Base(n.bin), err)
	}
	return n
}

// Reload asks the server to reread its configuration and rule files.
func (s *Server) Reload(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("promtest: reload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("promtest: reload: %s", resp.Status)
	}
	return nil
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr() (string, error) { return tools.FreeAddr() }

// GenerateConfig renders the prometheus.yml for cfg.
func GenerateConfig(cfg ServerConfig) ([]byte, error) {
	dur := func(d, def time.Duration) string {
		if d <= 0 {
			d = def
		}
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	type staticConfig struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels,omitempty"`
	}
	type scrapeConfig struct {
		JobName        string         `yaml:"job_name"`
		ScrapeInterval string         `yaml:"scrape_interval,omitempty"`
		ScrapeTimeout  string         `yaml:"scrape_timeout,omitempty"`
		StaticConfigs  []staticConfig `yaml:"static_configs"`
	}
	scrapeInterval := dur(cfg.ScrapeInterval, time.Second)
	doc := struct {
		Global struct {
			ScrapeInterval     string `yaml:"scrape_interval"`
			ScrapeTimeout      string `yaml:"scrape_timeout"`
			EvaluationInterval string `yaml:"evaluation_interval"`
		} `yaml:"global"`
		RuleFiles     []string       `yaml:"rule_files,omitempty"`
		ScrapeConfigs []scrapeConfig `yaml:"scrape_configs,omitempty"`
	}{RuleFiles: cfg.RuleFiles}
	doc.Global.ScrapeInterval = scrapeInterval
	doc.Global.ScrapeTimeout = scrapeInterval
	doc.Global.EvaluationInterval = dur(cfg.EvaluationInterval, time.Second)
	for _, j := range cfg.Jobs {
		if j.Name == "" || len(j.Targets) == 0 {
			return nil, fmt.Errorf("promtest: job %q needs a name and targets", j.Name)
		}
		sc := scrapeConfig{JobName: j.Name, StaticConfigs: []staticConfig{{Targets: j.Targets, Labels: j.Labels}}}
		if j.Interval > 0 {
			sc.ScrapeInterval = dur(j.Interval, 0)
			sc.ScrapeTimeout = sc.ScrapeInterval
		}
		doc.ScrapeConfigs = append(doc.ScrapeConfigs, sc)
	}
	return yaml.Marshal(doc)
}
