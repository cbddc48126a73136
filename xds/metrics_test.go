package xds_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vaneproj/vane/xds"
)

func TestMetricsExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := xds.NewMetrics(reg)
	m.ConnectedStreams().Inc()
	m.NACKs("route").Inc()
	const want = `
# HELP vane_xds_connected_streams ADS streams currently connected.
# TYPE vane_xds_connected_streams gauge
vane_xds_connected_streams 1
# HELP vane_xds_nacks_total Discovery responses rejected by a client, by resource type.
# TYPE vane_xds_nacks_total counter
vane_xds_nacks_total{type="cluster"} 0
vane_xds_nacks_total{type="endpoint"} 0
vane_xds_nacks_total{type="listener"} 0
vane_xds_nacks_total{type="route"} 1
# HELP vane_xds_pushes_total Discovery responses sent, by resource type.
# TYPE vane_xds_pushes_total counter
vane_xds_pushes_total{type="cluster"} 0
vane_xds_pushes_total{type="endpoint"} 0
vane_xds_pushes_total{type="listener"} 0
vane_xds_pushes_total{type="route"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"vane_xds_connected_streams", "vane_xds_nacks_total", "vane_xds_pushes_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "vane_xds_ack_latency_seconds", "vane_xds_applies_total", "vane_xds_apply_duration_seconds"); err != nil || n != 7 {
		t.Errorf("histograms and applies: %d series, %v; want 7", n, err)
	}
	// A nil registerer registers nothing and still works.
	xds.NewMetrics(nil).ConnectedStreams().Inc()
}
