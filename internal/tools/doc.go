// Package tools finds the pinned external tools (prometheus, promtool,
// sloth, alertmanager, kube-apiserver) that the benchmarks and the tests
// run for real, and picks free loopback addresses for them.
//
// It imports only the standard library; it must not import testing, so
// that commands may use it.
package tools
