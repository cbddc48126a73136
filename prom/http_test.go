package prom

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	promconfig "github.com/prometheus/common/config"

	"github.com/vaneproj/vane/analysis"
)

const vectorBody = `{"status":"success","data":{"resultType":"vector","result":[` +
	`{"metric":{"__name__":"up","job":"app","version":"v2"},"value":[1700000000,"0.25"]}]}}`

// fakeProm answers /api/v1/query and /api/v1/query_range with what its
// handler function says, and counts requests.
type fakeProm struct {
	*httptest.Server
	calls atomic.Int32
}

func newFakeProm(t *testing.T, h func(n int32, w http.ResponseWriter, r *http.Request)) *fakeProm {
	t.Helper()
	f := &fakeProm{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.calls.Add(1)
		h(n, w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func fastConfig(url string) HTTPConfig {
	return HTTPConfig{URL: url, Timeout: 2 * time.Second, MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func TestHTTPQueryVectorAndWarnings(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		if r.URL.Path != "/api/v1/query" {
			t.Errorf("path %q", r.URL.Path)
		}
		if got := r.Form.Get("query"); got != "up" {
			t.Errorf("query %q", got)
		}
		if got := r.Form.Get("time"); got != "1700000000.5" {
			t.Errorf("time %q", got)
		}
		if got := r.Form.Get("timeout"); got != "2s" {
			t.Errorf("timeout %q", got)
		}
		writeJSON(w, 200, strings.TrimSuffix(vectorBody, "}")+`,"warnings":["PromQL warning: something odd"]}`)
	})
	q, err := NewHTTPQuerier(fastConfig(f.URL))
	if err != nil {
		t.Fatal(err)
	}
	v, err := q.Query(context.Background(), "up", time.Unix(1700000000, 5e8))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Samples) != 1 || v.Samples[0].Value != 0.25 || v.Samples[0].Labels["version"] != "v2" || v.Samples[0].Labels["__name__"] != "up" {
		t.Fatalf("samples %+v", v.Samples)
	}
	if len(v.Warnings) != 1 || v.Warnings[0] != "PromQL warning: something odd" {
		t.Fatalf("warnings %q", v.Warnings)
	}
}

func TestHTTPQueryScalarAndEmpty(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("query") == "1" {
			writeJSON(w, 200, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}}`)
			return
		}
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	})
	q, err := NewHTTPQuerier(fastConfig(f.URL))
	if err != nil {
		t.Fatal(err)
	}
	v, err := q.Query(context.Background(), "1", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Samples) != 1 || v.Samples[0].Value == v.Samples[0].Value {
		t.Fatalf("want one NaN sample, got %+v", v.Samples)
	}
	v, err = q.Query(context.Background(), "absent_metric", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatalf("an empty result is not an error: %v", err)
	}
	if len(v.Samples) != 0 {
		t.Fatalf("samples %+v", v.Samples)
	}
}

func TestHTTPQueryRange(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.URL.Path != "/api/v1/query_range" || r.Form.Get("step") != "15" || r.Form.Get("start") != "1700000000" || r.Form.Get("end") != "1700000030" {
			t.Errorf("request %s %v", r.URL.Path, r.Form)
		}
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"matrix","result":[`+
			`{"metric":{"version":"v1"},"values":[[1700000000,"1"],[1700000015,"2"],[1700000030,"3"]]}]},"warnings":["w1"]}`)
	})
	q, err := NewHTTPQuerier(fastConfig(f.URL))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1700000000, 0)
	m, err := q.QueryRange(context.Background(), "x", start, start.Add(30*time.Second), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Series) != 1 || len(m.Series[0].Points) != 3 || m.Warnings[0] != "w1" {
		t.Fatalf("matrix %+v", m)
	}
	if p := m.Series[0].Points[2]; !p.T.Equal(start.Add(30*time.Second)) || p.V != 3 {
		t.Fatalf("last point %+v", p)
	}
	if _, err := q.QueryRange(context.Background(), "x", start, start.Add(time.Minute), 0); KindOf(err) != KindBadQuery {
		t.Fatalf("zero step: %v", err)
	}
	if _, err := q.QueryRange(context.Background(), "x", start, start.Add(-time.Minute), time.Second); KindOf(err) != KindBadQuery {
		t.Fatalf("end before start: %v", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("invalid ranges reached the server: %d calls", n)
	}
}

