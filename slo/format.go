package slo

import (
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

// ParseDuration reads a Prometheus duration ("5m", "1d", "4w").
func ParseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

func formatFloat(x float64) string {
	return strconv.FormatFloat(x, 'f', -1, 64)
}
