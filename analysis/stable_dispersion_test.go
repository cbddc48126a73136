package analysis

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestStableDispersionDegenerate feeds the stable version's dispersion the
// counts it cannot estimate from, or that strain its arithmetic: it is NaN
// (JSON null in a Result's evidence, read back as NaN) and the burst cap
// stays on while the stable version has had no bad event, or only bad
// events, or counts so large that the estimate overflows; looks without
// stable traffic are not stable looks; and a stable version exactly at
// its pooled rate every look has a dispersion of 0, not below.
func TestStableDispersionDegenerate(t *testing.T) {
	cfg := SequentialConfig{Alpha: 0.01, Tolerance: 1.2, MinRequests: 20, MinBad: 3}
	for _, c := range []struct {
		name    string
		looks   []Counts
		wantNaN bool // NaN or ±Inf: undefined, JSON null
		wantCap bool
	}{
		{"no look", nil, true, true},
		{"stable without bad events", repeat(30, Counts{CanaryRequests: 100, CanaryBad: 2, StableRequests: 900}), true, true},
		{"stable with only bad events", repeat(30, Counts{CanaryRequests: 100, CanaryBad: 2, StableRequests: 900, StableBad: 900}), true, true},
		{"no requests at all", repeat(30, Counts{}), true, true},
		{"one stable look among looks without stable traffic",
			append(repeat(30, Counts{CanaryRequests: 100, CanaryBad: 1}), Counts{CanaryRequests: 100, CanaryBad: 1, StableRequests: 900, StableBad: 9}), true, true},
		// Exactly the pooled rate at every look (φ̂_s = 0), with looks
		// without traffic between them: 20 stable looks, so the cap may
		// turn off.
		{"stable at its pooled rate, with empty looks", interleave(repeat(20, Counts{CanaryRequests: 50, CanaryBad: 1, StableRequests: 950, StableBad: 10}), Counts{}), false, false},
		// y² overflows float64: the estimate is infinite, and the cap
		// stays on.
		{"huge counts", repeat(20, Counts{CanaryRequests: 1e300, CanaryBad: 1e298, StableRequests: 1e300, StableBad: 1e298}), true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt, err := NewRatioTest(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range c.looks {
				if !rt.Observe(l) {
					t.Fatalf("look %d %+v refused", i+1, l)
				}
			}
			d := rt.Decide()
			undefined := math.IsNaN(d.StableDispersion) || math.IsInf(d.StableDispersion, 0)
			if undefined != c.wantNaN || d.StableDispersion < 0 {
				t.Errorf("stable dispersion %v, want undefined %v and never below 0", d.StableDispersion, c.wantNaN)
			}
			if d.BurstCap != c.wantCap {
				t.Errorf("burst cap %v, want %v (stable dispersion %v)", d.BurstCap, c.wantCap, d.StableDispersion)
			}
			ev := d.Evidence(cfg)
			if ev["burst_cap"] != boolFloat(c.wantCap) {
				t.Errorf("evidence burst_cap %v, want %v", ev["burst_cap"], boolFloat(c.wantCap))
			}
			b, err := json.Marshal(Result{Judge: "j", Verdict: d.Verdict, Evidence: ev})
			if err != nil {
				t.Fatalf("evidence %v does not encode: %v", ev, err)
			}
			if got := strings.Contains(string(b), `"stable_dispersion":null`); got != c.wantNaN {
				t.Errorf("JSON %s: stable_dispersion null %v, want %v", b, got, c.wantNaN)
			}
			var back Result
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if s := back.Evidence["stable_dispersion"]; math.IsNaN(s) != c.wantNaN || (!c.wantNaN && s != d.StableDispersion) {
				t.Errorf("stable_dispersion read back as %v, want %v", s, d.StableDispersion)
			}
		})
	}
}

func repeat(n int, c Counts) []Counts {
	out := make([]Counts, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// interleave puts between after each of cs.
func interleave(cs []Counts, between Counts) []Counts {
	var out []Counts
	for _, c := range cs {
		out = append(out, c, between)
	}
	return out
}
