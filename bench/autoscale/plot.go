package autoscale

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0x94, 0x67, 0xbd, 0xff},
	{0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff},
}

// WritePlot draws one trace's runs as a PNG on w: above, the replicas
// each policy asked for against time (and the offered load, scaled to the
// replicas a 70% target needs); below, each minute's exact p99 latency
// (log scale) with the SLO's threshold.
func WritePlot(w io.Writer, svc Service, trace string, results []Result) error {
	var runs []Result
	for _, r := range results {
		if r.Trace == trace {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return fmt.Errorf("plot: no results for trace %q", trace)
	}
	top := plot.New()
	top.Title.Text = fmt.Sprintf("%s: replicas", trace)
	top.X.Label.Text = "minutes"
	top.Y.Label.Text = "replicas"
	top.Legend.Top = true
	top.Legend.Left = true
	bottom := plot.New()
	bottom.Title.Text = fmt.Sprintf("%s: p99 latency per minute (SLO: %.0f%% ≤ %v)", trace, 100*svc.Objective, svc.Threshold)
	bottom.X.Label.Text = "minutes"
	bottom.Y.Label.Text = "seconds"
	bottom.Y.Scale = plot.LogScale{}
	bottom.Y.Tick.Marker = plot.LogTicks{Prec: -1}

	load := make(plotter.XYs, 0, len(runs[0].Series))
	for _, s := range runs[0].Series {
		load = append(load, plotter.XY{X: s.T.Minutes(), Y: s.Offered / (TargetUtilization * svc.Capacity())})
	}
	ll, err := plotter.NewLine(load)
	if err != nil {
		return err
	}
	ll.Color = color.Gray{Y: 0xb0}
	ll.Width = vg.Points(3)
	top.Add(ll)
	top.Legend.Add("load (at 70%)", ll)
	for i, r := range runs {
		c := palette[i%len(palette)]
		xy := make(plotter.XYs, 0, len(r.Series))
		for _, s := range r.Series {
			xy = append(xy, plotter.XY{X: s.T.Minutes(), Y: float64(s.Replicas)})
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = c
		l.Width = vg.Points(1.2)
		top.Add(l)
		top.Legend.Add(r.Policy, l)
		var lat plotter.XYs
		for m, v := range r.P99 {
			if !math.IsNaN(v) && v > 0 {
				lat = append(lat, plotter.XY{X: float64(m) + 0.5, Y: v})
			}
		}
		if len(lat) > 0 {
			l2, err := plotter.NewLine(lat)
			if err != nil {
				return err
			}
			l2.Color = c
			l2.Width = vg.Points(1.2)
			bottom.Add(l2)
		}
	}
	end := runs[0].Series[len(runs[0].Series)-1].T.Minutes()
	thr, err := plotter.NewLine(plotter.XYs{{X: 0, Y: svc.Threshold.Seconds()}, {X: end, Y: svc.Threshold.Seconds()}})
	if err != nil {
		return err
	}
	thr.Color = color.Black
	thr.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	bottom.Add(thr)
	bottom.Legend.Add("threshold", thr)
	bottom.Legend.Top = true
	bottom.Y.Min = 0.01

	const width, height = 8 * vg.Inch, 7 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(80))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(10)}
	plots := [][]*plot.Plot{{top}, {bottom}}
	canvases := plot.Align(plots, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}
