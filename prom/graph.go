package prom

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/vaneproj/vane/analysis"
)

// graphPage serves /graph?g0.expr=…, the link Prometheus puts in an
// alert's generatorURL: the expression, its current value per series and a
// line chart of the last hour drawn as inline SVG, with links to the same
// query on the API. Nothing is fetched by the browser.
func (e *Embedded) graphPage(w http.ResponseWriter, r *http.Request) {
	expr := r.FormValue("g0.expr")
	if expr == "" {
		expr = r.FormValue("expr")
	}
	rng := time.Hour
	if s := r.FormValue("g0.range_input"); s != "" {
		if d, err := model.ParseDuration(s); err == nil && d > 0 && time.Duration(d) <= 7*24*time.Hour {
			rng = time.Duration(d)
		}
	}
	page := graphData{Expr: expr, Range: rng.String(), QueryURL: "api/v1/query?" + url.Values{"query": {expr}}.Encode()}
	if expr != "" {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		end := time.Now()
		m, err := e.QueryRange(ctx, expr, end.Add(-rng), end, rng/120)
		if err != nil {
			page.Err = err.Error()
		} else {
			page.SVG, page.Series = drawSVG(m, end.Add(-rng), end)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := graphTmpl.Execute(w, page); err != nil {
		e.o.logger.Debug("graph page", "err", err)
	}
}

type graphData struct {
	Expr, Range, QueryURL, Err string
	SVG                        template.HTML
	Series                     []seriesLegend
}

type seriesLegend struct {
	Color, Labels, Last string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// drawSVG renders m as polylines over [start, end].
func drawSVG(m analysis.Matrix, start, end time.Time) (template.HTML, []seriesLegend) {
	const wd, ht, pad = 800.0, 260.0, 40.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range m.Series {
		for _, p := range s.Points {
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return template.HTML(`<p>No data in this range.</p>`), nil
	}
	if hi == lo {
		hi, lo = hi+1, lo-math.Min(1, math.Abs(lo))
	}
	span := end.Sub(start).Seconds()
	x := func(t time.Time) float64 { return pad + (t.Sub(start).Seconds()/span)*(wd-2*pad) }
	y := func(v float64) float64 { return ht - pad - (v-lo)/(hi-lo)*(ht-2*pad) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-label="graph of the expression" viewBox="0 0 %g %g" width="100%%" style="max-width:%gpx">`, wd, ht, wd)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#999"/>`, pad, ht-pad, wd-pad, ht-pad)
	fmt.Fprintf(&b, `<text x="2" y="%g" font-size="11">%s</text><text x="2" y="%g" font-size="11">%s</text>`,
		pad, template.HTMLEscapeString(fmtVal(hi)), ht-pad, template.HTMLEscapeString(fmtVal(lo)))
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11">%s</text><text x="%g" y="%g" font-size="11" text-anchor="end">%s</text>`,
		pad, ht-pad+16, start.UTC().Format("15:04"), wd-pad, ht-pad+16, end.UTC().Format("15:04 UTC"))
	legend := make([]seriesLegend, 0, len(m.Series))
	for i, s := range m.Series {
		c := palette[i%len(palette)]
		var pts []string
		for _, p := range s.Points {
			if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, c, strings.Join(pts, " "))
		last := ""
		if n := len(s.Points); n > 0 {
			last = fmtVal(s.Points[n-1].V)
		}
		legend = append(legend, seriesLegend{Color: c, Labels: labelString(s.Labels), Last: last})
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), legend // #nosec: every dynamic text above is escaped
}

func fmtVal(v float64) string { return fmt.Sprintf("%.4g", v) }

func labelString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

var graphTmpl = template.Must(template.New("graph").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vane · {{.Expr}}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:60rem}code,pre{background:#f4f4f4;padding:.2rem .4rem}
pre{white-space:pre-wrap}.err{color:#b00020}td{padding:.2rem .6rem}</style></head>
<body><h1>Expression</h1>
<form method="get"><label for="e">PromQL</label><br><textarea id="e" name="g0.expr" rows="3" cols="90">{{.Expr}}</textarea><br>
<button type="submit">Graph</button> <a href="{{.QueryURL}}">raw API answer</a> · <a href="../">Vane</a></form>
{{if .Err}}<p class="err" role="alert">{{.Err}}</p>{{end}}
{{if .Expr}}<h2>Last {{.Range}}</h2>{{.SVG}}
{{if .Series}}<table><thead><tr><th></th><th>Series</th><th>Last value</th></tr></thead><tbody>
{{range .Series}}<tr><td><span style="color:{{.Color}}">&#9632;</span></td><td><code>{{.Labels}}</code></td><td>{{.Last}}</td></tr>{{end}}
</tbody></table>{{end}}{{end}}
</body></html>
`))
