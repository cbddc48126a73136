package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
)

const good = `prometheus:
  url: ""
scrape:
  interval: 10s
  jobs:
    - name: checkout
      targets: ["127.0.0.1:9101", "127.0.0.1:9102"]
services:
  - name: checkout
    stable: {version: v1, endpoints: ["127.0.0.1:9001"]}
    rollout:
      analysis:
        requests_metric: demo_requests_total
      steps:
        - weight: 10
        - analysis: {duration: 1m}
        - promote
`

func TestGoodConfigAndDefaults(t *testing.T) {
	cfg, err := Parse("vane.yaml", []byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.XDS.Listen != DefaultXDSListen || cfg.HTTP.Listen != DefaultHTTPListen || cfg.Store.Path != "vane-data/vane.db" ||
		cfg.Store.HistoryLimit != 1000 || cfg.Scrape.Interval.D() != 10*time.Second || cfg.Prometheus.Retention.D() != 15*24*time.Hour {
		t.Fatalf("defaults: %+v", cfg)
	}
	if got := cfg.Scrape.Jobs[0].MetricsPath; got != "/metrics" {
		t.Fatalf("metrics_path default %q", got)
	}
	sc := cfg.ServiceConfigs()
	if len(sc) != 1 || sc[0].Service.Name != "checkout" || len(sc[0].Plan.Steps) != 3 {
		t.Fatalf("services: %+v", sc)
	}
}

func TestEnvironmentAndFlagsOverrideTheFile(t *testing.T) {
	v := viper.New()
	v.SetEnvPrefix("VANE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	t.Setenv("VANE_HTTP_LISTEN", "127.0.0.1:9999")
	v.Set("store.path", "/tmp/other.db")
	cfg, err := Parse("vane.yaml", []byte(good+"http: {listen: \"127.0.0.1:1\"}\n"), v)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9999" || cfg.Store.Path != "/tmp/other.db" {
		t.Fatalf("overrides not applied: http %s store %s", cfg.HTTP.Listen, cfg.Store.Path)
	}
}

func TestTheExampleFileLoads(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "examples", "vane.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) == 0 {
		t.Fatal("the example configures no service")
	}
}

