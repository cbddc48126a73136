package slo

import (
	"strings"
	"testing"
	"time"
)

// TestParseDurationIsPrometheus checks that durations are read as
// Prometheus writes them, and that a Go-only form is refused with the
// same duration in Prometheus' form.
func TestParseDurationIsPrometheus(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "1h30m": 90 * time.Minute, "1500ms": 1500 * time.Millisecond,
		"1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour, "0": 0, "2m0s": 2 * time.Minute,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"1.5s":      `"1.5s" is not a Prometheus duration: write 1500ms`,
		".5h":       `".5h" is not a Prometheus duration: write 30m`,
		"1.5m":      `"1.5m" is not a Prometheus duration: write 1m30s`,
		"90.5s":     `"90.5s" is not a Prometheus duration: write 1m30s500ms`,
		"100us":     `"100us" is finer than a millisecond`,
		"-5m":       `"-5m" is negative`,
		"5 minutes": `"5 minutes" is not a duration (examples: 30s, 5m, 1h30m, 1d)`,
		"":          `"" is not a duration`,
	} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q): %v, want %s", in, err, want)
		}
	}
}
