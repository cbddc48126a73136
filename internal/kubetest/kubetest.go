package kubetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vaneproj/vane/internal/promtest"
)

// Token is the bearer token of the cluster's admin (group system:masters).
const Token = "vane-test-admin-token"

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// URL is the API server's base URL, e.g. https://127.0.0.1:41234.
	URL string
	// CAFile is the API server's self-signed serving certificate.
	CAFile string
	// EtcdURL is etcd's client URL.
	EtcdURL string

	etcd, apiserver *proc
}

// REST returns a client configuration for the cluster's admin.
func (c *Cluster) REST() *rest.Config {
	return &rest.Config{Host: c.URL, BearerToken: Token, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile},
		QPS: 100, Burst: 200, Timeout: 10 * time.Second}
}

// Clientset is a client of the cluster as its administrator.
func (c *Cluster) Clientset(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	client, err := kubernetes.NewForConfig(c.REST())
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// Stop stops kube-apiserver, then etcd. It is safe to call more than once;
// Start registers it as a test cleanup.
func (c *Cluster) Stop() {
	if c.apiserver != nil {
		c.apiserver.stop()
	}
	if c.etcd != nil {
		c.etcd.stop()
	}
}

// Start starts etcd and kube-apiserver and returns once the API server is
// ready; the test fails if either cannot start within a minute.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return start(t, "AlwaysAllow")
}

// StartRBAC is Start with the RBAC authorizer: the admin (system:masters)
// may do anything, other users only what Roles grant them, so a test can
// check a manifest's RBAC with `kubectl auth can-i --as`.
func StartRBAC(t testing.TB) *Cluster {
	t.Helper()
	return start(t, "RBAC")
}

func start(t testing.TB, authz string) *Cluster {
	t.Helper()
	etcdBin := promtest.Tool(t, "etcd")
	apiBin := promtest.Tool(t, "kube-apiserver")
	dir := t.TempDir()
	c := &Cluster{}
	t.Cleanup(c.Stop)

	var err error
	for range 3 { // a port may be taken between pick and bind
		client, peer := freeAddr(t), freeAddr(t)
		c.EtcdURL = "http://" + client
		c.etcd, err = launch("etcd", etcdBin, []string{
			"--name=default",
			"--data-dir=" + filepath.Join(dir, "etcd"),
			"--listen-client-urls=" + c.EtcdURL, "--advertise-client-urls=" + c.EtcdURL,
			"--listen-peer-urls=http://" + peer, "--initial-advertise-peer-urls=http://" + peer,
			"--initial-cluster=default=http://" + peer,
			"--logger=zap", "--log-level=error",
		})
		if err != nil {
			t.Fatal(err)
		}
		if err = c.etcd.waitReady(c.EtcdURL+"/health", nil, "", 30*time.Second); err == nil {
			break
		}
		c.etcd.stop()
		os.RemoveAll(filepath.Join(dir, "etcd"))
	}
	if err != nil {
		t.Fatalf("kubetest: etcd did not become ready: %v", err)
	}

	keyFile := filepath.Join(dir, "sa.key")
	tokenFile := filepath.Join(dir, "tokens.csv")
	certDir := filepath.Join(dir, "certs")
	if err := writeKey(keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(Token+",admin,admin-uid,\"system:masters\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	insecure := &http.Client{Timeout: 2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // readiness probe of a test server
	for range 3 {
		addr := freeAddr(t)
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		c.URL = "https://" + addr
		c.apiserver, err = launch("kube-apiserver", apiBin, []string{
			"--etcd-servers=" + c.EtcdURL,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + port,
			"--endpoint-reconciler-type=none",
			"--service-account-issuer=https://kubernetes.default.svc",
			"--service-account-key-file=" + keyFile, "--service-account-signing-key-file=" + keyFile,
			"--token-auth-file=" + tokenFile,
			"--authorization-mode=" + authz,
			"--service-cluster-ip-range=10.0.0.0/24",
			"--disable-admission-plugins=ServiceAccount",
			"--cert-dir=" + certDir,
			"--v=0",
		})
		if err != nil {
			t.Fatal(err)
		}
		if err = c.apiserver.waitReady(c.URL+"/readyz", insecure, Token, 90*time.Second); err == nil {
			break
		}
		c.apiserver.stop()
	}
	if err != nil {
		t.Fatalf("kubetest: kube-apiserver did not become ready: %v", err)
	}
	c.CAFile = filepath.Join(certDir, "apiserver.crt")
	if _, err := os.Stat(c.CAFile); err != nil {
		t.Fatalf("kubetest: kube-apiserver wrote no serving certificate: %v", err)
	}
	return c
}

// proc is a started process.
type proc struct {
	cmd  *exec.Cmd
	out  *promtest.SyncBuffer
	done chan struct{}
	once sync.Once
}

func launch(name, bin string, args []string) (*proc, error) {
	p := &proc{cmd: exec.Command(bin, args...), out: &promtest.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("kubetest: start %s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls url until it answers 200, the process exits or timeout
// passes.
func (p *proc) waitReady(url string, client *http.Client, token string, timeout time.Duration) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %s; output:\n%s", filepath.Base(p.cmd.Path), p.cmd.ProcessState, tail(p.out.String()))
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s; output:\n%s", filepath.Base(p.cmd.Path), timeout, tail(p.out.String()))
}

// stop sends SIGTERM, waits up to 15 s, then kills.
func (p *proc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

func freeAddr(t testing.TB) string {
	t.Helper()
	a, err := promtest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// writeKey writes a fresh RSA key for service-account tokens.
func writeKey(path string) error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("kubetest: service-account key: %w", err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return os.WriteFile(path, b, 0o600)
}
