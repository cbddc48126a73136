package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/kube"
)

// TestDeployManifests checks deploy/kubernetes against a real
// kube-apiserver with the RBAC authorizer: `kubectl apply --dry-run=server`
// accepts vane.yaml and vane-lease.yaml; vane-lease.yaml's Role, applied
// for real, lets the vane ServiceAccount do what store.kind kubernetes and
// the Lease need in its namespace and nothing elsewhere; the EndpointSlice
// mode's Role lets it list and watch EndpointSlices and Pods in the
// services' namespace and nothing more (`kubectl auth can-i --as`); and
// `vane run --check` accepts each ConfigMap's vane.yaml.
func TestDeployManifests(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl not found: install it (Debian: apt-get install kubernetes-client)")
	}
	c := kubetest.StartRBAC(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeFile(t, kubeconfig, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, c.URL, c.CAFile, kubetest.Token), 0o600)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	must("create", "namespace", "vane")
	must("create", "namespace", "shop")
	out := must("apply", "--dry-run=server", "-n", "vane", "-f", "../../deploy/kubernetes/vane.yaml")
	for _, kind := range []string{"serviceaccount/vane", "configmap/vane", "deployment.apps/vane", "service/vane", "poddisruptionbudget.policy/vane"} {
		if !strings.Contains(out, kind) {
			t.Fatalf("kubectl apply --dry-run=server of vane.yaml does not list %s:\n%s", kind, out)
		}
	}
	// The Lease variant: two replicas electing with a Kubernetes Lease,
	// their state in ConfigMaps.
	out = must("apply", "--dry-run=server", "-n", "vane", "-f", "../../deploy/kubernetes/vane-lease.yaml")
	for _, kind := range []string{"role.rbac.authorization.k8s.io/vane-replicas", "rolebinding.rbac.authorization.k8s.io/vane-replicas", "deployment.apps/vane"} {
		if !strings.Contains(out, kind) {
			t.Fatalf("kubectl apply --dry-run=server of vane-lease.yaml does not list %s:\n%s", kind, out)
		}
	}
	lease, err := os.ReadFile("../../deploy/kubernetes/vane-lease.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"resources: [leases]", "verbs: [get, create, update]", "resources: [configmaps]", "kind: kubernetes", "kind: lease",
		"fieldPath: metadata.namespace", "VANE_HTTP_ADVERTISE_URL", "replicas: 2"} {
		if !strings.Contains(string(lease), want) {
			t.Errorf("vane-lease.yaml lacks %q", want)
		}
	}
	must("apply", "-f", "../../deploy/kubernetes/endpointslices-rbac.yaml")
	// The Lease variant's Role and RoleBinding, applied for real: the
	// ServiceAccount may do what store.kind kubernetes and the Lease need
	// in its namespace (kube.StorePermissions), and nothing elsewhere.
	must("apply", "-n", "vane", "-f", "../../deploy/kubernetes/vane-lease.yaml")
	sa := "system:serviceaccount:vane:vane"
	type check struct {
		verb, resource, ns string
		want               bool
	}
	var checks []check
	for _, p := range kube.StorePermissions {
		r := p.Resource
		if p.Group != "" {
			r += "." + p.Group
		}
		checks = append(checks, check{p.Verb, r, "vane", true}, check{p.Verb, r, "shop", false})
	}
	checks = append(checks, check{"get", "secrets", "vane", false}, check{"update", "deployments.apps", "vane", false})
	for _, c := range append(checks, []check{
		{"list", "endpointslices.discovery.k8s.io", "shop", true},
		{"watch", "endpointslices.discovery.k8s.io", "shop", true},
		{"list", "pods", "shop", true},
		{"watch", "pods", "shop", true},
		{"create", "endpointslices.discovery.k8s.io", "shop", false},
		{"get", "secrets", "shop", false},
		{"list", "endpointslices.discovery.k8s.io", "default", false},
		{"create", "selfsubjectaccessreviews.authorization.k8s.io", "", true},
	}...) {
		args := []string{"auth", "can-i", c.verb, c.resource, "--as", sa}
		if c.ns != "" {
			args = append(args, "-n", c.ns)
		}
		out, err := run(args...)
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n") // a warning may come first
		if got := strings.TrimSpace(lines[len(lines)-1]) == "yes"; got != c.want {
			t.Errorf("can %s %s %s in %q: %q, want %v", sa, c.verb, c.resource, c.ns, strings.TrimSpace(out), c.want)
		}
	}

	// Each ConfigMap's vane.yaml passes vane run --check.
	for _, m := range []string{"vane.yaml", "vane-lease.yaml"} {
		checkConfigMap(t, dir, "../../deploy/kubernetes/"+m)
	}
}

// checkConfigMap runs vane run --check on the vane.yaml of the manifest
// file's ConfigMap.
func checkConfigMap(t *testing.T, dir, manifest string) {
	t.Helper()
	f, err := os.Open(manifest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var conf string
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc.Kind == "ConfigMap" {
			conf = doc.Data["vane.yaml"]
		}
	}
	if conf == "" {
		t.Fatalf("%s has no ConfigMap with vane.yaml", manifest)
	}
	cfgFile := filepath.Join(dir, filepath.Base(manifest))
	writeFile(t, cfgFile, conf, 0o644)
	var stdout bytes.Buffer
	root := newRootCmd(&stdout, io.Discard)
	root.SetArgs([]string{"run", "-c", cfgFile, "--check"})
	if err := root.Execute(); err != nil || !strings.Contains(stdout.String(), "OK") {
		t.Fatalf("vane run --check on %s's ConfigMap vane.yaml: %v\n%s", manifest, err, stdout.String())
	}
}