func TestBadConfigsNameFileLineAndField(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty-token")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"an unknown top-level field": {"prometheus: {}\nxsd:\n  listen: x\n",
			`vane.yaml:2:1: xsd: unknown field (allowed: alertmanager, http, prometheus, scrape, services, slos, store, xds); did you mean "xds"?`},
		"an unknown nested field": {"http:\n  listen: 127.0.0.1:1\n  tokenfile: x\n",
			`vane.yaml:3:3: http.tokenfile: unknown field (allowed: advertise_url, cert_file, key_file, listen, token_file); did you mean "token_file"?`},
		"a bad duration": {"scrape:\n  interval: 5 seconds\n",
			`vane.yaml:2: scrape.interval: "5 seconds" is not a duration`},
		"a bad duration deep in a plan": {good + "      progress_deadline: soon\n",
			`vane.yaml:18: services[0].rollout.progress_deadline: "soon" is not a duration`},
		"a bad judge duration": {strings.Replace(good, "requests_metric: demo_requests_total", "judges: [{kind: sequential, requests_metric: x, interval: 1 minute}]", 1),
			`vane.yaml:13: services[0].rollout.analysis.judges[0].interval: "1 minute" is not a duration`},
		"a weight over 100": {strings.Replace(good, "weight: 10", "weight: 120", 1),
			"vane.yaml:15: services[0].rollout.steps[0].weight: 120 is outside 0..100"},
		"a step after promote": {good + "        - weight: 50\n",
			"vane.yaml:18: services[0].rollout.steps[3]: weight 50% after promote"},
		"an unknown step": {strings.Replace(good, "- weight: 10", "- wait: 10", 1),
			`vane.yaml:15: step: unknown field "wait"`},
		"a bad endpoint": {strings.Replace(good, `"127.0.0.1:9001"`, `"localhost"`, 1),
			"vane.yaml:10: services[0].stable.endpoints[0]: endpoint \"localhost\""},
		"a bad service name": {strings.Replace(good, "name: checkout\n    stable", "name: Check_Out\n    stable", 1),
			"vane.yaml:9: services[0].name:"},
		"a duplicate scrape job": {strings.Replace(good, "jobs:\n", "jobs:\n    - {name: checkout, targets: [\"127.0.0.1:1\"]}\n", 1),
			`vane.yaml:7: scrape.jobs[1].name: "checkout" is also the name of scrape.jobs[0]`},
		"a bad scrape target": {strings.Replace(good, `"127.0.0.1:9102"`, `"no-port"`, 1),
			`vane.yaml:7: scrape.jobs[0].targets[1]: "no-port" is not host:port`},
		"a bad URL": {"prometheus:\n  url: localhost:9090\n",
			`vane.yaml:2: prometheus.url: "localhost:9090" is not an http(s) URL`},
		"a bad external URL": {"prometheus:\n  external_url: vane:8080/prometheus\n",
			`vane.yaml:2: prometheus.external_url: "vane:8080/prometheus" is not an http(s) URL`},
		"a bad external label": {"prometheus:\n  external_labels:\n    cluster: eu-1\n    __team: sre\n",
			`vane.yaml:4: prometheus.external_labels.__team: "__team" is not a valid label name`},
		"external labels on a remote Prometheus": {"prometheus:\n  url: http://127.0.0.1:9090\n  external_labels: {cluster: eu-1}\n",
			`vane.yaml:1: prometheus: external_url and external_labels are settings of the embedded Prometheus`},
		"analysis without a judge": {strings.Replace(good, "        requests_metric: demo_requests_total\n", "        interval: 10s\n", 1),
			"vane.yaml:12: services[0].rollout.analysis: the plan has analysis steps but no judge"},
		"a missing SLO file": {"slos: [nope.yaml]\n",
			"vane.yaml:1: slos[0]: open nope.yaml"},
		"a budget gate without SLOs": {strings.Replace(good, "      analysis:\n", "      budget_gate: {slo: checkout-availability, floor: 0.2}\n      analysis:\n", 1),
			`vane.yaml:12: services[0].rollout.budget_gate.slo: "checkout-availability": no slos files`},
		"an empty token file": {"http:\n  token_file: " + empty + "\n",
			"vane.yaml:2: http.token_file: " + empty + " is empty"},
		"a YAML syntax error": {"services:\n  - name: [\n",
			"vane.yaml:2: did not find expected node content"},
		"basic auth without a user name": {"prometheus:\n  url: http://127.0.0.1:9090\n  basic_auth: {password_file: " + empty + "}\n",
			"vane.yaml:3: prometheus.basic_auth.username: required"},
		"basic auth and a bearer token": {"prometheus:\n  url: http://127.0.0.1:9090\n  bearer_token_file: " + empty + "\n  basic_auth: {username: u, password_file: " + empty + "}\n",
			"vane.yaml:4: prometheus.basic_auth: use either basic_auth or bearer_token_file"},
		"a missing Prometheus CA file": {"prometheus:\n  url: https://127.0.0.1:9090\n  tls: {ca_file: nope.pem}\n",
			"vane.yaml:3: prometheus.tls.ca_file: stat nope.pem"},
		"a TLS certificate without its key": {"xds:\n  cert_file: " + empty + "\n",
			"vane.yaml:1: xds: cert_file and key_file go together"},
		"a missing TLS file": {"xds:\n  cert_file: nope.pem\n  key_file: " + empty + "\n",
			"vane.yaml:2: xds.cert_file: stat nope.pem"},
		"mTLS without a certificate": {"xds:\n  client_ca_file: " + empty + "\n",
			"vane.yaml:2: xds.client_ca_file: mTLS needs cert_file and key_file"},
		"a wrong type": {"store:\n  history_limit: many\n",
			"vane.yaml:2: cannot unmarshal !!str `many` into int"},
	} {
		_, err := Parse("vane.yaml", []byte(tc.in), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error\n%v\nwant it to contain\n%s", name, err, tc.want)
		}
	}
}

func TestAMissingFileIsAClearError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "vane.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "vane.yaml: no such file") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("services:\n  - name: a\n    stable: {version: v1, endpoints: [\"a:1\"]}\n"))
	f.Add([]byte("scrape: {interval: 1d, jobs: [{name: x, targets: [\"a:1\"]}]}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg, err := Parse("vane.yaml", in, nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "vane.yaml") && !strings.HasPrefix(err.Error(), "config:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if cfg.XDS.Listen == "" || cfg.HTTP.Listen == "" {
			t.Fatal("defaults missing")
		}
	})
}
