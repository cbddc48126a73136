package sim

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func cfg(seed uint64) Config {
	return Config{RPS: 200, CanaryWeight: 0.1, Seed: seed,
		Stable: Version{ErrorRatio: 0.01, Latency: DefaultLatency},
		Canary: Version{ErrorRatio: 0.05, Latency: Latency{Median: 0.2, Sigma: 0.6}}}
}

func run(t *testing.T, c Config, d time.Duration) []Scrape {
	t.Helper()
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	var out []Scrape
	for w.Now() < d {
		out = append(out, w.Step())
	}
	return out
}

func TestSameSeedSameScrapes(t *testing.T) {
	a, b := run(t, cfg(7), 10*time.Minute), run(t, cfg(7), 10*time.Minute)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different scrapes")
	}
	if c := run(t, cfg(8), 10*time.Minute); reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same scrapes")
	}
	if len(a) != 40 || a[0].T != 15*time.Second || a[39].T != 10*time.Minute {
		t.Fatalf("scrapes every 15s: got %d, first %s, last %s", len(a), a[0].T, a[len(a)-1].T)
	}
}

func TestCountersMatchTheModel(t *testing.T) {
	s := run(t, cfg(1), 6*time.Hour)
	last := s[len(s)-1]
	total := last.Canary.Requests + last.Stable.Requests
	near := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.5f, want %.5f ± %.5f", name, got, want, tol)
		}
	}
	near("rps", total/(6*3600), 200, 1)
	near("canary weight", last.Canary.Requests/total, 0.1, 0.003)
	near("stable error ratio", last.Stable.Errors/last.Stable.Requests, 0.01, 0.0005)
	near("canary error ratio", last.Canary.Errors/last.Canary.Requests, 0.05, 0.002)
	// Bucket le=0.3 of a 100 ms median, sigma 0.6 log-normal: CDF 0.966.
	near("stable share under 300ms", last.Stable.Buckets[4]/last.Stable.Requests, DefaultLatency.CDF(0.3), 0.002)
	near("mean latency", last.Stable.LatencySum/last.Stable.Requests, DefaultLatency.Mean(), 0.002)
	for i := 1; i < len(s); i++ {
		if s[i].Canary.Requests < s[i-1].Canary.Requests || s[i].Stable.Buckets[2] < s[i-1].Stable.Buckets[2] {
			t.Fatal("a counter went down")
		}
		for b := 1; b < len(DefaultBuckets); b++ {
			if s[i].Stable.Buckets[b] < s[i].Stable.Buckets[b-1] || s[i].Stable.Buckets[b] > s[i].Stable.Requests {
				t.Fatal("buckets are not cumulative")
			}
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, c := range map[string]Config{
		"zero rps":       {RPS: 0, Stable: Version{Latency: DefaultLatency}, Canary: Version{Latency: DefaultLatency}},
		"weight above 1": {RPS: 1, CanaryWeight: 2, Stable: Version{Latency: DefaultLatency}, Canary: Version{Latency: DefaultLatency}},
		"error ratio":    {RPS: 1, Stable: Version{ErrorRatio: -1, Latency: DefaultLatency}, Canary: Version{Latency: DefaultLatency}},
		"no latency":     {RPS: 1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
