package slo

import (
	"strconv"
	"time"

	"github.com/prometheus/common/model"
)

// FormatDuration writes d the way Prometheus does in range selectors and
// specs: "5m", "1h", "1d", "30d", "1h30m".
func FormatDuration(d time.Duration) string {
	return model.Duration(d).String()
}

// ParseDuration reads a Prometheus duration ("5m", "1d", "4w").
func ParseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

func formatFloat(x float64) string {
	return strconv.FormatFloat(x, 'f', -1, 64)
}
