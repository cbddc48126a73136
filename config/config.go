package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/spf13/viper"

	"github.com/vaneproj/vane/internal/yamlpos"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/slo"
	"github.com/vaneproj/vane/traffic"
)

// Defaults of vane.yaml.
const (
	DefaultXDSListen  = "127.0.0.1:18000"
	DefaultHTTPListen = "127.0.0.1:8080"
	DefaultStorePath  = "vane-data/vane.db"
	// DefaultPrometheusDataDir is the embedded TSDB's directory, next to
	// the configuration file like the store, so SLO budget history
	// survives a restart.
	DefaultPrometheusDataDir = "vane-data/prometheus"
	DefaultHistoryLimit      = 1000
	DefaultScrapeInterval    = 5 * time.Second
	DefaultRetention         = 15 * 24 * time.Hour
	DefaultQueryTimeout      = 10 * time.Second
)

// Config is vane.yaml.
type Config struct {
	// Prometheus is where SLIs are read.
	Prometheus Prometheus `yaml:"prometheus"`
	// Scrape lists what the embedded Prometheus scrapes.
	Scrape Scrape `yaml:"scrape"`
	// XDS is the xDS server.
	XDS XDS `yaml:"xds"`
	// HTTP is the API, web UI and /metrics server.
	HTTP HTTP `yaml:"http"`
	// Store is where rollout state and history live.
	Store Store `yaml:"store"`
	// Election is how replicas on a shared store elect their leader.
	Election Election `yaml:"election"`
	// SLOs are SLO spec files (Sloth prometheus/v1, vane/v1, OpenSLO v1),
	// relative to this file's directory. Default: none.
	SLOs []string `yaml:"slos"`
	// Services are the routed services and their rollout plans.
	Services []Service `yaml:"services"`
	// Alertmanager receives the embedded Prometheus's alerts.
	Alertmanager Alertmanager `yaml:"alertmanager"`

	// File is the configuration file's path; relative paths in it are
	// resolved against its directory.
	File string `yaml:"-"`
	// Loaded holds the SLOs of the SLOs files.
	Loaded []*slo.SLO `yaml:"-"`
	// Warnings are what is legal but likely a mistake (such as a plan
	// that promotes a weight it never judged), each "file:line: path: …".
	Warnings []string `yaml:"-"`
}

// Prometheus configures the Prometheus that judges and SLO status query.
type Prometheus struct {
	// URL of a Prometheus-compatible API (Prometheus, Thanos, Mimir). Empty
	// (default) runs Prometheus embedded in vane, fed by the scrape section.
	URL string `yaml:"url"`
	// Timeout bounds one query attempt (default 10s).
	Timeout model.Duration `yaml:"timeout"`
	// HTTPClient is how vane reaches URL: every setting of
	// prometheus/common's HTTP client, written inline as in Prometheus's
	// own configuration — basic_auth, authorization, oauth2,
	// bearer_token_file, tls_config, proxy_url, no_proxy,
	// proxy_from_environment, proxy_connect_header, follow_redirects
	// (default true), enable_http2 (default true), http_headers. Relative
	// file paths are resolved against this file's directory. Default: no
	// authentication, the system's TLS roots. (A named field: embedded,
	// its UnmarshalYAML would decode the whole section.)
	HTTPClient promconfig.HTTPClientConfig `yaml:",inline"`
	// TLS is tls_config under the name earlier releases of vane used;
	// Parse moves it to tls_config (set one of them).
	TLS *promconfig.TLSConfig `yaml:"tls"`
	// DataDir is the embedded TSDB's directory (default
	// vane-data/prometheus next to this file).
	DataDir string `yaml:"data_dir"`
	// Retention is how long the embedded TSDB keeps samples (default 15d).
	Retention model.Duration `yaml:"retention"`
	// RuleFiles are Prometheus rule files the embedded Prometheus evaluates
	// (for example the output of `vane slo generate`). Default: none.
	RuleFiles []string `yaml:"rule_files"`
	// ExternalURL is the URL the embedded Prometheus is reached at from
	// outside; alerts' generatorURL links under it to a graph of their
	// expression (default: http://<http.listen>/prometheus, with localhost
	// for an empty host).
	ExternalURL string `yaml:"external_url"`
	// ExternalLabels are added to the alerts the embedded Prometheus sends,
	// as Prometheus's global.external_labels (default: none).
	ExternalLabels map[string]string `yaml:"external_labels"`
}

