package config

import (
	"os"
	"reflect"
)

// validatePrometheusClient checks the prometheus section's HTTP client
// settings (prometheus/common's HTTPClientConfig) and moves the older
// prometheus.tls to tls_config.
func (c *Config) validatePrometheusClient(v *validator) {
	p := &c.Prometheus
	hc := &p.HTTPClient
	tlsPath := "prometheus.tls_config"
	if p.TLS != nil {
		tlsPath = "prometheus.tls"
		if !reflect.ValueOf(hc.TLSConfig).IsZero() {
			v.at("prometheus.tls", "tls is the older name of tls_config: set one of them")
		}
		hc.TLSConfig, p.TLS = *p.TLS, nil
	}
	before := len(v.errs)
	if ba := hc.BasicAuth; ba != nil {
		if ba.Username == "" && ba.UsernameFile == "" && ba.UsernameRef == "" {
			v.at("prometheus.basic_auth.username", "required (or username_file)")
		}
		if hc.BearerTokenFile != "" || hc.BearerToken != "" {
			v.at("prometheus.basic_auth", "use either basic_auth or bearer_token_file")
		}
	}
	t := hc.TLSConfig
	if (t.CertFile == "" && t.Cert == "") != (t.KeyFile == "" && t.Key == "") {
		v.at(tlsPath, "cert_file and key_file go together")
	}
	files := []struct{ path, file string }{
		{"prometheus.bearer_token_file", hc.BearerTokenFile},
		{tlsPath + ".ca_file", t.CAFile},
		{tlsPath + ".cert_file", t.CertFile},
		{tlsPath + ".key_file", t.KeyFile},
	}
	if ba := hc.BasicAuth; ba != nil {
		files = append(files, struct{ path, file string }{"prometheus.basic_auth.password_file", ba.PasswordFile},
			struct{ path, file string }{"prometheus.basic_auth.username_file", ba.UsernameFile})
	}
	if a := hc.Authorization; a != nil {
		files = append(files, struct{ path, file string }{"prometheus.authorization.credentials_file", a.CredentialsFile})
	}
	if o := hc.OAuth2; o != nil {
		files = append(files, struct{ path, file string }{"prometheus.oauth2.client_secret_file", o.ClientSecretFile})
	}
	for _, f := range files {
		if f.file == "" {
			continue
		}
		if _, err := os.Stat(c.Resolve(f.file)); err != nil {
			v.at(f.path, "%v", err)
		}
	}
	if len(v.errs) > before {
		return
	}
	// prometheus/common's own rules (one authentication method, proxy
	// settings); it also turns bearer_token_file into authorization.
	if err := hc.Validate(); err != nil {
		v.at("prometheus", "%v", err)
	}
}
