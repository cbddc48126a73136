package xds_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	grpcxds "google.golang.org/grpc/xds"

	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// writeCert writes a certificate (signed by parent, or self-signed) and its
// key as PEM files in dir.
func writeCert(t *testing.T, dir, name string, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", "CERTIFICATE", der)
	write(name+"-key.pem", "EC PRIVATE KEY", kb)
	return cert, key
}

func TestMTLSServesOnlyClientsWithACertificate(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := writeCert(t, dir, "ca", true, nil, nil)
	writeCert(t, dir, "server", false, ca, caKey)
	writeCert(t, dir, "client", false, ca, caKey)
	p := func(f string) string { return filepath.Join(dir, f) }

	if _, err := xds.New(xds.Options{CertFile: p("server.pem")}); err == nil {
		t.Error("a certificate without a key was accepted")
	}
	if _, err := xds.New(xds.Options{CertFile: p("server.pem"), KeyFile: p("missing.pem")}); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing key file: %v", err)
	}

	s, err := xds.New(xds.Options{Listen: "127.0.0.1:0", CertFile: p("server.pem"), KeyFile: p("server-key.pem"), ClientCAFile: p("ca.pem")})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	svc := traffic.Service{Name: "svc", Stable: traffic.Backend{Version: "v1", Endpoints: []string{startBackend(t, "v1")}}}
	if _, err := s.Apply(ctx, svc, traffic.AllStable()); err != nil {
		t.Fatal(err)
	}
	dial := func(bc xds.BootstrapConfig) (testgrpc.TestServiceClient, func()) {
		bs, err := xds.Bootstrap(bc)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := grpcxds.NewXDSResolverWithConfigForTesting(bs)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := grpc.NewClient("xds:///svc", grpc.WithResolvers(rb), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		return testgrpc.NewTestServiceClient(cc), func() { _ = cc.Close() }
	}
	good, closeGood := dial(xds.BootstrapConfig{ServerURI: addr.String(), NodeID: "mtls", CAFile: p("ca.pem"), CertFile: p("client.pem"), KeyFile: p("client-key.pem")})
	defer closeGood()
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	resp, err := good.UnaryCall(rctx, &testgrpc.SimpleRequest{}, grpc.WaitForReady(true))
	if err != nil || resp.GetHostname() != "v1" {
		t.Fatalf("client with a certificate: %v, %v", resp, err)
	}
	bad, closeBad := dial(xds.BootstrapConfig{ServerURI: addr.String(), NodeID: "no-cert", CAFile: p("ca.pem")})
	defer closeBad()
	bctx, bcancel := context.WithTimeout(ctx, time.Second)
	defer bcancel()
	if _, err := bad.UnaryCall(bctx, &testgrpc.SimpleRequest{}, grpc.WaitForReady(true)); err == nil {
		t.Error("a client without a certificate got its config")
	}
}