// TLS configures a TLS client.
type TLS struct {
	// CAFile verifies the server's certificate (default: system roots).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (default: none).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables the server certificate check (default
	// false; for tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Scrape configures the embedded Prometheus's scraping.
type Scrape struct {
	// Interval is the default scrape interval (default 5s).
	Interval model.Duration `yaml:"interval"`
	// Jobs are static scrape jobs.
	Jobs []ScrapeJob `yaml:"jobs"`
}

// ScrapeJob is one static scrape job.
type ScrapeJob struct {
	// Name is the job label (required, unique).
	Name string `yaml:"name"`
	// Targets are host:port addresses (at least one).
	Targets []string `yaml:"targets"`
	// Labels are added to every scraped series (default: none).
	Labels map[string]string `yaml:"labels"`
	// Interval overrides scrape.interval for this job.
	Interval model.Duration `yaml:"interval"`
	// MetricsPath is the HTTP path (default /metrics).
	MetricsPath string `yaml:"metrics_path"`
}

// XDS configures the xDS server.
type XDS struct {
	// Listen is the gRPC listen address (default 127.0.0.1:18000).
	Listen string `yaml:"listen"`
	// CertFile and KeyFile, when set, make the server speak TLS (default:
	// none, plaintext). Relative paths are resolved against this file.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, requires clients to present a certificate
	// signed by one of its CAs (mTLS); it needs cert_file and key_file.
	ClientCAFile string `yaml:"client_ca_file"`
	// MinProxies is how many connected proxies must ACK a routing change
	// for it to count as applied (default 1; 0 counts a change with no
	// proxy connected as applied). Until then a rollout is "waiting for a
	// proxy" and no analysis starts.
	MinProxies *int `yaml:"min_proxies"`
}

// MinProxiesOrDefault is xds.min_proxies, 1 when it is not set.
func (x XDS) MinProxiesOrDefault() int {
	if x.MinProxies == nil {
		return 1
	}
	return *x.MinProxies
}

// HTTP configures the HTTP server.
type HTTP struct {
	// Listen is the listen address (default 127.0.0.1:8080).
	Listen string `yaml:"listen"`
	// TokenFile, when set, holds the bearer token that mutating API calls
	// need (default: none, no authentication). Without cert_file the token
	// crosses the network in clear: keep listen on loopback then.
	TokenFile string `yaml:"token_file"`
	// CertFile and KeyFile, when set, make the API speak HTTPS (PEM
	// certificate chain and key; default: none, plain HTTP). Relative paths
	// are resolved against this file.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// AdvertiseURL is where the other replicas reach this replica's API
	// (store kind etcd: followers forward commands to the leader's), e.g.
	// http://10.0.0.5:8080. Default: http(s)://<http.listen>, with this
	// host's name for an unspecified host.
	AdvertiseURL string `yaml:"advertise_url"`
}

// Store configures persistence.
type Store struct {
	// Path is the bbolt file (default vane.db next to this file).
	Path string `yaml:"path"`
	// HistoryLimit is how many events are kept per rollout (default 1000).
	HistoryLimit int `yaml:"history_limit"`
	// Kind is "bbolt" (the default: one file, one replica), "etcd"
	// (several replicas with leader election) or "kubernetes" (several
	// replicas sharing ConfigMaps through the Kubernetes API, elected with
	// a Lease: for clusters without an etcd of their own).
	Kind string `yaml:"kind"`
	// Endpoints are the etcd client URLs (kind etcd; required there).
	Endpoints []string `yaml:"endpoints"`
	// Prefix is the key prefix of everything Vane keeps in etcd (default /vane).
	Prefix string `yaml:"prefix"`
	// TLS configures the etcd client's TLS (default: none, plain gRPC).
	TLS TLS `yaml:"tls"`
	// DialTimeout bounds connecting to etcd at start (default 5s).
	DialTimeout model.Duration `yaml:"dial_timeout"`
	// LeaseTTL is the leader's session TTL: a dead leader is replaced
	// after at most this long (default 10s, at least 2s).
	LeaseTTL model.Duration `yaml:"lease_ttl"`
	// Namespace of the ConfigMaps (kind kubernetes; default:
	// election.lease.namespace, else the Pod's namespace, from the POD_NAMESPACE variable or the service account,
	// else the kubeconfig's context, else "default").
	Namespace string `yaml:"namespace"`
	// Name is the ConfigMaps' base name (kind kubernetes; default "vane"):
	// <name>-state, <name>-history-<hash>, <name>-replica-<hash>.
	Name string `yaml:"name"`
	// Kubeconfig is a kubeconfig file, relative to this file (kind
	// kubernetes; default: election.lease.kubeconfig, else the in-cluster
	// service account, else $KUBECONFIG or ~/.kube/config).
	Kubeconfig string `yaml:"kubeconfig"`
}

// Store kinds.
const (
	StoreBbolt      = "bbolt"
	StoreEtcd       = "etcd"
	StoreKubernetes = "kubernetes"
)

// Alertmanager configures alert delivery.
type Alertmanager struct {
	// URL of Alertmanager (default: none; alerts are only logged).
	URL string `yaml:"url"`
}

// Service is one routed service.
type Service struct {
	// Name of the service; proxyless gRPC clients dial xds:///<name>.
	Name string `yaml:"name"`
	// Stable is the version serving traffic: version and endpoints.
	Stable traffic.Backend `yaml:"stable"`
	// Canary, when set, is rolled out by `vane run`; changing it while vane
	// runs starts a new rollout. Default: none.
	Canary traffic.Backend `yaml:"canary"`
	// ListenerPort, when set, adds an Envoy listener on that port.
	ListenerPort uint32 `yaml:"listener_port"`
	// Protocol is what the endpoints speak: http (default, HTTP/1.1),
	// http2 or grpc. It sets the Envoy clusters' upstream protocol (HTTP/2
	// for http2 and grpc) and the judges' default bad codes (5xx statuses,
	// or gRPC's server-error codes by name for grpc).
	Protocol traffic.Protocol `yaml:"protocol"`
	// Rollout is the rollout plan (see rollout.Plan; defaults: 5% → 25% →
	// 50% → promote with a 2m analysis after each weight).
	Rollout rollout.Plan `yaml:"rollout"`
	// Autoscale, when set, scales the service (see Autoscale).
	Autoscale *Autoscale `yaml:"autoscale"`
	// Kubernetes, when set, takes the stable and canary endpoints from a
	// Kubernetes Service's EndpointSlices instead of the static lists (see
	// Kubernetes). Default: none.
	Kubernetes *Kubernetes `yaml:"kubernetes"`
}

// Traffic returns the service as the traffic package models it.
func (s Service) Traffic() traffic.Service {
	return traffic.Service{Name: s.Name, Stable: s.Stable, Canary: s.Canary, ListenerPort: s.ListenerPort, Protocol: s.Protocol}
}

// ServiceConfig returns what the rollout manager needs.
func (s Service) ServiceConfig() rollout.ServiceConfig {
	return rollout.ServiceConfig{Service: s.Traffic(), Plan: s.Rollout}
}

// ServiceConfigs returns every service for the rollout manager.
func (c *Config) ServiceConfigs() []rollout.ServiceConfig {
	out := make([]rollout.ServiceConfig, 0, len(c.Services))
	for _, s := range c.Services {
		out = append(out, s.ServiceConfig())
	}
	return out
}

// Load reads, decodes, completes and validates the configuration file at
// path, applying v's settings (VANE_* environment variables, flags; nil:
// none; see Keys). Every error names file:line:col and the field's path.
func Load(path string, v *viper.Viper) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b, v)
}

