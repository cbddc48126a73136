// Package kubetest runs a real etcd and a real kube-apiserver for tests:
// Start launches etcd (Debian's etcd-server) and kube-apiserver (built by
// scripts/install-kube-apiserver.sh from k8s.io/kubernetes) on free
// loopback ports with temporary directories, a generated service-account
// key and a static token, waits until /readyz answers, and stops them when
// the test ends: kube-apiserver first, then etcd (the other way round the
// API server ignores SIGTERM for long).
//
// There is no kubelet nor controller-manager: objects are stored and
// served, nothing runs them. A test plays the controllers' part by writing
// status itself.
//
// The binaries are found like promtest's tools ($VANE_TOOLS_DIR, PATH,
// <repo>/.tools/bin); a test that cannot find one fails saying how to
// install it (`make test-tools`).
//
// Only tests import this package.
//
// Usage:
//
//	c := kubetest.Start(t)
//	dyn, _ := dynamic.NewForConfig(c.REST())
package kubetest