func TestHTTPRetriesServerErrorsThenSucceeds(t *testing.T) {
	f := newFakeProm(t, func(n int32, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			writeJSON(w, http.StatusServiceUnavailable, `{"status":"error","errorType":"unavailable","error":"overloaded"}`)
			return
		}
		writeJSON(w, 200, vectorBody)
	})
	m := NewMetrics(prometheus.NewRegistry())
	q, err := NewInstrumentedHTTP(fastConfig(f.URL), WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	v, err := q.Query(context.Background(), "up", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Samples) != 1 {
		t.Fatalf("samples %+v", v.Samples)
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("calls %d, want 3", n)
	}
	if r := testutil.ToFloat64(m.Retries.WithLabelValues("server")); r != 2 {
		t.Fatalf("retries metric %v, want 2", r)
	}
	if c := testutil.CollectAndCount(m.QueryDuration); c != 1 {
		t.Fatalf("duration series %d", c)
	}
	// Every kind's series exists from the start, at 0: the retried
	// failures are not errors of the query.
	if e := testutil.CollectAndCount(m.QueryErrors); e != len(errorKinds()) {
		t.Fatalf("error series %d, want one per kind", e)
	}
	for _, k := range errorKinds() {
		if e := testutil.ToFloat64(m.QueryErrors.WithLabelValues("http", string(k))); e != 0 {
			t.Fatalf("%s errors %v, want 0", k, e)
		}
	}
}

func TestHTTPGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusInternalServerError, `oops`)
	})
	m := NewMetrics(nil)
	q, err := NewInstrumentedHTTP(fastConfig(f.URL), WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Query(context.Background(), "up", time.Now())
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Kind != KindServer || qe.Attempts != 3 {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), `"up"`) || !strings.Contains(err.Error(), f.URL) {
		t.Fatalf("error does not name query and server: %v", err)
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("calls %d, want 3", n)
	}
	if e := testutil.ToFloat64(m.QueryErrors.WithLabelValues("http", "server")); e != 1 {
		t.Fatalf("errors metric %v", e)
	}
}

func TestHTTPDoesNotRetryBadQueries(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		kind ErrorKind
	}{
		{400, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}`, KindBadQuery},
		{422, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`, KindBadQuery},
		{401, `unauthorized`, KindClient},
		{403, `forbidden`, KindClient},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tc.code, tc.body)
			})
			q, err := NewHTTPQuerier(fastConfig(f.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = q.Query(context.Background(), "rate(x", time.Now())
			if KindOf(err) != tc.kind {
				t.Fatalf("kind %q, want %q: %v", KindOf(err), tc.kind, err)
			}
			// 403 may be answered to the POST and then the GET fallback of
			// client_golang; neither is a retry.
			if n := f.calls.Load(); n > 2 || (tc.code != 403 && n != 1) {
				t.Fatalf("calls %d: a %d was retried", n, tc.code)
			}
		})
	}
}

func TestHTTPTimeoutPerAttempt(t *testing.T) {
	release := make(chan struct{})
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	cfg := fastConfig(f.URL)
	cfg.Timeout = 50 * time.Millisecond
	cfg.MaxAttempts = 2
	q, err := NewHTTPQuerier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = q.Query(context.Background(), "up", time.Now())
	if KindOf(err) != KindTimeout {
		t.Fatalf("kind %q: %v", KindOf(err), err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("calls %d, want 2 (timeouts are retried)", n)
	}
}

func TestHTTPCallerCancelStopsRetries(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 502, `bad gateway`)
	})
	cfg := fastConfig(f.URL)
	cfg.MaxAttempts = 100
	cfg.Backoff = time.Hour
	cfg.MaxBackoff = time.Hour
	q, err := NewHTTPQuerier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = q.Query(ctx, "up", time.Now())
	if KindOf(err) != KindCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if n := f.calls.Load(); n > 1 {
		t.Fatalf("calls %d", n)
	}
}

