package slo

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// FormatDuration writes d as a Prometheus duration in the units specs use:
// "5m", "1h", "1d", "28d", "1h30m" (days rather than weeks or years, so
// that a 28d window reads as written).
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	units := []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}}
	for _, u := range units {
		if n := d / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			d -= n * u.unit
		}
	}
	if b.Len() == 0 || b.String() == "-" {
		return model.Duration(d).String()
	}
	return b.String()
}

// ParseDuration reads a Prometheus duration ("5m", "1d", "4w", "1h30m",
// "1500ms"), the one form of every duration Vane reads. A Go duration that
// Prometheus does not read ("1.5s", ".5h") is an error that gives the same
// duration as Prometheus writes it.
func ParseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	if err == nil {
		return time.Duration(d), nil
	}
	g, gerr := time.ParseDuration(s)
	switch {
	case gerr != nil && strings.Contains(err.Error(), "out of range"):
		return 0, fmt.Errorf("%q: %w", s, err)
	case gerr != nil:
		return 0, fmt.Errorf("%q is not a duration (examples: 30s, 5m, 1h30m, 1d)", s)
	case g < 0:
		return 0, fmt.Errorf("%q is negative", s)
	case g%time.Millisecond != 0:
		return 0, fmt.Errorf("%q is finer than a millisecond, the resolution of durations", s)
	}
	return 0, fmt.Errorf("%q is not a Prometheus duration: write %s", s, prometheusForm(g))
}

// prometheusForm writes d as Prometheus does, except that a duration
// under a minute with a fraction of a second is written in milliseconds
// ("1500ms" rather than "1s500ms").
func prometheusForm(d time.Duration) string {
	if d < time.Minute && d%time.Second != 0 {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return model.Duration(d).String()
}

func formatFloat(x float64) string {
	return strconv.FormatFloat(x, 'f', -1, 64)
}