// Parse is Load on the file's contents.
func Parse(path string, data []byte, v *viper.Viper) (*Config, error) {
	doc, err := yamlpos.Parse(path, data)
	if err != nil {
		return nil, err
	}
	// Every duration is a Prometheus duration; a Go form gets its
	// Prometheus spelling in the message.
	doc.Scalars = map[reflect.Type]func(string) error{
		reflect.TypeFor[model.Duration](): func(v string) error { _, err := slo.ParseDuration(v); return err },
	}
	if err := override(doc, v); err != nil {
		return nil, err
	}
	// prometheus/common's defaults (follow redirects, HTTP/2) for the
	// client settings the file leaves out.
	cfg := &Config{Prometheus: Prometheus{HTTPClient: promconfig.DefaultHTTPClientConfig}}
	if err := doc.Decode(cfg); err != nil {
		return nil, err
	}
	cfg.File = path
	cfg.defaults()
	if err := cfg.validate(doc); err != nil {
		return nil, err
	}
	cfg.Prometheus.HTTPClient.SetDirectory(filepath.Dir(path))
	return cfg, nil
}

// Resolve returns p relative to the configuration file's directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

func (c *Config) defaults() {
	if c.XDS.Listen == "" {
		c.XDS.Listen = DefaultXDSListen
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = DefaultHTTPListen
	}
	if c.Store.Path == "" {
		c.Store.Path = DefaultStorePath
	}
	if c.Prometheus.DataDir == "" && c.Prometheus.URL == "" {
		c.Prometheus.DataDir = DefaultPrometheusDataDir
	}
	if c.Store.HistoryLimit == 0 {
		c.Store.HistoryLimit = DefaultHistoryLimit
	}
	if c.Store.Kind == "" {
		c.Store.Kind = StoreBbolt
	}
	if c.Store.Kind == StoreEtcd {
		if c.Store.Prefix == "" {
			c.Store.Prefix = "/vane"
		}
		if c.Store.DialTimeout == 0 {
			c.Store.DialTimeout = model.Duration(5 * time.Second)
		}
		if c.Store.LeaseTTL == 0 {
			c.Store.LeaseTTL = model.Duration(10 * time.Second)
		}
	}
	if c.Store.Kind == StoreKubernetes && c.Store.Name == "" {
		c.Store.Name = "vane"
	}
	if c.Scrape.Interval == 0 {
		c.Scrape.Interval = model.Duration(DefaultScrapeInterval)
	}
	if c.Prometheus.Retention == 0 {
		c.Prometheus.Retention = model.Duration(DefaultRetention)
	}
	if c.Prometheus.Timeout == 0 {
		c.Prometheus.Timeout = model.Duration(DefaultQueryTimeout)
	}
	for i := range c.Scrape.Jobs {
		if c.Scrape.Jobs[i].MetricsPath == "" {
			c.Scrape.Jobs[i].MetricsPath = "/metrics"
		}
	}
	c.kubernetesDefaults()
	c.electionDefaults()
}

