// Package controller wires Vane's controller from a configuration: it is
// the one place that builds the store (bbolt; etcd with the leader
// election, etcd's or a Kubernetes Lease's; or ConfigMaps through the
// Kubernetes API with a Lease, whose term fences the writes), the
// replicas' presence (over etcd or ConfigMaps), Prometheus (a client of prometheus.url, or embedded with the
// scrape jobs and the SLOs' rules), the xDS server, the Kubernetes
// endpoint watchers, the rollout loops, the autoscalers and their
// actuators, the HTTP API with the web UI and /metrics, and the
// configuration watcher. `vane run` and `vane demo` both run it.
//
// Run runs the parts with an oklog/run group, as Prometheus's
// cmd/prometheus/main.go does: they start in the order above; when the
// context ends or any part returns, they stop in the reverse order within
// the shutdown budget (10 s by default), so the API stops before the loops
// it serves and the loops before the store they write.
//
// controller imports the model and adapter packages; nothing but cmd/vane
// and demo may import it.
//
// Usage:
//
//	cfg, err := config.Load("vane.yaml", nil)
//	if err != nil { ... }
//	c, err := controller.New(ctx, controller.Options{Config: cfg, Logger: log, Registry: reg})
//	if err != nil { ... }
//	return c.Run(ctx) // until ctx ends
package controller
