package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// apiClient talks to `vane run`'s HTTP API.
type apiClient struct {
	server string
	token  string
	http   *http.Client
}

// apiClientHelp is the help paragraph of a command whose subcommands
// talk to `vane run` with the flags of apiClientFlags; tokenFor says which
// of them need the token.
func apiClientHelp(tokenFor string) string {
	return `Talk to a running "vane run" over its HTTP API.

The server is --server (env VANE_SERVER, default http://127.0.0.1:8080); when
the controller sets http.token_file, pass the same file with --token-file
(env VANE_TOKEN_FILE) for ` + tokenFor + `.
When the controller serves HTTPS (http.cert_file) with a certificate your
system does not trust, pass its CA with --ca-file (env VANE_CA_FILE).`
}

// apiClientFlags adds the flags that reach `vane run`'s HTTP API
// (--server, --token-file, --ca-file) to cmd's subcommands and returns
// the constructor of their client. A flag given on the command line wins
// over its VANE_* environment variable, which wins over the default
// (viper's precedence). Several commands have these flags, so each is
// bound to viper when the client is built, by the command that runs.
func apiClientFlags(cmd *cobra.Command, g *globals) func() (*apiClient, error) {
	pf := cmd.PersistentFlags()
	pf.String("server", "http://127.0.0.1:8080", "URL of vane run's HTTP API (env VANE_SERVER)")
	pf.String("token-file", "", "file holding the API bearer token (env VANE_TOKEN_FILE)")
	pf.String("ca-file", "", "PEM CA certificates that verify vane run's HTTPS certificate (env VANE_CA_FILE)")
	setting := func(name string) string {
		_ = g.v.BindPFlag(name, pf.Lookup(name))
		return g.v.GetString(name)
	}
	return func() (*apiClient, error) {
		server := strings.TrimRight(setting("server"), "/")
		if !strings.Contains(server, "://") {
			server = "http://" + server // --server host:port means plain HTTP, as vane run serves by default
		}
		c := &apiClient{server: server, http: &http.Client{Timeout: 60 * time.Second}}
		if f := setting("ca-file"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("--ca-file: %s holds no PEM certificate", f)
			}
			c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		}
		if f := setting("token-file"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("--token-file: %w", err)
			}
			c.token = strings.TrimSpace(string(b))
		}
		return c, nil
	}
}
