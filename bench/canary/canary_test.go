package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"testing"
	"time"

	"github.com/vaneproj/vane/sim"
)

func TestBenchCanaryRowsAndJSON(t *testing.T) {
	rows, err := Run(context.Background(), 3, 2, 5*time.Minute, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cells := benchCells()
	if len(cells) != 3*3*(2*6+2) {
		t.Fatalf("%d cells", len(cells))
	}
	// Error cells run every judge but vane-buckets; latency cells all nine.
	if want := 3*3*2*6*8 + 3*3*2*9; len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(rows[:1]); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &objs); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"judge", "rps", "weight", "base_error", "factor", "false_rollback_rate", "detection_rate", "median_detect_s", "p90_detect_s", "excess_bad_requests"} {
		if _, ok := objs[0][k]; !ok {
			t.Errorf("JSON object lacks %q: %v", k, objs[0])
		}
	}
	for _, r := range rows {
		if (r.Factor == 1) != (r.FalseRollbackRate != nil) || (r.Factor == 1) == (r.DetectionRate != nil) {
			t.Fatalf("row %+v: healthy cells report false rollbacks, others detection", r)
		}
	}
}

func TestOracleSample(t *testing.T) {
	// The normal approximation for 1% vs 2% at alpha 1%, power 90% gives
	// about 1690; the exact binomial needs somewhat more.
	n := oracleSample(0.01, 0.02, 0.01, 0.9)
	if n < 1600 || n > 2100 {
		t.Fatalf("n = %v", n)
	}
	// R: qbinom(0.99, 100, 0.5) = 62, so P(X > 62) ≤ 0.01 < P(X > 61).
	if k := binomialCritical(100, 0.5, 0.01); k != 62 {
		t.Fatalf("critical value %v, want 62", k)
	}
}

func TestHistogramQuantile(t *testing.T) {
	bounds := []float64{0.1, 0.2, 0.5}
	a := sim.Counters{Buckets: []float64{0, 0, 0}}
	b := sim.Counters{Requests: 100, Buckets: []float64{50, 90, 100}}
	// Rank 99 falls in (0.2, 0.5]: 0.2 + 0.3 × (99−90)/(100−90) = 0.47.
	if q := histogramQuantile(0.99, bounds, a, b); math.Abs(q-0.47) > 1e-9 {
		t.Fatalf("q99 = %v", q)
	}
	if q := histogramQuantile(0.5, bounds, a, b); math.Abs(q-0.1) > 1e-9 {
		t.Fatalf("q50 = %v", q)
	}
}
