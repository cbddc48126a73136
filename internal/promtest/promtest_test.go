package promtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/analysis"
)

func TestServerScrapesExporter(t *testing.T) {
	exp := NewExporter(t, "checkout")
	exp.Record("v1", 10, 2)
	exp.Observe("v1", 30*time.Millisecond, 4)
	srv := Start(t, ServerConfig{Jobs: []Job{{Name: "app", Targets: []string{exp.Addr()}, Labels: map[string]string{"env": "test"}}}})

	query := `sum(http_requests_total{service="checkout",version="v1",code="500",env="test"})`
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/api/v1/query?query=" + url.QueryEscape(query))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if len(r.Data.Result) == 1 && r.Data.Result[0].Value[1] == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter not scraped: %s\nserver output:\n%s", body, srv.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	srv.Stop()
	if _, err := http.Get(srv.URL + "/-/ready"); err == nil {
		t.Fatal("server still answers after Stop")
	}
}

func TestFindToolMessage(t *testing.T) {
	t.Setenv("VANE_TOOLS_DIR", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir())
	_, err := FindTool("prometheus")
	if err == nil || !strings.Contains(err.Error(), "make test-tools") {
		t.Fatalf("err %v", err)
	}
}

func TestWriteOpenMetrics(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	var b bytes.Buffer
	err := WriteOpenMetrics(&b, []analysis.Series{
		{Labels: map[string]string{"__name__": "b", "x": `q"1`}, Points: []analysis.Point{{T: at, V: 1.5}}},
		{Labels: map[string]string{"__name__": "a", "le": "+Inf", "c": "d"}, Points: []analysis.Point{{T: at, V: 2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "a{c=\"d\",le=\"+Inf\"} 2 1700000000.123\nb{x=\"q\\\"1\"} 1.5 1700000000.123\n# EOF\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestGenerateConfigRejectsEmptyJob(t *testing.T) {
	if _, err := GenerateConfig(ServerConfig{Jobs: []Job{{Name: "x"}}}); err == nil {
		t.Fatal("a job without targets was accepted")
	}
}
