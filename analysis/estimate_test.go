package analysis

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestEstimateIsNotTheGridCap checks that 2/23 and 23/23 bad canary calls
// against a clean stable version give different, true descriptions, not the
// same capped "66.2×", and that the interval says "at least".
func TestEstimateIsNotTheGridCap(t *testing.T) {
	var texts []string
	for _, bad := range []float64{2, 23} {
		rt := newTest(t)
		rt.Observe(Counts{CanaryRequests: 23, CanaryBad: bad, StableRequests: 268})
		d := rt.Decide()
		if !math.IsInf(d.Estimate, 1) {
			t.Errorf("%v/23 vs 0/268: estimate %v, want +Inf (a ratio to zero)", bad, d.Estimate)
		}
		lo, hi := rt.Interval(0.01)
		it := IntervalText(lo, hi, 0.01)
		if strings.Contains(d.Reason, "66") || strings.Contains(it, "66") {
			t.Errorf("%v/23: reason %q, interval %q name the grid's cap", bad, d.Reason, it)
		}
		if !strings.Contains(d.Reason, "23") {
			t.Errorf("reason %q does not give the counts", d.Reason)
		}
		texts = append(texts, d.Reason+"; "+it)
	}
	if texts[0] == texts[1] {
		t.Errorf("2/23 and 23/23 bad read the same: %q", texts[0])
	}
	if !strings.Contains(texts[1], "at least") {
		t.Errorf("23/23 vs 0/268: %q; want a lower bound only", texts[1])
	}
	rt := newTest(t)
	rt.Observe(Counts{CanaryRequests: 1000, CanaryBad: 50, StableRequests: 9000, StableBad: 90})
	if d := rt.Decide(); math.Abs(d.Estimate-5) > 1e-9 {
		t.Errorf("50/1000 vs 90/9000: estimate %v, want 5", d.Estimate)
	}
}

// TestUndefinedEvidenceIsNull checks that NaN and infinite evidence are
// JSON null (not the string "NaN") and read back as NaN.
func TestUndefinedEvidenceIsNull(t *testing.T) {
	r := Result{Judge: "j", Verdict: Continue, Evidence: map[string]float64{"ratio_estimate": math.NaN(), "x": math.Inf(1), "n": 3}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"ratio_estimate":null`) || !strings.Contains(string(b), `"x":null`) || strings.Contains(string(b), "NaN") {
		t.Fatalf("JSON %s", b)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.Evidence["ratio_estimate"]) || back.Evidence["n"] != 3 {
		t.Fatalf("read back %v", back.Evidence)
	}
}
