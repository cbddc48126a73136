package slo

import (
	"math"
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestDefaultTiersThirtyDaysAreTheWorkbooks(t *testing.T) {
	got := DefaultTiers(30 * day)
	want := []Tier{
		{SeverityPage, time.Hour, 5 * time.Minute, 0.02, 14.4},
		{SeverityPage, 6 * time.Hour, 30 * time.Minute, 0.05, 6},
		{SeverityTicket, day, 2 * time.Hour, 0.10, 3},
		{SeverityTicket, 3 * day, 6 * time.Hour, 0.10, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d tiers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tier %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDefaultTiersScaleToSpendTheSameBudgetFraction(t *testing.T) {
	for _, w := range []time.Duration{7 * day, 14 * day, 28 * day, 90 * day} {
		base := DefaultTiers(30 * day)
		for i, tr := range DefaultTiers(w) {
			if tr.Severity != base[i].Severity || tr.BudgetFraction != base[i].BudgetFraction {
				t.Errorf("%v tier %d: %v, want severity/fraction of %v", w, i, tr, base[i])
			}
			spent := tr.BurnRate * float64(tr.Long) / float64(w)
			if math.Abs(spent-tr.BudgetFraction) > 1e-9 {
				t.Errorf("%v tier %d: spends %v of budget, want %v", w, i, spent, tr.BudgetFraction)
			}
			if tr.Short >= tr.Long || tr.Short < minShortWindow {
				t.Errorf("%v tier %d: short %v vs long %v", w, i, tr.Short, tr.Long)
			}
		}
	}
	if got := DefaultTiers(90 * day)[0]; got.Long != 3*time.Hour || got.Short != 15*time.Minute || got.BurnRate != 14.4 {
		t.Errorf("90d fastest tier = %v, want 3h/15m 14.4x", got)
	}
}

func TestBurnRateAndBudget(t *testing.T) {
	tests := map[string]struct {
		bad, total, target float64
		wantRate           float64
		wantOK             bool
		wantRemaining      float64
	}{
		"no errors burn nothing":          {0, 1000, 0.999, 0, true, 1},
		"errors at the budget burn at 1x": {1, 1000, 0.999, 1, true, 0},
		"a tenth of the budget":           {1, 10000, 0.999, 0.1, true, 0.9},
		"a full outage on 99.9% is 1000x": {50, 50, 0.999, 1000, true, -999},
		"no traffic has no burn rate":     {0, 0, 0.999, 0, false, 1},
		"a 100% target has no budget":     {1, 10, 1, 0, false, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, ok := BurnRate(tc.bad, tc.total, tc.target)
			if ok != tc.wantOK || math.Abs(r-tc.wantRate) > 1e-9 {
				t.Errorf("BurnRate = %v, %v; want %v, %v", r, ok, tc.wantRate, tc.wantOK)
			}
			if math.IsNaN(r) {
				t.Error("BurnRate is NaN")
			}
			if got := BudgetRemaining(tc.bad, tc.total, tc.target); math.Abs(got-tc.wantRemaining) > 1e-9 {
				t.Errorf("BudgetRemaining = %v, want %v", got, tc.wantRemaining)
			}
		})
	}
}

func TestTimeToExhaustion(t *testing.T) {
	if d, ok := TimeToExhaustion(0.5, 2, 30*day); !ok || d != 7*day+12*time.Hour {
		t.Errorf("half a budget at 2x = %v %v, want 7.5d", d, ok)
	}
	if _, ok := TimeToExhaustion(0.5, 0, 30*day); ok {
		t.Error("a zero burn rate never exhausts the budget")
	}
	if d, ok := TimeToExhaustion(-0.1, 3, 30*day); !ok || d != 0 {
		t.Errorf("an overspent budget is exhausted now, got %v", d)
	}
}

func TestDetectionTimeBudgetSpentAndReset(t *testing.T) {
	page := DefaultTiers(30 * day)[0]
	// A full outage on a 99.9% SLO pages after 0.001 × 3600 s × 14.4 = 51.84 s.
	if d, ok := DetectionTime(page, 0.999, 1); !ok || d != 51840*time.Millisecond {
		t.Errorf("100%% outage detection = %v %v, want 51.84s", d, ok)
	}
	// At exactly the threshold the tier never fires (the rule uses >).
	if _, ok := DetectionTime(page, 0.999, 0.0144); ok {
		t.Error("an error ratio at the threshold must not fire")
	}
	// A 90% SLO cannot fire the 2%-in-1h tier: a full outage burns 10×, not 14.4×.
	if _, ok := DetectionTime(page, 0.90, 1); ok {
		t.Error("a 90% SLO's fastest tier must never fire")
	}
	// At 1.05× the threshold the long window crosses after Long/1.05.
	if d, _ := DetectionTime(page, 0.999, 0.0144*1.05); d != durationOf(float64(time.Hour)/1.05) {
		t.Errorf("1.05x detection = %v", d)
	}
	for _, tr := range DefaultTiers(30 * day) {
		for _, e := range []float64{0.02, 0.2, 1} {
			spent, ok := BudgetSpentAtDetection(tr, 0.999, e, 30*day)
			if !ok {
				continue
			}
			if math.Abs(spent-tr.BudgetFraction) > 1e-6 {
				t.Errorf("%v at %v spends %v at detection, want %v", tr, e, spent, tr.BudgetFraction)
			}
		}
	}
	if got := ResetTime(page, 0.999, 1); got != durationOf(float64(5*time.Minute)*(1-0.0144)) {
		t.Errorf("reset after a full outage = %v", got)
	}
	if got := ResetTime(page, 0.999, 0.001); got != 0 {
		t.Errorf("reset below threshold = %v, want 0", got)
	}
}

func TestWindowBounds(t *testing.T) {
	now := time.Date(2026, 2, 18, 15, 4, 5, 0, time.UTC) // a Wednesday
	s, e := Window{Duration: 30 * day, Calendar: CalendarMonth}.Bounds(now)
	if !s.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("month = %v..%v", s, e)
	}
	s, e = Window{Duration: 7 * day, Calendar: CalendarWeek}.Bounds(now)
	if !s.Equal(time.Date(2026, 2, 16, 0, 0, 0, 0, time.UTC)) || e.Sub(s) != 7*day {
		t.Errorf("week = %v..%v", s, e)
	}
	if l := (Window{Duration: 28 * day}).Length(now); l != 28*day {
		t.Errorf("rolling length = %v", l)
	}
	if got := (Window{Calendar: CalendarWeek}).Range(now); got != 2*day+15*time.Hour+4*time.Minute {
		t.Errorf("week so far = %v", got)
	}
	if got := (Window{Duration: 30 * day}).Range(now); got != 30*day {
		t.Errorf("rolling range = %v", got)
	}
	if got := (Window{Calendar: CalendarMonth}).Length(now); got != 28*day {
		t.Errorf("February length = %v", got)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute: "5m", time.Hour: "1h", 28 * day: "28d", 30 * day: "30d", 90 * day: "90d",
		22*time.Hour + 24*time.Minute: "22h24m", 2*day + 19*time.Hour + 12*time.Minute: "2d19h12m", 1500 * time.Millisecond: "1s500ms",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v", FormatDuration(d), back, err)
		}
	}
}