func TestHTTPConnectionRefusedIsRetriedNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	m := NewMetrics(nil)
	q, err := NewHTTPQuerier(fastConfig("http://"+addr), WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.QueryRange(context.Background(), "up", time.Now().Add(-time.Minute), time.Now(), time.Second)
	if KindOf(err) != KindNetwork {
		t.Fatalf("kind %q: %v", KindOf(err), err)
	}
	if r := testutil.ToFloat64(m.Retries.WithLabelValues("network")); r != 2 {
		t.Fatalf("retries %v", r)
	}
}

func TestHTTPUnexpectedResultTypes(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch r.Form.Get("query") {
		case "matrix":
			writeJSON(w, 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}`)
		case "native":
			writeJSON(w, 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"h"},"histogram":[1,{"count":"2","sum":"3","buckets":[[0,"0","1","2"]]}]}]}}`)
		default:
			writeJSON(w, 200, `<html>not prometheus</html>`)
		}
	})
	q, err := NewHTTPQuerier(fastConfig(f.URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{"matrix", "native", "html"} {
		f.calls.Store(0)
		_, err := q.Query(context.Background(), query, time.Now())
		if KindOf(err) != KindBadResponse {
			t.Errorf("%s: kind %q: %v", query, KindOf(err), err)
		}
		if n := f.calls.Load(); n != 1 {
			t.Errorf("%s: calls %d", query, n)
		}
	}
}

func TestHTTPAuthOptions(t *testing.T) {
	f := newFakeProm(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		switch {
		case r.Header.Get("Authorization") == "Bearer s3cret":
		case ok && user == "vane" && pass == "pw":
		default:
			writeJSON(w, 401, "unauthorized: "+r.Header.Get("Authorization"))
			return
		}
		writeJSON(w, 200, vectorBody)
	})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]promconfig.HTTPClientConfig{
		"bearer":      {Authorization: &promconfig.Authorization{Type: "Bearer", Credentials: "s3cret"}},
		"bearer file": {Authorization: &promconfig.Authorization{Type: "Bearer", CredentialsFile: tokenFile}},
		"basic":       {BasicAuth: &promconfig.BasicAuth{Username: "vane", Password: "pw"}},
		"none":        {},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := fastConfig(f.URL)
			cfg.Client = c
			q, err := NewHTTPQuerier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = q.Query(context.Background(), "up", time.Now())
			if name == "none" {
				if KindOf(err) != KindClient {
					t.Fatalf("no credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHTTPTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, vectorBody)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(srv.URL)
	cfg.MaxAttempts = 1
	q, err := NewHTTPQuerier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Query(context.Background(), "up", time.Now()); err == nil {
		t.Fatal("an unknown CA was accepted")
	}
	cfg.Client = promconfig.HTTPClientConfig{TLSConfig: promconfig.TLSConfig{CAFile: caFile}}
	q, err = NewHTTPQuerier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Query(context.Background(), "up", time.Now()); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
}

func TestHTTPConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  HTTPConfig
		want string
	}{
		{HTTPConfig{}, "url is empty"},
		{HTTPConfig{URL: "localhost:9090"}, "scheme"},
		{HTTPConfig{URL: "http://"}, "no host"},
		{HTTPConfig{URL: "http://x", Timeout: -1}, "negative"},
		{HTTPConfig{URL: "http://x", Client: promconfig.HTTPClientConfig{
			BasicAuth:     &promconfig.BasicAuth{Username: "a"},
			Authorization: &promconfig.Authorization{Credentials: "b"},
		}}, "http client config"},
	} {
		if _, err := NewHTTPQuerier(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestURLPasswordRedacted(t *testing.T) {
	q, err := NewHTTPQuerier(HTTPConfig{URL: "http://user:hunter2@127.0.0.1:1", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Query(context.Background(), "up", time.Now())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v", err)
	}
}

var _ analysis.Querier = Instrument(nil, NewMetrics(nil), "x")
