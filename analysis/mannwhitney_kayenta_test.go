package analysis

import (
	"math"
	"testing"
)

// Test vectors from Kayenta's own suites (spinnaker/kayenta):
// kayenta-mannwhitney/src/test/scala/.../MannWhitneySuite.scala ("returns
// expected values") and kayenta-judge/src/test/scala/.../ClassifierSuite.scala
// (Mann-Whitney classifier with fraction 0.10, confLevel 0.95).

func TestMannWhitneyKayentaInterval(t *testing.T) {
	control := []float64{1, 2, 3, 4}
	experiment := []float64{10, 20, 30, 40}
	r := MannWhitney(experiment, control, MannWhitneyConfig{Confidence: 0.95, Tolerance: 0.25, Direction: Either, AllowedIncrease: 1, AllowedDecrease: 1})
	for name, c := range map[string][2]float64{"lower": {r.Lower, 6}, "upper": {r.Upper, 39}, "estimate": {r.Estimate, 22.5}} {
		if math.Abs(c[0]-c[1]) > 1e-6 {
			t.Errorf("%s = %v, Kayenta's suite expects %v", name, c[0], c[1])
		}
	}
}

// With ties the rank-sum variance is tie-corrected and the score has R's
// continuity correction: at the shift 6 above, the canary's 4 ties the
// control's 4, the score is (7.5 − 0.5)/σ with σ² = 16/12 × (9 − 6/56).
func TestMannWhitneyTies(t *testing.T) {
	w := newWilcoxon([]float64{10, 20, 30, 40}, []float64{1, 2, 3, 4})
	want := 7 / math.Sqrt(16.0/12*(9-6.0/56))
	if got := w.f(6, 0); math.Abs(got-want) > 1e-12 {
		t.Fatalf("score at 6 = %v, want %v", got, want)
	}
	// Error ratios of quiet minutes are mostly 0: heavy ties still give a
	// usable interval and a Pass for equal samples.
	r := MannWhitney([]float64{0, 0, 0, 0.01, 0, 0, 0.02, 0}, []float64{0, 0.01, 0, 0, 0, 0, 0, 0.01}, KayentaDefaults)
	if r.Class != ClassPass || !(r.Lower <= r.Estimate && r.Estimate <= r.Upper) {
		t.Fatalf("tied samples: %+v", r)
	}
}

var (
	kayentaPassExperiment = []float64{
		9.7767343120109462, 10.587071850477695, 7.8375506388901766, 9.3243326886113884,
		8.3774505409784421, 8.9359264399606282, 8.2707663324728511, 9.7484308126716925,
		11.623746715547156, 9.2753442679633942, 8.1538047749171518, 10.562020975754294,
		13.498135575451835, 11.054419256110332, 6.9538903590055092, 12.521008342195479,
		9.0216358603546443, 4.9234856699531662, 11.251360203607172, 11.598449508040337,
		8.435232204668182, 11.110228516867279, 10.70063380164755, 8.9212773652115249,
		10.086167067942661, 11.42107515483087, 9.3792347813644952, 7.7980320148552593,
		10.62339807275746, 11.909642062063739}
	kayentaPassControl = []float64{
		11.1453586774086, 9.9618059885597017, 7.068574306369829, 7.3012661810483657,
		9.7944630265656727, 9.6037918603687302, 6.1867793350339388, 12.345599159550174,
		10.371891733859533, 8.6094300785016724, 9.913162673361084, 10.361375299003466,
		14.206800387518818, 10.946153754753301, 10.215876627044048, 11.739760899484603,
		10.907627468626439, 12.823353694464775, 8.1018609771732137, 8.4981616408804932,
		12.113441374697231, 13.272210809932028, 10.114579381663297, 6.9463958767978067,
		6.2105278541727778, 10.160401684903775, 8.3457712066455461, 8.383822063895833,
		7.0020205070083765, 10.755757401808442}
	kayentaHighExperiment = []float64{
		20.878412601720026, 21.78550581191622, 19.70828084717019, 15.859946903461562,
		19.510058772176841, 19.392005525270303, 22.926528314912101, 17.156530276709894,
		18.655117916226171, 23.422607911610392, 24.055817684156644, 22.62689958516501,
		21.979472967817678, 21.659318607218694, 20.067707574072426, 22.119570836305414,
		16.44037132663307, 21.559622826341268, 21.000181443489218, 17.779369411412663,
		17.806006358943584, 18.537200618386109, 20.555550300210797, 19.552928184468378,
		21.771118944087092, 21.809622806176627, 20.961762909905271, 20.977571577503021,
		19.106303205498794, 16.976918966987078}
	kayentaLowControl = []float64{
		20.758113589510348, 22.802059629464559, 20.612340363492208, 20.973274654749986,
		23.469237330498622, 21.53133988954805, 21.767353687439805, 18.308050730374301,
		19.062145167827566, 25.879498436001779, 18.982629726336128, 19.387920182269266,
		18.995398251246982, 24.228420230932805, 20.050985172694688, 18.2340451091756,
		17.870515494460435, 23.058103863806618, 18.400259567501134, 16.971352091177167,
		19.467529066052151, 17.90465423342031, 17.553948617825831, 16.104611843907193,
		24.38171081433039, 15.919294339922635, 20.479409626304697, 19.08307201492406,
		17.455788050722866, 18.853826823235142}
)

func TestMannWhitneyKayentaClassifierSuite(t *testing.T) {
	cfg := func(d Direction) MannWhitneyConfig {
		return MannWhitneyConfig{Confidence: 0.95, Tolerance: 0.10, Direction: d, AllowedIncrease: 1, AllowedDecrease: 1}
	}
	tests := []struct {
		name                string
		experiment, control []float64
		dir                 Direction
		want                Classification
	}{
		{"Pass Metric", kayentaPassExperiment, kayentaPassControl, Either, ClassPass},
		{"High Metric", kayentaHighExperiment, kayentaPassControl, Either, ClassHigh},
		{"Low Metric", kayentaPassExperiment, kayentaLowControl, Either, ClassLow},
		{"Directional Increase", kayentaPassExperiment, kayentaLowControl, Increase, ClassPass},
		{"Directional Decrease", kayentaHighExperiment, kayentaPassControl, Decrease, ClassPass},
		{"Directional High", kayentaHighExperiment, kayentaPassControl, Increase, ClassHigh},
		{"Directional Low", kayentaPassExperiment, kayentaLowControl, Decrease, ClassLow},
	}
	for _, tc := range tests {
		if r := MannWhitney(tc.experiment, tc.control, cfg(tc.dir)); r.Class != tc.want {
			t.Errorf("%s: %s, Kayenta's suite expects %s (%+v)", tc.name, r.Class, tc.want, r)
		}
	}
}
