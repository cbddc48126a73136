package main

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// vaneVersion is the version this binary reports: the -ldflags version,
// else the module version `go install …@vX` recorded, else "dev".
func vaneVersion() string {
	v := version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

// newBuildInfo is the vane_build_info gauge: always 1, with the version and
// the Go version that built the binary as labels, as Prometheus's own
// prometheus_build_info.
func newBuildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "vane", Name: "build_info",
		Help:        "Always 1; the labels name the running vane's version and the Go version that built it.",
		ConstLabels: prometheus.Labels{"version": vaneVersion(), "goversion": runtime.Version()}})
	g.Set(1)
	return g
}
