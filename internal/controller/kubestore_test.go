package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/internal/kubetest"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/store"
)

// kubeStoreConfig parses a vane.yaml with store.kind kubernetes on the
// cluster; as, when set, is the user the kubeconfig impersonates.
func kubeStoreConfig(t *testing.T, cluster *kubetest.Cluster, as, rest string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	user := fmt.Sprintf("{token: %q}", kubetest.Token)
	if as != "" {
		user = fmt.Sprintf("{token: %q, as: %q}", kubetest.Token, as)
	}
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: u, user: %s}]
contexts: [{name: test, context: {cluster: test, user: u, namespace: default}}]
current-context: test
`, cluster.URL, cluster.CAFile, user)), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `xds: {listen: 127.0.0.1:0, min_proxies: 0}
http: {listen: 127.0.0.1:0}
store:
  kind: kubernetes
  kubeconfig: kubeconfig
` + rest + `
services: []
`
	file := filepath.Join(dir, "vane.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(file, []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// With store.kind kubernetes the Lease election fences the writes to the
// state ConfigMap by the term the leader started there: refused before it
// leads, accepted during its term, refused once a successor started its
// own (a deposed leader that has not noticed yet moves nothing).
func TestKubeStoreLeaseTermFencesADeposedLeader(t *testing.T) {
	cluster := kubetest.Start(t)
	cfg := kubeStoreConfig(t, cluster, "", `  name: fence
election:
  lease: {name: fence, duration: 10s, renew_deadline: 5s, retry_period: 500ms}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, el, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(t.Output(), nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !strings.Contains(db.Path(), "default/fence-state") {
		t.Fatalf("store at %s", db.Path())
	}
	save := func() error { return db.Save(rollout.StoreKind, "checkout", map[string]int{"step": 1}) }
	if err := save(); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write before leading: %v, want ErrFenced", err)
	}
	done := campaign(ctx, t, el)
	if err := save(); err != nil {
		t.Fatalf("the leader's write: %v", err)
	}
	// A successor starts its term, as the election does when it takes the
	// Lease.
	if _, err := db.(kubeStore).BeginTerm(ctx, "replica-b"); err != nil {
		t.Fatal(err)
	}
	if err := save(); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write after a successor's term started: %v, want ErrFenced", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after ctx ended: %v", err)
	}
}

// A ServiceAccount without the Role of deploy/kubernetes/vane-lease.yaml
// gets an error that names each missing permission; with the Role the
// store opens.
func TestKubeStoreNamesAMissingPermission(t *testing.T) {
	cluster := kubetest.StartRBAC(t)
	sa := "system:serviceaccount:default:vane"
	cfg := kubeStoreConfig(t, cluster, sa, "")
	ctx := context.Background()
	_, _, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err == nil {
		t.Fatal("openStore without RBAC succeeded")
	}
	t.Log(err)
	for _, want := range []string{`verb "create" on configmaps`, `verb "watch" on configmaps`, `verb "update" on leases (apiGroup coordination.k8s.io)`, `namespace "default"`, "vane-lease.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	client := cluster.Clientset(t)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "vane"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "delete"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	}}
	if _, err := client.RbacV1().Roles("default").Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "vane"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "vane"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "vane", Namespace: "default"}}}
	if _, err := client.RbacV1().RoleBindings("default").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	db, _, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("openStore with the Role: %v", err)
	}
	db.Close()

	// The Lease in another namespace than the ConfigMaps: its permissions
	// are checked there, and the ConfigMaps' namespace needs none on
	// Leases.
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "elect"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	split := kubeStoreConfig(t, cluster, sa, "  namespace: default\nelection:\n  lease: {namespace: elect}")
	_, _, err = openStore(ctx, split, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), `verb "update" on leases (apiGroup coordination.k8s.io) in namespace "elect"`) ||
		strings.Contains(err.Error(), "configmaps") {
		t.Fatalf("openStore without the Lease's permissions in its namespace = %v; want an error naming them there only", err)
	}
	role.Rules = role.Rules[:1]
	if _, err := client.RbacV1().Roles("default").Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	leaseRole := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "vane-lease", Namespace: "elect"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	}}
	if _, err := client.RbacV1().Roles("elect").Create(ctx, leaseRole, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb.ObjectMeta = metav1.ObjectMeta{Name: "vane-lease", Namespace: "elect"}
	rb.RoleRef.Name = "vane-lease"
	if _, err := client.RbacV1().RoleBindings("elect").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server's RBAC follows the new Role through an informer:
	// allow it a moment.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		db, _, err = openStore(ctx, split, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("openStore with the ConfigMaps' Role in default and the Lease's in elect: %v", err)
		}
	}
	db.Close()
}
