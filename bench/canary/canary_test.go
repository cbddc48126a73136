package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

func find(t *testing.T, rows []Row, judge string, cadence float64, c Cell) Row {
	t.Helper()
	for _, r := range rows {
		if r.Judge == judge && (cadence == 0 || r.CadenceS == cadence) && keyOf(r) == (cellKey{c.Metric, c.Noise, c.RPS, c.Weight, c.BaseError, c.Factor}) {
			return r
		}
	}
	t.Fatalf("no row for %s@%v in %+v", judge, cadence, c)
	return Row{}
}

// Known cells: a 5× regression at 500 rps on a 25% canary with 1% errors
// is caught by Vane within a minute in nearly every run, and by the
// SPRT oracle; the healthy canary of the same scenario is almost never
// rolled back by Vane, while Flagger at its docs' 99% minimum (the healthy
// error ratio sits right at it) rolls most healthy canaries back.
//
// Latency at the same traffic: a canary whose p99 is twice the stable
// version's (about 0.8 s against 0.4 s) is rolled back by Vane's latency
// judge within a minute; Flagger at its docs' 500 ms maximum catches it
// only after its threshold of 10 failed one-minute checks; Argo at the
// docs' 1000 ms bound never does (the doubled p99 stays under it); the
// healthy canary is almost never rolled back by Vane.
func TestKnownCells(t *testing.T) {
	bad := Cell{Metric: MetricErrors, RPS: 500, Weight: 0.25, BaseError: 0.01, Factor: 5, Noise: NoisePoisson}
	good := bad
	good.Factor = 1
	noisy := good
	noisy.Noise = NoiseOverdispersed
	slow := Cell{Metric: MetricLatency, RPS: 500, Weight: 0.25, BaseError: latencyBase, Factor: 2, Noise: NoisePoisson}
	fast := slow
	fast.Factor = 1
	rows, err := run(context.Background(), []Cell{bad, good, noisy, slow, fast}, 20, 2, 30*time.Minute, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	v := find(t, rows, "vane", 15, bad)
	if *v.DetectionRate < 0.95 || v.MedianDetectS == nil || *v.MedianDetectS > 60 {
		t.Errorf("vane on 5x: detection %v, median %v", *v.DetectionRate, fmtSecs(v.MedianDetectS))
	}
	if s := find(t, rows, "oracle-sprt", 0, bad); *s.DetectionRate < 0.9 {
		t.Errorf("oracle-sprt on 5x: detection %v", *s.DetectionRate)
	}
	if v := find(t, rows, "vane", 15, good); *v.FalseRollbackRate > 0.05 {
		t.Errorf("vane healthy: false rollbacks %v", *v.FalseRollbackRate)
	}
	if f := find(t, rows, "flagger-docs", 0, good); *f.FalseRollbackRate < 0.3 {
		t.Errorf("flagger at min 99%% with 1%% healthy errors: false rollbacks %v, want most", *f.FalseRollbackRate)
	}
	// Looking every minute instead of every 15 s cannot be faster.
	if v60 := find(t, rows, "vane", 60, bad); v60.MedianDetectS == nil || *v60.MedianDetectS < *v.MedianDetectS {
		t.Errorf("vane@60s median %v below vane@15s %v", fmtSecs(v60.MedianDetectS), fmtSecs(v.MedianDetectS))
	}
	v = find(t, rows, "vane", 15, slow)
	if *v.DetectionRate < 0.95 || v.MedianDetectS == nil || *v.MedianDetectS > 60 {
		t.Errorf("vane on a doubled p99: detection %v, median %v", *v.DetectionRate, fmtSecs(v.MedianDetectS))
	}
	if v := find(t, rows, "vane", 15, fast); *v.FalseRollbackRate > 0.05 {
		t.Errorf("vane's latency judge healthy: false rollbacks %v", *v.FalseRollbackRate)
	}
	if f := find(t, rows, "flagger-docs", 0, slow); *f.DetectionRate < 0.9 || f.MedianDetectS == nil || *f.MedianDetectS < 660 {
		t.Errorf("flagger at max 500 ms on a doubled p99: detection %v, median %v, want most after 11 ticks", *f.DetectionRate, fmtSecs(f.MedianDetectS))
	}
	if a := find(t, rows, "argo-docs", 0, slow); *a.DetectionRate > 0.05 {
		t.Errorf("argo at max 1000 ms on a 0.8 s p99: detection %v, want none", *a.DetectionRate)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(rows[:1]); err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &objs); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"judge", "metric", "threshold", "noise", "cadence_s", "rps", "weight", "base_error", "factor", "false_rollback_rate",
		"detection_rate", "median_detect_s", "p90_detect_s", "excess_bad_requests", "runs"} {
		if _, ok := objs[0][k]; !ok {
			t.Errorf("JSON object lacks %q: %v", k, objs[0])
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

// The matched threshold is the most detecting one with at most 1% false
// rollbacks in the healthy cell; the docs' rows are copies at the docs'
// threshold.
func TestDerived(t *testing.T) {
	p := func(x float64) *float64 { return &x }
	row := func(th, factor, rate float64) Row {
		r := Row{Judge: "flagger", Threshold: p(th), Noise: NoisePoisson, RPS: 5, Weight: 0.05, BaseError: 0.01, Factor: factor}
		if factor == 1 {
			r.FalseRollbackRate = p(rate)
		} else {
			r.DetectionRate = p(rate)
		}
		return r
	}
	rows := []Row{
		row(99.9, 1, 0.5), row(99.9, 2, 0.99),
		row(99, 1, 0.2), row(99, 2, 0.9),
		row(97, 1, 0.01), row(97, 2, 0.6),
		row(95, 1, 0.0), row(95, 2, 0.3),
	}
	var matched, docs []Row
	for _, r := range derived(rows) {
		switch r.Judge {
		case "flagger-matched":
			matched = append(matched, r)
		case "flagger-docs":
			docs = append(docs, r)
		}
	}
	if len(matched) != 2 || *matched[0].Threshold != 97 {
		t.Fatalf("matched %+v, want threshold 97", matched)
	}
	if len(docs) != 2 || *docs[0].Threshold != 99 {
		t.Fatalf("docs %+v", docs)
	}
}
