package analysis

import (
	"math"
	"testing"
	"time"
)

func TestThresholdJudge(t *testing.T) {
	min := 99.0
	cfg := ThresholdConfig{Min: &min, FailureLimit: 0}
	st, v, _ := Threshold(ThresholdState{}, cfg, 99.5)
	if v != Continue || st.Failures != 0 {
		t.Fatalf("%v %v", v, st)
	}
	if _, v, _ = Threshold(st, cfg, math.NaN()); v != Fail {
		t.Fatalf("NaN with failure limit 0: %v", v)
	}
	cfg.FailureLimit = 4 // Flagger threshold 5
	st = ThresholdState{}
	for i := 0; i < 4; i++ {
		if st, v, _ = Threshold(st, cfg, 90); v != Continue {
			t.Fatalf("failure %d: %v", i+1, v)
		}
	}
	if _, v, _ = Threshold(st, cfg, 90); v != Fail {
		t.Fatalf("fifth failure: %v", v)
	}
}

func TestBurnRateGate(t *testing.T) {
	tests := map[string]struct {
		short, long BurnWindow
		want        Verdict
	}{
		"Both windows above 14.4x fail.": {BurnWindow{5 * time.Minute, 2, 100}, BurnWindow{time.Hour, 20, 1000}, Fail},
		"Only the short window passes.":  {BurnWindow{5 * time.Minute, 2, 100}, BurnWindow{time.Hour, 1, 1000}, Pass},
		"No traffic is inconclusive.":    {BurnWindow{5 * time.Minute, 0, 0}, BurnWindow{time.Hour, 1, 1000}, Inconclusive},
		"NaN is inconclusive.":           {BurnWindow{5 * time.Minute, math.NaN(), 1}, BurnWindow{time.Hour, 1, 1000}, Inconclusive},
		"A healthy canary passes.":       {BurnWindow{5 * time.Minute, 0, 100}, BurnWindow{time.Hour, 0, 1000}, Pass},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v, reason, _ := BurnRateGate(0.999, 14.4, tc.short, tc.long)
			if v != tc.want {
				t.Fatalf("%s: %s", v, reason)
			}
		})
	}
}

func TestMannWhitneyKnownValues(t *testing.T) {
	x := []float64{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30}
	y := []float64{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29}
	r := MannWhitney(x, y, MannWhitneyConfig{Confidence: 0.95, Tolerance: 0.25, Direction: Increase, AllowedIncrease: 1, AllowedDecrease: 1})
	// U counts pairs with x > y (W = 58 in R's wilcox.test); the
	// Hodges-Lehmann estimate is the median of the 81 pairwise differences.
	if r.U != 58 {
		t.Errorf("U = %v, want 58", r.U)
	}
	if math.Abs(r.Estimate-0.56) > 1e-9 {
		t.Errorf("estimate %v, want 0.56", r.Estimate)
	}
	if !(r.Lower < r.Estimate && r.Estimate < r.Upper) {
		t.Errorf("interval [%v, %v] does not hold %v", r.Lower, r.Upper, r.Estimate)
	}
	if r.Class != ClassPass {
		t.Errorf("class %s: the 95%% interval includes 0", r.Class)
	}
	high := MannWhitney([]float64{11, 12, 13, 14, 15, 16, 17, 18}, []float64{1, 2, 3, 4, 5, 6, 7, 8}, KayentaDefaults)
	if high.Class != ClassHigh {
		t.Errorf("clear increase: %s %+v", high.Class, high)
	}
	if MannWhitney([]float64{math.NaN()}, []float64{1}, KayentaDefaults).Class != ClassNodata {
		t.Error("all-NaN canary should be Nodata")
	}
	if MannWhitney([]float64{0, 0, 0}, []float64{0, 0, 0}, KayentaDefaults).Class != ClassPass {
		t.Error("identical samples pass")
	}
	// Effect size: a significant but small increase passes when
	// allowed_increase is above the mean ratio.
	cfg := KayentaDefaults
	cfg.AllowedIncrease = 4
	if r := MannWhitney([]float64{11, 12, 13, 14, 15, 16, 17, 18}, []float64{1, 2, 3, 4, 5, 6, 7, 8}, cfg); r.Class != ClassPass {
		t.Errorf("mean ratio %.2f is below allowed increase 4: want Pass, got %s", r.MeanRatio, r.Class)
	}
}

func TestKayentaScore(t *testing.T) {
	s, err := KayentaScore([]ScoredMetric{
		{Group: "errors", Class: ClassPass}, {Group: "errors", Class: ClassHigh},
		{Group: "latency", Class: ClassPass}, {Group: "latency", Class: ClassNodata},
	}, map[string]float64{"errors": 60, "latency": 40})
	if err != nil {
		t.Fatal(err)
	}
	if s != 70 {
		t.Fatalf("score %v, want 60×1/2 + 40×1/1 = 70", s)
	}
	for score, want := range map[float64]Verdict{100: Pass, 95: Pass, 80: Continue, 74.9: Fail, math.NaN(): Inconclusive} {
		if got := KayentaVerdict(score); got != want {
			t.Errorf("KayentaVerdict(%v) = %s, want %s", score, got, want)
		}
	}
	if _, err := KayentaScore([]ScoredMetric{{Group: "x", Class: ClassPass}}, nil); err == nil {
		t.Error("want an error for a group without weight")
	}
}
