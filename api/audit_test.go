package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

// lockedBuffer collects log output written from the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestEveryMutatingCallIsAuditedAndRefusalsAreCounted(t *testing.T) {
	var logs lockedBuffer
	reg := prometheus.NewRegistry()
	e := newEnvWith(t, "s3cret", func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		o.Registerer = reg
	})
	for name, tc := range map[string]struct {
		auth   string
		code   int
		reason string
	}{
		"no header is 401":            {"", 401, RefusedMissingToken},
		"another scheme is 401":       {"Basic czNjcmV0", 401, RefusedBadScheme},
		"a scheme without token":      {"Bearer ", 401, RefusedMissingToken},
		"a wrong token is 403":        {"Bearer guess", 403, RefusedWrongToken},
		"a lower-case scheme is fine": {"bearer s3cret", 201, ""},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/rollouts", strings.NewReader(startBody))
		req.Header.Set("Content-Type", "application/json")
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: got %d, want %d", name, resp.StatusCode, tc.code)
		}
		if tc.code == 201 {
			if _, err := e.m.Command(context.Background(), "checkout", rollout.CmdAbort); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := logs.String()
	for _, want := range []string{
		"outcome=refused reason=missing_token", "outcome=refused reason=bad_scheme", "outcome=refused reason=wrong_token",
		"code=401", "code=403", "code=201 outcome=accepted", "remote=127.0.0.1:", "path=/api/v1/rollouts",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `msg="API call"`); n != 5 {
		t.Errorf("%d audit lines for 5 mutating calls:\n%s", n, out)
	}
	// Reads are not audited.
	if a := e.do("GET", "/api/v1/rollouts", "", ""); a.code != 200 {
		t.Fatal(a.code)
	}
	if n := strings.Count(logs.String(), `msg="API call"`); n != 5 {
		t.Errorf("a read was audited:\n%s", logs.String())
	}
	want := `
# HELP vane_api_requests_refused_total Mutating API calls refused for want of a valid bearer token, by reason.
# TYPE vane_api_requests_refused_total counter
vane_api_requests_refused_total{reason="bad_scheme"} 1
vane_api_requests_refused_total{reason="missing_token"} 2
vane_api_requests_refused_total{reason="wrong_token"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vane_api_requests_refused_total"); err != nil {
		t.Fatal(err)
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key in dir and returns their paths and the certificate.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "vane test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func TestServesHTTPSWhenACertificateIsConfigured(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := writeSelfSigned(t, dir)
	db, err := store.Open(filepath.Join(dir, "vane.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	router := traffic.RouterFunc(func(ctx context.Context, svc traffic.Service, r traffic.Routing) (traffic.Applied, error) {
		return traffic.Applied{Version: "1"}, nil
	})
	svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:9001"}}}
	m, err := rollout.NewManager(rollout.Options{Router: router, Store: db},
		[]rollout.ServiceConfig{{Service: svc, Plan: rollout.Plan{Steps: []rollout.PlanStep{rollout.WeightStep(10), rollout.PauseFor(0)}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); _ = m.Run(ctx) }()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Rollouts: m, Ready: m.Ready, TokenFile: tokenFile, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if !s.TLS() {
		t.Fatal("TLS() is false with a certificate configured")
	}
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx, "") }()
	for !m.Ready() {
		time.Sleep(time.Millisecond)
	}

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("POST", "https://"+addr.String()+"/api/v1/rollouts", strings.NewReader(startBody))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS call with the server's certificate trusted: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.TLS == nil {
		t.Fatalf("HTTPS start: %d (TLS %v) %s", resp.StatusCode, resp.TLS != nil, body)
	}

	// A client that does not trust the certificate is refused by its own
	// TLS stack; a plain-HTTP client gets no API answer.
	plainTr := &http.Transport{}
	defer plainTr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}).Get("https://" + addr.String() + "/healthz"); err == nil {
		t.Error("a client without the CA accepted the self-signed certificate")
	}
	resp, err = (&http.Client{Transport: plainTr, Timeout: 10 * time.Second}).Post("http://"+addr.String()+"/api/v1/rollouts/checkout/abort", "", nil)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the HTTPS port: %d %s", resp.StatusCode, b)
		}
	}
	if st, _ := m.Get("checkout"); st.Phase == rollout.Aborted || st.Phase == rollout.RollingBack {
		t.Fatalf("a plain-HTTP call reached the API: %s", st.Phase)
	}
}

func TestHalfATLSConfigurationIsRefused(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := writeSelfSigned(t, dir)
	if _, err := New(Options{Rollouts: nopRollouts{}, CertFile: certFile}); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Fatalf("cert without key: %v", err)
	}
	if _, err := New(Options{Rollouts: nopRollouts{}, CertFile: certFile, KeyFile: filepath.Join(dir, "missing.key")}); err == nil {
		t.Fatal("a missing key file was accepted")
	}
}

type nopRollouts struct{}

func (nopRollouts) List() []rollout.State                        { return nil }
func (nopRollouts) Get(string) (rollout.State, error)            { return rollout.State{}, rollout.ErrNotFound }
func (nopRollouts) History(string, int) ([]rollout.Event, error) { return nil, nil }
func (nopRollouts) Start(context.Context, rollout.StartRequest) (rollout.State, error) {
	return rollout.State{}, rollout.ErrNotRunning
}
func (nopRollouts) Command(context.Context, string, rollout.Command) (rollout.State, error) {
	return rollout.State{}, rollout.ErrNotRunning
}
