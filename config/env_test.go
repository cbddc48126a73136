package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func TestEveryScalarKeyHasItsOwnEnvironmentVariable(t *testing.T) {
	keys := Keys()
	for _, k := range []string{"http.listen", "xds.min_proxies", "scrape.interval", "store.tls.ca_file", "store.history_limit",
		"prometheus.url", "prometheus.basic_auth.username", "prometheus.tls_config.server_name", "prometheus.tls.ca_file",
		"prometheus.oauth2.client_id", "prometheus.proxy_url", "prometheus.follow_redirects", "alertmanager.url",
		"store.namespace", "store.name", "store.kubeconfig"} {
		if !slices.Contains(keys, k) {
			t.Errorf("Keys() lacks %s", k)
		}
	}
	seen := map[string]string{}
	for _, k := range keys {
		if strings.HasPrefix(k, "services") || strings.HasPrefix(k, "slos") || strings.HasPrefix(k, "scrape.jobs") ||
			strings.HasPrefix(k, "prometheus.external_labels") || strings.Contains(k, "proxy_url.") {
			t.Errorf("Keys() has %s, which is not a scalar reached through sections", k)
		}
		env := EnvName(k)
		if other, dup := seen[env]; dup {
			t.Errorf("%s and %s are both %s", k, other, env)
		}
		seen[env] = k
	}
	if got := EnvName("prometheus.basic_auth.username"); got != "VANE_PROMETHEUS_BASIC_AUTH_USERNAME" {
		t.Errorf("EnvName = %s", got)
	}
}

// TestEnvironmentSetsNestedKeys sets keys at several depths and of several
// types through a plain viper (no prefix, no AutomaticEnv: Parse binds the
// variables itself).
func TestEnvironmentSetsNestedKeys(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"VANE_HTTP_LISTEN":                         "127.0.0.1:9999",
		"VANE_XDS_MIN_PROXIES":                     "0",
		"VANE_SCRAPE_INTERVAL":                     "30s",
		"VANE_STORE_HISTORY_LIMIT":                 "5",
		"VANE_PROMETHEUS_URL":                      "https://prom.example:9090",
		"VANE_PROMETHEUS_BASIC_AUTH_USERNAME":      "bob",
		"VANE_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE": pw,
		"VANE_PROMETHEUS_TLS_CONFIG_SERVER_NAME":   "prom.internal",
		"VANE_PROMETHEUS_FOLLOW_REDIRECTS":         "false",
	} {
		t.Setenv(k, v)
	}
	cfg, err := Parse(filepath.Join(dir, "vane.yaml"), []byte("http: {listen: \"127.0.0.1:1\"}\n"), viper.New())
	if err != nil {
		t.Fatal(err)
	}
	hc := cfg.Prometheus.HTTPClient
	if cfg.HTTP.Listen != "127.0.0.1:9999" || cfg.XDS.MinProxiesOrDefault() != 0 || time.Duration(cfg.Scrape.Interval) != 30*time.Second ||
		cfg.Store.HistoryLimit != 5 || cfg.Prometheus.URL != "https://prom.example:9090" {
		t.Errorf("settings: http %s, min_proxies %d, interval %s, history %d, url %s", cfg.HTTP.Listen, cfg.XDS.MinProxiesOrDefault(),
			time.Duration(cfg.Scrape.Interval), cfg.Store.HistoryLimit, cfg.Prometheus.URL)
	}
	if hc.BasicAuth == nil || hc.BasicAuth.Username != "bob" || hc.BasicAuth.PasswordFile != pw ||
		hc.TLSConfig.ServerName != "prom.internal" || hc.FollowRedirects || !hc.EnableHTTP2 {
		t.Errorf("prometheus client: %+v", hc)
	}
}

