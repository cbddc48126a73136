package prom

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/vaneproj/vane/analysis"
)

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func key(ls map[string]string) string { return labels.FromMap(ls).String() }

func assertVectorsEqual(t *testing.T, query string, want, got analysis.Vector) {
	t.Helper()
	if err := diffVectors(want, got); err != nil {
		t.Errorf("%s: %v\nwant %+v\ngot  %+v", query, err, want.Samples, got.Samples)
	}
}

func diffVectors(want, got analysis.Vector) error {
	if len(want.Samples) != len(got.Samples) {
		return fmt.Errorf("%d samples, want %d", len(got.Samples), len(want.Samples))
	}
	w := append([]analysis.Sample(nil), want.Samples...)
	g := append([]analysis.Sample(nil), got.Samples...)
	sort.Slice(w, func(i, j int) bool { return key(w[i].Labels) < key(w[j].Labels) })
	sort.Slice(g, func(i, j int) bool { return key(g[i].Labels) < key(g[j].Labels) })
	for i := range w {
		if key(w[i].Labels) != key(g[i].Labels) || !sameFloat(w[i].Value, g[i].Value) {
			return fmt.Errorf("sample %d: %s=%v, want %s=%v", i, key(g[i].Labels), g[i].Value, key(w[i].Labels), w[i].Value)
		}
	}
	return nil
}

func assertMatricesEqual(t *testing.T, query string, want, got analysis.Matrix) {
	t.Helper()
	if err := diffMatrices(want, got); err != nil {
		t.Errorf("%s: %v", query, err)
	}
}

func diffMatrices(want, got analysis.Matrix) error {
	if len(want.Series) != len(got.Series) {
		return fmt.Errorf("%d series, want %d", len(got.Series), len(want.Series))
	}
	w := append([]analysis.Series(nil), want.Series...)
	g := append([]analysis.Series(nil), got.Series...)
	sort.Slice(w, func(i, j int) bool { return key(w[i].Labels) < key(w[j].Labels) })
	sort.Slice(g, func(i, j int) bool { return key(g[i].Labels) < key(g[j].Labels) })
	for i := range w {
		if key(w[i].Labels) != key(g[i].Labels) {
			return fmt.Errorf("series %d: %s, want %s", i, key(g[i].Labels), key(w[i].Labels))
		}
		if len(w[i].Points) != len(g[i].Points) {
			return fmt.Errorf("series %s: %d points, want %d", key(w[i].Labels), len(g[i].Points), len(w[i].Points))
		}
		for j := range w[i].Points {
			wp, gp := w[i].Points[j], g[i].Points[j]
			if !wp.T.Equal(gp.T) || !sameFloat(wp.V, gp.V) {
				return fmt.Errorf("series %s point %d: %v@%v, want %v@%v", key(w[i].Labels), j, gp.V, gp.T, wp.V, wp.T)
			}
		}
	}
	return nil
}
