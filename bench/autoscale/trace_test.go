package autoscale

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseTraceCSV(t *testing.T) {
	tr, err := ParseTraceCSV("load/day.csv", strings.NewReader("t_seconds,rps\n# a comment\n\n0,100\n60, 150\n120,150.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name != "day" || len(tr.Points) != 3 || tr.Duration() != 2*time.Minute {
		t.Fatalf("%+v", tr)
	}
	if r := tr.Rate(30 * time.Second); r != 125 {
		t.Fatalf("rate at 30s %v, want 125 (linear)", r)
	}
	if r := tr.Rate(time.Hour); r != 150.5 {
		t.Fatalf("rate after the end %v, want the last row's", r)
	}
}

func TestParseTraceCSVErrorsNameTheLine(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"three fields":        {"0,1\n60,2,3\n", "f.csv:2: "},
		"not a number":        {"t,rps\n0,1\n60,lots\n", `f.csv:3: autoscale: bad trace: rps "lots"`},
		"negative load":       {"0,-1\n60,1\n", "f.csv:1: autoscale: bad trace: rps -1 out of range"},
		"time going back":     {"0,1\n90,1\n60,1\n", "f.csv:3: autoscale: bad trace: t_seconds 60 is before the previous row's 90"},
		"NaN":                 {"0,NaN\n", "f.csv:1: autoscale: bad trace: rps \"NaN\""},
		"too short":           {"0,1\n30,1\n", "f.csv:2: autoscale: bad trace: the trace lasts 30s"},
		"no rows":             {"t_seconds,rps\n", "f.csv: autoscale: bad trace: no data rows"},
		"infinite time":       {"+Inf,1\n", `f.csv:1: autoscale: bad trace: t_seconds "+Inf"`},
		"a second header row": {"t,rps\nt,rps\n", `f.csv:2: autoscale: bad trace: t_seconds "t"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTraceCSV("f.csv", strings.NewReader(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestBuiltinTraces(t *testing.T) {
	want := map[string]struct {
		peak float64
		d    time.Duration
	}{
		"step-x2": {200, time.Hour}, "step-x5": {500, time.Hour}, "ramp": {500, 70 * time.Minute},
		"diurnal": {400, 2 * time.Hour}, "spike": {1000, 40 * time.Minute}, "sawtooth": {300, time.Hour},
	}
	trs := BuiltinTraces(100)
	if len(trs) != len(want) {
		t.Fatalf("%d traces", len(trs))
	}
	for _, tr := range trs {
		w := want[tr.Name]
		if err := tr.Validate(); err != nil {
			t.Fatal(err)
		}
		if p := tr.Peak(0, tr.Duration()); math.Abs(p-w.peak) > 1e-9 || tr.Duration() != w.d {
			t.Errorf("%s: peak %v over %v, want %v over %v", tr.Name, p, tr.Duration(), w.peak, w.d)
		}
	}
	// The sawtooth's teeth last 300 s: low at each tooth's start.
	saw := trs[5]
	if saw.Rate(300*time.Second) != 100 || saw.Rate(298*time.Second) < 290 {
		t.Fatalf("sawtooth: %v at 300s, %v at 298s", saw.Rate(300*time.Second), saw.Rate(298*time.Second))
	}
}

func FuzzParseTraceCSV(f *testing.F) {
	f.Add("t_seconds,rps\n0,100\n60,200\n")
	f.Add("0,1\n60,2,3\n")
	f.Add("# c\n\n0,1e3\n3600,0\n")
	f.Add("\ufeff0,1\n120,x\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ParseTraceCSV("fuzz.csv", strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error without the file name: %v", err)
			}
			if !errors.Is(err, ErrTraceSyntax) && !strings.Contains(err.Error(), "token too long") {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("parsed a trace that does not validate: %v", err)
		}
		for _, at := range []time.Duration{0, tr.Duration() / 2, tr.Duration()} {
			if r := tr.Rate(at); math.IsNaN(r) || r < 0 {
				t.Fatalf("rate %v at %v", r, at)
			}
		}
	})
}
