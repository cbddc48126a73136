package backtest

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vaneproj/vane/slo"
)

// plotPoints bounds the points drawn per line: each is the maximum of its
// bucket of steps, so short spikes stay visible.
const plotPoints = 1500

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// Plot draws a PNG of one replay: the error ratio (1h window), the burn
// rate of each tier's long window with the tier's threshold, and the spans
// of the alerts.
func Plot(w io.Writer, r *Result, ser *Series) error {
	ws := newWindows(ser)
	eb := slo.ErrorBudget(r.Target)
	if !(eb > 0) {
		return fmt.Errorf("backtest: plot: SLO %s has no error budget", r.SLO)
	}

	ratio := ws.stats(time.Hour)
	p1 := plot.New()
	p1.Title.Text = fmt.Sprintf("%s — policy %s", r.SLO, r.Policy.Name)
	p1.Y.Label.Text = "error ratio (1h)"
	if err := addLine(p1, ser, ratio.ratio, 1, palette[0], "error ratio"); err != nil {
		return err
	}

	p2 := plot.New()
	p2.Y.Label.Text = "burn rate"
	seen := map[time.Duration]bool{}
	var longs []time.Duration
	for _, t := range r.Policy.Tiers {
		if !seen[t.Long] {
			seen[t.Long] = true
			longs = append(longs, t.Long)
		}
	}
	sort.Slice(longs, func(i, j int) bool { return longs[i] < longs[j] })
	maxTh := 0.0
	for i, l := range longs {
		if err := addLine(p2, ser, ws.stats(l).ratio, 1/eb, palette[i%len(palette)], slo.FormatDuration(l)); err != nil {
			return err
		}
	}
	for i, t := range r.Policy.Tiers {
		maxTh = math.Max(maxTh, t.BurnRate)
		ln, err := plotter.NewLine(plotter.XYs{{X: unix(ser.Start), Y: t.BurnRate}, {X: unix(ser.At(ser.Len())), Y: t.BurnRate}})
		if err != nil {
			return err
		}
		ln.Color = palette[i%len(palette)]
		ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p2.Add(ln)
	}
	p2.Y.Max = maxTh * 3
	p2.Y.Min = 0

	p3 := plot.New()
	p3.Y.Label.Text = "alerts"
	p3.Y.Min, p3.Y.Max = 0, 3
	p3.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 1, Label: "ticket"}, {Value: 2, Label: "page"}})
	for _, a := range r.Alerts {
		y := 1.0
		c := palette[1]
		if a.Severity == slo.SeverityPage {
			y, c = 2, palette[3]
		}
		ln, err := plotter.NewLine(plotter.XYs{{X: unix(a.Start), Y: y}, {X: unix(a.End), Y: y}})
		if err != nil {
			return err
		}
		ln.Color, ln.Width = c, vg.Points(8)
		p3.Add(ln)
	}
	// An invisible point keeps the time axis of an alert-free panel.
	span, _ := plotter.NewLine(plotter.XYs{{X: unix(ser.Start), Y: 0}, {X: unix(ser.At(ser.Len())), Y: 0}})
	span.Color = color.Transparent
	p3.Add(span)

	for _, p := range []*plot.Plot{p1, p2, p3} {
		p.X.Tick.Marker = plot.TimeTicks{Format: "01-02", Time: plot.UnixTimeIn(time.UTC)}
		p.X.Min, p.X.Max = unix(ser.Start), unix(ser.At(ser.Len()))
		p.Legend.Top = true
	}
	img := vgimg.New(vg.Points(720), vg.Points(540))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadX: vg.Points(4), PadY: vg.Points(4), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	plots := [][]*plot.Plot{{p1}, {p2}, {p3}}
	cs := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(cs[i][0])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("backtest: plot: %w", err)
	}
	return nil
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

// addLine adds vals×scale, reduced to plotPoints bucket maxima.
func addLine(p *plot.Plot, ser *Series, vals []float64, scale float64, c color.Color, name string) error {
	n := len(vals)
	per := max(1, (n+plotPoints-1)/plotPoints)
	xys := make(plotter.XYs, 0, n/per+1)
	for i := 0; i < n; i += per {
		m := math.NaN()
		for j := i; j < min(n, i+per); j++ {
			if !math.IsNaN(vals[j]) && (math.IsNaN(m) || vals[j] > m) {
				m = vals[j]
			}
		}
		if math.IsNaN(m) {
			continue
		}
		xys = append(xys, plotter.XY{X: unix(ser.At(i)), Y: m * scale})
	}
	if len(xys) == 0 {
		return nil
	}
	ln, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("backtest: plot: %w", err)
	}
	ln.Color = c
	p.Add(ln)
	p.Legend.Add(name, ln)
	return nil
}