// validator collects errors, each placed at its field.
type validator struct {
	doc  *yamlpos.Doc
	errs []error
}

func (v *validator) at(path, format string, a ...any) {
	v.errs = append(v.errs, v.doc.Errorf(path, format, a...))
}

// nested places the errors of a model's Validate, whose messages start
// with a field path relative to base.
func (v *validator) nested(base string, err error) {
	v.errs = append(v.errs, v.doc.Place(base, err)...)
}

// place is nested's placing of one message: "file:line:col: path: rest".
func (v *validator) place(base, msg string) string {
	return v.doc.Place(base, errors.New(msg))[0].Error()
}

func checkAddr(v *validator, path, addr string) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		v.at(path, "%q is not host:port: %v", addr, err)
	}
}

func checkURL(v *validator, path, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.at(path, "%q is not an http(s) URL", s)
	}
}

func (c *Config) validate(doc *yamlpos.Doc) error {
	v := &validator{doc: doc}
	checkURL(v, "prometheus.url", c.Prometheus.URL)
	checkURL(v, "prometheus.external_url", c.Prometheus.ExternalURL)
	if c.Prometheus.URL != "" && (c.Prometheus.ExternalURL != "" || len(c.Prometheus.ExternalLabels) > 0) {
		v.at("prometheus", "external_url and external_labels are settings of the embedded Prometheus; remove them or prometheus.url")
	}
	for _, k := range slices.Sorted(maps.Keys(c.Prometheus.ExternalLabels)) {
		if !model.UTF8Validation.IsValidLabelName(k) || strings.HasPrefix(k, "__") {
			v.at("prometheus.external_labels."+k, "%q is not a valid label name", k)
		} else if c.Prometheus.ExternalLabels[k] == "" {
			v.at("prometheus.external_labels."+k, "empty value")
		}
	}
	checkURL(v, "alertmanager.url", c.Alertmanager.URL)
	c.validatePrometheusClient(v)
	checkAddr(v, "xds.listen", c.XDS.Listen)
	if c.XDS.MinProxies != nil && *c.XDS.MinProxies < 0 {
		v.at("xds.min_proxies", "%d is negative", *c.XDS.MinProxies)
	}
	if (c.XDS.CertFile == "") != (c.XDS.KeyFile == "") {
		v.at("xds", "cert_file and key_file go together")
	}
	if c.XDS.ClientCAFile != "" && c.XDS.CertFile == "" {
		v.at("xds.client_ca_file", "mTLS needs cert_file and key_file")
	}
	for _, f := range []struct{ path, file string }{{"xds.cert_file", c.XDS.CertFile}, {"xds.key_file", c.XDS.KeyFile}, {"xds.client_ca_file", c.XDS.ClientCAFile}} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(c.Resolve(f.file)); err != nil {
			v.at(f.path, "%v", err)
		}
	}
	checkAddr(v, "http.listen", c.HTTP.Listen)
	checkURL(v, "http.advertise_url", c.HTTP.AdvertiseURL)
	if (c.HTTP.CertFile == "") != (c.HTTP.KeyFile == "") {
		v.at("http", "cert_file and key_file go together")
	}
	for _, f := range []struct{ path, file string }{{"http.cert_file", c.HTTP.CertFile}, {"http.key_file", c.HTTP.KeyFile}} {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(c.Resolve(f.file)); err != nil {
			v.at(f.path, "%v", err)
		}
	}
	if c.Store.HistoryLimit < 0 {
		v.at("store.history_limit", "%d is negative", c.Store.HistoryLimit)
	}
	c.validateStore(v)
	c.validateElection(v)
	if c.HTTP.TokenFile != "" {
		if b, err := os.ReadFile(c.Resolve(c.HTTP.TokenFile)); err != nil {
			v.at("http.token_file", "%v", err)
		} else if len(bytes.TrimSpace(b)) == 0 {
			v.at("http.token_file", "%s is empty", c.HTTP.TokenFile)
		}
	}
	if c.Prometheus.URL != "" && len(c.Scrape.Jobs) > 0 {
		v.at("scrape", "only the embedded Prometheus scrapes; remove scrape.jobs or prometheus.url")
	}
	jobs := map[string]int{}
	for i, j := range c.Scrape.Jobs {
		p := fmt.Sprintf("scrape.jobs[%d]", i)
		if j.Name == "" {
			v.at(p+".name", "required")
		} else if k, dup := jobs[j.Name]; dup {
			v.at(p+".name", "%q is also the name of scrape.jobs[%d]", j.Name, k)
		}
		jobs[j.Name] = i
		if len(j.Targets) == 0 {
			v.at(p+".targets", "at least one host:port is required")
		}
		for k, t := range j.Targets {
			checkAddr(v, fmt.Sprintf("%s.targets[%d]", p, k), t)
		}
	}
	var files []slo.File
	for i, f := range c.SLOs {
		b, err := os.ReadFile(c.Resolve(f))
		if err != nil {
			v.at(fmt.Sprintf("slos[%d]", i), "%v", err)
			continue
		}
		files = append(files, slo.File{Name: c.Resolve(f), Data: b})
	}
	if len(files) > 0 {
		loaded, err := slo.Load(files...)
		if err != nil {
			v.errs = append(v.errs, err)
		}
		c.Loaded = loaded
	}
	names := map[string]int{}
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d]", i)
		if k, dup := names[s.Name]; dup {
			v.at(p+".name", "%q is also the name of services[%d]", s.Name, k)
		}
		names[s.Name] = i
		if err := s.Traffic().Validate(); err != nil {
			v.nested(p, kubernetesEndpoints(s, errors.Unwrap(err)))
		}
		c.validateKubernetes(v, i, s)
		if err := s.Rollout.Validate(); err != nil {
			v.nested(p+".rollout", err)
		}
		c.validateAutoscale(v, i, s)
		for _, w := range s.Rollout.Warnings() {
			c.Warnings = append(c.Warnings, v.place(p+".rollout", w))
		}
		if s.Rollout.JudgeMissing() {
			// A service without a rollout section (one that is only
			// routed or autoscaled) loads; its rollouts are refused.
			if s.Canary.Version != "" || !reflect.ValueOf(s.Rollout).IsZero() {
				v.at(p+".rollout.analysis", "the plan has analysis steps but no judge: set requests_metric (the sequential judge) or judges")
			} else {
				c.Warnings = append(c.Warnings, v.place(p, "no rollout section: rollouts of "+s.Name+
					" are refused until rollout.analysis sets requests_metric or judges"))
			}
		}
		if g := s.Rollout.BudgetGate; g.Enabled() && len(files) > 0 && c.Loaded != nil {
			found := false
			for _, l := range c.Loaded {
				found = found || l.ID() == g.SLO || l.Name == g.SLO
			}
			if !found {
				v.at(p+".rollout.budget_gate.slo", "no SLO named %q in the slos files", g.SLO)
			}
		} else if g.Enabled() && len(c.SLOs) == 0 {
			v.at(p+".rollout.budget_gate.slo", "%q: no slos files are configured", g.SLO)
		}
	}
	return errors.Join(v.errs...)
}
