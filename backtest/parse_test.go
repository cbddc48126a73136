package backtest

import (
	"strings"
	"testing"
	"time"
)

func TestParsePolicies(t *testing.T) {
	ok := `policies:
  - name: quieter
    min_events: 100
    tiers:
      - {severity: page, long: 1h, short: 5m, burn_rate: 14.4, for: 2m}
      - {severity: ticket, long: 3d, short: 6h, budget_percent: 10}
`
	ps, err := ParsePolicies("tiers.yaml", []byte(ok), 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || len(ps[0].Tiers) != 2 || ps[0].Tiers[0].For != 2*time.Minute || ps[0].Tiers[1].BurnRate != 1 || ps[0].MinEvents != 100 {
		t.Fatalf("parsed %+v", ps)
	}
	for _, c := range []struct{ in, want string }{
		{"policies: []", "tiers.yaml: no policies"},
		{"policies:\n  - name: x\n    tiers:\n      - {severity: warn, long: 1h, short: 5m, burn_rate: 2}\n", `tiers.yaml:4: policy "x" tiers[0]: severity "warn"`},
		{"policies:\n  - name: x\n    tiers:\n      - {severity: page, long: 1h, short: 5m, burn_rate: 2}\n      - {severity: page, long: 1h, short: 2h, burn_rate: 2}\n", `tiers.yaml:5: policy "x" tiers[1]: short 2h is longer than long 1h`},
		{"policies:\n  - name: x\n    tiers:\n      - {severity: page, long: soon, short: 5m, burn_rate: 2}\n", `long "soon" is not a positive duration`},
		{"policies:\n  - name: x\n    tiers:\n      - {severity: page, long: 1h, short: 5m}\n", "burn_rate must be > 0 or budget_percent in (0, 100]"},
		{"policies:\n  - name: x\n    min_coverage: 2\n    tiers:\n      - {severity: page, long: 1h, short: 5m, burn_rate: 1}\n", "min_coverage in [0, 1]"},
		{"policies: [", "tiers.yaml: yaml"},
	} {
		_, err := ParsePolicies("tiers.yaml", []byte(c.in), 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParsePolicies(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestParseIncidents(t *testing.T) {
	in := "start,end,name\n2026-11-02T00:22:00Z,2026-11-02T00:42:00Z,outage\n"
	got, err := ParseIncidents("incidents.csv", strings.NewReader(in))
	if err != nil || len(got) != 1 || got[0].Name != "outage" || got[0].End.Sub(got[0].Start) != 20*time.Minute {
		t.Fatalf("ParseIncidents = %+v, %v", got, err)
	}
	for _, c := range []struct{ in, want string }{
		{"", "incidents.csv:1: reading header"},
		{"from,to\n", `incidents.csv:1: header "from,to" must name the columns start and end`},
		{"start,end\n2026-11-02T00:22:00Z,yesterday\n", `incidents.csv:2: end "yesterday" is not an RFC 3339 time`},
		{"start,end\n2026-11-02T00:22:00Z,2026-11-02T00:22:00Z\n", "incidents.csv:2: end 2026-11-02T00:22:00Z is not after start"},
		{"start,end\nx\n", "incidents.csv:2: 1 fields, want start and end"},
		{"start,end\n", "incidents.csv: no incidents"},
	} {
		_, err := ParseIncidents("incidents.csv", strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseIncidents(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

// TestReplayGapsAndRaw: a window with missing steps marks its alerts
// partial, min_coverage keeps a barely covered window quiet, and empty
// steps never count as errors.
func TestReplayGapsAndRaw(t *testing.T) {
	s := testSLO()
	s.Window.Duration = 30 * 24 * time.Hour
	n := 180
	ser := &Series{Start: time.Unix(0, 0), Step: time.Minute, Errors: nanSlice(n), Totals: nanSlice(n)}
	// 10 minutes of data, all failing, at the end of three empty hours: a
	// restarted Prometheus's first minutes during an outage.
	for i := n - 10; i < n; i++ {
		ser.Errors[i], ser.Totals[i] = 100, 100
	}
	p := SpecPolicy(s)
	alerts, err := Replay(s, p, ser)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) == 0 || !alerts[0].Partial {
		t.Fatalf("alerts %+v: want a page marked partial", alerts)
	}
	p.MinCoverage = 0.5
	if alerts, _ := Replay(s, p, ser); len(alerts) != 0 {
		t.Errorf("min_coverage 0.5 still fired on 10 minutes of a 1h window: %+v", alerts)
	}
	r, err := Evaluate(s, SpecPolicy(s), ser, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Partial || r.Coverage > 0.06 || len(r.Notes) != 0 {
		t.Errorf("coverage %g partial %v notes %q", r.Coverage, r.Partial, r.Notes)
	}
	bad := &Series{Start: time.Unix(0, 0), Step: time.Minute, Errors: []float64{-1}, Totals: []float64{1}}
	if _, err := Replay(s, p, bad); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative rate: %v", err)
	}
}

func FuzzParsePolicies(f *testing.F) {
	f.Add([]byte("policies:\n  - name: x\n    tiers:\n      - {severity: page, long: 1h, short: 5m, burn_rate: 14.4, for: 2m}\n"))
	f.Add([]byte("policies: [{name: y, tiers: [{severity: ticket, long: 3d, short: 6h, budget_percent: 10}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParsePolicies("f.yaml", data, 0)
		if err != nil {
			return
		}
		for _, p := range ps {
			for _, tr := range p.Tiers {
				if tr.Long <= 0 || tr.Short <= 0 || tr.Short > tr.Long || !(tr.BurnRate > 0) {
					t.Fatalf("accepted a bad tier %+v", tr)
				}
			}
		}
	})
}

func FuzzParseIncidents(f *testing.F) {
	f.Add("start,end,name\n2026-11-02T00:22:00Z,2026-11-02T00:42:00Z,outage\n")
	f.Add("end,start\n2026-11-02T00:42:00Z,2026-11-02T00:22:00Z\n")
	f.Fuzz(func(t *testing.T, data string) {
		incs, err := ParseIncidents("f.csv", strings.NewReader(data))
		if err != nil {
			return
		}
		for _, in := range incs {
			if !in.End.After(in.Start) {
				t.Fatalf("accepted %+v", in)
			}
		}
	})
}
