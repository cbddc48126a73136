package slo

import "testing"

func TestClosest(t *testing.T) {
	allowed := []string{"alerting", "description", "labels", "name", "objective", "sli", "window"}
	for name, want := range map[string]string{"windw": "window", "objectiv": "objective", "nmae": "name", "zzz": "", "alertingz": "alerting", "SLI": "sli"} {
		if got := Closest(name, allowed); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
}
