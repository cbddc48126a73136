package autoscale

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
)

// TestRateMatchesPrometheus checks the simulation's rate() against
// Prometheus' own engine on the same samples: a steady counter, a series
// that starts and one that ends inside the range, and a counter reset.
func TestRateMatchesPrometheus(t *testing.T) {
	series := map[string][]float64{ // one value per 15 s scrape; NaN: no sample
		"steady":  {0, 15, 31, 44, 60, 77, 90, 104, 121, 135, 150, 166},
		"starts":  {nan, nan, nan, nan, nan, 3, 20, 41, 55, 71, 90, 100},
		"ends":    {100, 120, 139, 160, 181, 200, 222, nan, nan, nan, nan, nan},
		"resets":  {50, 65, 81, 5, 20, 36, 50, 66, 3, 18, 35, 49},
		"from0":   {nan, nan, nan, nan, nan, nan, nan, nan, 0, 14, 29, 45},
		"bigfrom": {nan, nan, nan, nan, nan, nan, nan, nan, 900, 914, 929, 945},
	}
	var load strings.Builder
	load.WriteString("load 15s\n")
	for name, vs := range series {
		fmt.Fprintf(&load, "  x{s=%q}", name)
		for _, v := range vs {
			if math.IsNaN(v) {
				load.WriteString(" _")
			} else {
				fmt.Fprintf(&load, " %v", v)
			}
		}
		load.WriteString("\n")
	}
	stor := promqltest.LoadedStorage(t, load.String())
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 100000)
	for _, window := range []time.Duration{time.Minute, 45 * time.Second, 2 * time.Minute} {
		for step := 2; step < 12; step++ {
			at := float64(step * 15)
			q, err := engine.NewInstantQuery(context.Background(), stor, nil,
				fmt.Sprintf("rate(x[%ds])", int(window.Seconds())), time.Unix(int64(at), 0))
			if err != nil {
				t.Fatal(err)
			}
			res := q.Exec(context.Background())
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			vec, _ := res.Vector()
			want := map[string]float64{}
			for _, s := range vec {
				want[s.Metric.Get("s")] = s.F
			}
			q.Close()
			for name, vs := range series {
				var ts, vals []float64
				for i, v := range vs {
					if !math.IsNaN(v) {
						ts = append(ts, float64(i*15))
						vals = append(vals, v)
					}
				}
				got, ok := rate(ts, vals, at, window.Seconds())
				w, wok := want[name]
				if ok != wok || (ok && math.Abs(got-w) > 1e-9*math.Max(1, math.Abs(w))) {
					t.Errorf("rate(%s[%v]) at %vs = %v (%v), Prometheus %v (%v)", name, window, at, got, ok, w, wok)
				}
			}
		}
	}
}

var nan = math.NaN()