func TestFlagsBeatTheEnvironmentWhichBeatsTheFile(t *testing.T) {
	v := viper.New()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.String("http-listen", "", "")
	fs.String("xds-listen", "", "")
	_ = v.BindPFlag("http.listen", fs.Lookup("http-listen"))
	_ = v.BindPFlag("xds.listen", fs.Lookup("xds-listen"))
	if err := fs.Parse([]string{"--http-listen", "127.0.0.1:7000"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VANE_HTTP_LISTEN", "127.0.0.1:8000")
	t.Setenv("VANE_XDS_LISTEN", "127.0.0.1:8001")
	cfg, err := Parse("vane.yaml", []byte("http: {listen: \"127.0.0.1:1\"}\nxds: {listen: \"127.0.0.1:2\"}\n"), v)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:7000" || cfg.XDS.Listen != "127.0.0.1:8001" {
		t.Errorf("http %s (want the flag's), xds %s (want the variable's)", cfg.HTTP.Listen, cfg.XDS.Listen)
	}
	if err := fs.Set("xds-listen", "nope"); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("vane.yaml", nil, v); err == nil || !strings.Contains(err.Error(), `--xds-listen: xds.listen: "nope" is not host:port`) {
		t.Errorf("a bad flag: %v", err)
	}
}

func TestABadEnvironmentValueNamesTheVariable(t *testing.T) {
	for env, tc := range map[string]struct{ val, want string }{
		"VANE_STORE_HISTORY_LIMIT": {"many", `VANE_STORE_HISTORY_LIMIT: store.history_limit: must be an integer, got the str "many"`},
		"VANE_HTTP_LISTEN":         {"nope", `VANE_HTTP_LISTEN: http.listen: "nope" is not host:port`},
		"VANE_SCRAPE_INTERVAL":     {"5 seconds", `VANE_SCRAPE_INTERVAL: scrape.interval: "5 seconds" is not a duration`},
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, tc.val)
			_, err := Parse("vane.yaml", []byte(good), viper.New())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestFindLooksInTheDocumentedPlaces(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	xdg := filepath.Join(dir, "xdg")
	t.Setenv("XDG_CONFIG_HOME", xdg)
	if _, err := os.Stat("/etc/vane/vane.yaml"); err == nil {
		t.Fatal("/etc/vane/vane.yaml exists on this machine; the test cannot show the search order")
	}
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), "none of vane.yaml, "+filepath.Join(xdg, "vane", "vane.yaml")+", /etc/vane/vane.yaml exists") {
		t.Fatalf("no file: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(xdg, "vane"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{filepath.Join(xdg, "vane", "vane.yaml"), "vane.yaml"} {
		if err := os.WriteFile(want, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := Find(); err != nil || got != want {
			t.Errorf("%d: Find() = %q, %v; want %q", i, got, err, want)
		}
	}
}

func TestPrometheusTakesPrometheusCommonClientSettings(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "secret", "token"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "vane.yaml")
	parse := func(prom string) error {
		_, err := Parse(file, []byte("prometheus:\n  url: https://prom.example:9090\n"+prom), nil)
		return err
	}
	cfg, err := Parse(file, []byte(`prometheus:
  url: https://prom.example:9090
  oauth2: {client_id: vane, client_secret_file: secret, token_url: "https://auth.example/token", scopes: [read]}
  proxy_url: http://proxy.example:3128
  tls: {ca_file: ca.pem, server_name: prom.internal}
  http_headers: {X-Scope-OrgID: {values: [team-a]}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := cfg.Prometheus.HTTPClient
	if hc.OAuth2 == nil || hc.OAuth2.ClientID != "vane" || hc.OAuth2.ClientSecretFile != filepath.Join(dir, "secret") ||
		hc.ProxyURL.String() != "http://proxy.example:3128" || hc.TLSConfig.CAFile != filepath.Join(dir, "ca.pem") ||
		hc.TLSConfig.ServerName != "prom.internal" || hc.HTTPHeaders == nil || !hc.FollowRedirects {
		t.Errorf("client settings: %+v", hc)
	}
	cfg, err = Parse(file, []byte("prometheus:\n  url: https://prom.example:9090\n  bearer_token_file: token\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Prometheus.HTTPClient.Authorization; a == nil || a.Type != "Bearer" || a.CredentialsFile != filepath.Join(dir, "token") {
		t.Errorf("bearer_token_file: %+v", a)
	}
	for prom, want := range map[string]string{
		"  tls: {ca_file: ca.pem}\n  tls_config: {ca_file: ca.pem}\n": "vane.yaml:3:3: prometheus.tls: tls is the older name of tls_config: set one of them",
		"  tls_config: {ca_fle: ca.pem}\n":                            `vane.yaml:3:16: prometheus.tls_config.ca_fle: unknown field (allowed: ca, ca_file, ca_ref, `,
		"  oauth2: {client_id: vane}\n":                               "vane.yaml:1:1: prometheus: oauth2 token_url must be configured",
		"  authorization: {type: Basic, credentials: x}\n":            `prometheus: authorization type cannot be set to "basic"`,
		"  proxy_url: 'http://a b'\n":                                 "vane.yaml:3:14: prometheus.proxy_url: parse",
		"  tls_config: {min_version: TLS99}\n":                        "vane.yaml:3:29: prometheus.tls_config.min_version: unknown TLS version: TLS99",
	} {
		if err := parse(prom); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v\nwant %s", prom, err, want)
		}
	}
}
