package sim

import (
	"math"
	"testing"
	"time"
)

// Under the production-like noise a version keeps its long-run error ratio,
// but the errors per interval spread far more than binomially, some
// scrapes repeat the previous sample, and the same seed gives the same run.
func TestOverdispersedNoise(t *testing.T) {
	c := Config{RPS: 2000, CanaryWeight: 0.5, Seed: 3, Noise: Overdispersed,
		Stable: Version{ErrorRatio: 0.01, Latency: DefaultLatency}, Canary: Version{ErrorRatio: 0.01, Latency: DefaultLatency}}
	a := run(t, c, 24*time.Hour)
	b := run(t, c, 24*time.Hour)
	if a[len(a)-1].Canary.Errors != b[len(b)-1].Canary.Errors {
		t.Fatal("same seed, different runs")
	}
	last := a[len(a)-1].Stable
	if r := last.Errors / last.Requests; math.Abs(r-0.01) > 0.001 {
		t.Fatalf("long-run error ratio %v, want about 0.01", r)
	}
	var sum, sum2, n, repeats float64
	for i := 1; i < len(a); i++ {
		dr := a[i].Stable.Requests - a[i-1].Stable.Requests
		de := a[i].Stable.Errors - a[i-1].Stable.Errors
		if dr == 0 {
			repeats++
			continue
		}
		// Standardize by the binomial sd of the interval.
		z := (de - 0.01*dr) / math.Sqrt(dr*0.01*0.99)
		sum += z
		sum2 += z * z
		n++
	}
	if v := sum2/n - (sum/n)*(sum/n); v < 1.5 {
		t.Errorf("variance of standardized interval errors %v: want well above the binomial 1", v)
	}
	if frac := repeats / float64(len(a)); frac < 0.003 || frac > 0.03 {
		t.Errorf("%.3f of scrapes repeated, want about 1%%", frac)
	}
	// Without noise the standardized variance is about 1.
	c.Noise = Noise{}
	p := run(t, c, 6*time.Hour)
	sum, sum2, n = 0, 0, 0
	for i := 1; i < len(p); i++ {
		dr := p[i].Stable.Requests - p[i-1].Stable.Requests
		z := (p[i].Stable.Errors - p[i-1].Stable.Errors - 0.01*dr) / math.Sqrt(dr*0.01*0.99)
		sum += z
		sum2 += z * z
		n++
	}
	if v := sum2/n - (sum/n)*(sum/n); v < 0.8 || v > 1.2 {
		t.Errorf("Poisson: standardized variance %v, want about 1", v)
	}
	if _, err := New(Config{RPS: 1, Noise: Noise{MissProb: 2}, Stable: c.Stable, Canary: c.Canary}); err == nil {
		t.Error("want an error for miss_prob 2")
	}
}

// Under noise the latency histogram stays a histogram: its buckets are
// cumulative and never above its _count (Observed), which counts every
// served request (restarts lose only the error counters' increments), and
// its share under a bound is the version's latency distribution.
func TestOverdispersedHistogram(t *testing.T) {
	slow := Latency{Median: 0.1, Sigma: 0.9}
	c := Config{RPS: 200, CanaryWeight: 0.5, Seed: 5, Noise: Overdispersed,
		Stable: Version{ErrorRatio: 0.01, Latency: DefaultLatency}, Canary: Version{ErrorRatio: 0.01, Latency: slow}}
	s := run(t, c, 6*time.Hour)
	for i, sc := range s {
		for _, k := range []Counters{sc.Canary, sc.Stable} {
			if k.Observed < k.Requests || k.Buckets[len(k.Buckets)-1] > k.Observed {
				t.Fatalf("scrape %d: _count %v, requests %v, last bucket %v", i, k.Observed, k.Requests, k.Buckets[len(k.Buckets)-1])
			}
		}
	}
	last := s[len(s)-1]
	if got, want := last.Canary.Slower(5)/last.Canary.Observed, 1-slow.CDF(DefaultBuckets[5]); math.Abs(got-want) > 0.005 {
		t.Errorf("canary share slower than %vs: %v, want %v", DefaultBuckets[5], got, want)
	}
	if got, want := last.Stable.Slower(5)/last.Stable.Observed, 1-DefaultLatency.CDF(DefaultBuckets[5]); math.Abs(got-want) > 0.002 {
		t.Errorf("stable share slower than %vs: %v, want %v", DefaultBuckets[5], got, want)
	}
}
