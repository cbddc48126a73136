package prom

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
)

// FuzzQueryHandler sends arbitrary parameters to the query endpoints: every
// answer must be Prometheus-shaped JSON, a success with a result or an
// error with a type, and nothing may panic.
func FuzzQueryHandler(f *testing.F) {
	e, err := NewEmbedded(EmbeddedConfig{QueryTimeout: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = e.Close() })
	at := time.Unix(1700000000, 0)
	appendSeries(f, e, []analysis.Series{{Labels: map[string]string{"__name__": "m", "v": "1"},
		Points: []analysis.Point{{T: at, V: 1}, {T: at.Add(15 * time.Second), V: 3}}}})
	h := e.Handler()
	for _, s := range [][5]string{
		{"m", "1700000010", "", "", ""},
		{"rate(m[1m])", "", "1700000000", "1700000060", "15"},
		{"sum(", "x", "", "", ""},
		{"m", "", "2023-11-14T22:13:20Z", "2023-11-14T22:14:20Z", "1m"},
		{"m", "", "1700000000", "1600000000", "-1"},
		{"m", "1e300", "NaN", "Inf", "1e-300"},
		{"vector(1)", "", "0", "1e9", "0.001"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, query, ts, start, end, step string) {
		for _, path := range []string{"/api/v1/query", "/api/v1/query_range"} {
			form := url.Values{"query": {query}, "time": {ts}, "start": {start}, "end": {end}, "step": {step}, "timeout": {"1s"}}
			req := httptest.NewRequest(http.MethodGet, path+"?"+form.Encode(), nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var r struct {
				Status    string          `json:"status"`
				Data      json.RawMessage `json:"data"`
				ErrorType string          `json:"errorType"`
				Error     string          `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("%s %v: not JSON (%v): %s", path, form, err, rec.Body)
			}
			switch {
			case rec.Code == http.StatusOK && r.Status == "success" && len(r.Data) > 0:
			case rec.Code >= 400 && r.Status == "error" && r.ErrorType != "" && r.Error != "":
			default:
				t.Fatalf("%s %v: code %d, body %s", path, form, rec.Code, rec.Body)
			}
		}
	})
}
