package canary

import "math"

// MaxMatchedFRR is the false-rollback rate a peer's matched threshold may
// not exceed in the healthy cell of its scenario.
const MaxMatchedFRR = 0.01

type scenario struct {
	judge, metric     string
	noise             string
	rps, weight, base float64
}

// derived returns, for each peer (flagger, argo, kayenta), copies of its
// rows at its docs' threshold named `<peer>-docs`, and at its matched
// threshold named `<peer>-matched`: per scenario (metric, noise, traffic,
// weight, error ratio), the swept threshold whose false-rollback rate in the
// healthy cell is at most MaxMatchedFRR and whose mean detection rate over
// the scenario's regression cells is highest (the earlier in the sweep on a
// tie). A scenario where no threshold qualifies has no matched rows.
func derived(rows []Row) []Row {
	type group struct {
		healthy map[float64]float64   // threshold → FRR
		detect  map[float64][]float64 // threshold → detection rates
		rows    map[float64][]Row
		order   []float64
	}
	groups := map[scenario]*group{}
	var keys []scenario
	for _, r := range rows {
		if r.Threshold == nil {
			continue
		}
		k := scenario{r.Judge, metricOf(r), r.Noise, r.RPS, r.Weight, r.BaseError}
		g := groups[k]
		if g == nil {
			g = &group{healthy: map[float64]float64{}, detect: map[float64][]float64{}, rows: map[float64][]Row{}}
			groups[k] = g
			keys = append(keys, k)
		}
		th := *r.Threshold
		if _, ok := g.rows[th]; !ok {
			g.order = append(g.order, th)
		}
		g.rows[th] = append(g.rows[th], r)
		if r.FalseRollbackRate != nil {
			g.healthy[th] = *r.FalseRollbackRate
		} else {
			g.detect[th] = append(g.detect[th], *r.DetectionRate)
		}
	}
	var out []Row
	for _, k := range keys {
		g := groups[k]
		for _, r := range g.rows[docsThreshold[k.metric][k.judge]] {
			r.Judge = k.judge + "-docs"
			out = append(out, r)
		}
		best, bestDet := math.NaN(), -1.0
		for _, th := range g.order {
			frr, ok := g.healthy[th]
			if !ok || frr > MaxMatchedFRR {
				continue
			}
			var sum float64
			for _, d := range g.detect[th] {
				sum += d
			}
			if m := sum / math.Max(1, float64(len(g.detect[th]))); m > bestDet {
				best, bestDet = th, m
			}
		}
		if math.IsNaN(best) {
			continue
		}
		for _, r := range g.rows[best] {
			r.Judge = k.judge + "-matched"
			out = append(out, r)
		}
	}
	return out
}
