package actuator_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/autoscale/actuator"
	"github.com/vaneproj/vane/internal/kubetest"
)

var _ autoscale.Actuator = (*actuator.Kubernetes)(nil)

var (
	deployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	statefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
)

// workload is a Deployment or StatefulSet of kind with replicas, as a
// user would apply it.
func workload(kind, name string, replicas int64) *unstructured.Unstructured {
	labels := map[string]any{"app": name}
	spec := map[string]any{
		"replicas": replicas,
		"selector": map[string]any{"matchLabels": labels},
		"template": map[string]any{
			"metadata": map[string]any{"labels": labels},
			"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": "registry.example/app:1"},
			}},
		},
	}
	if kind == "StatefulSet" {
		spec["serviceName"] = name
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"spec":     spec,
	}}
}

func TestKubernetesAgainstARealAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	dyn, err := dynamic.NewForConfig(c.REST())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	create := func(gvr schema.GroupVersionResource, obj *unstructured.Unstructured) {
		t.Helper()
		if _, err := dyn.Resource(gvr).Namespace("default").Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", obj.GetName(), err)
		}
	}
	specReplicas := func(gvr schema.GroupVersionResource, name string) int64 {
		t.Helper()
		o, err := dyn.Resource(gvr).Namespace("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, _, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
		return n
	}
	// scaleBySomeoneElse is what `kubectl scale` does: a write of the
	// scale subresource.
	scaleBySomeoneElse := func(gvr schema.GroupVersionResource, name string, n int64) {
		t.Helper()
		r := dyn.Resource(gvr).Namespace("default")
		sc, err := r.Get(ctx, name, metav1.GetOptions{}, "scale")
		if err != nil {
			t.Fatal(err)
		}
		_ = unstructured.SetNestedField(sc.Object, n, "spec", "replicas")
		if _, err := r.Update(ctx, sc, metav1.UpdateOptions{}, "scale"); err != nil {
			t.Fatal(err)
		}
	}
	newKube := func(kind, name string) *actuator.Kubernetes {
		t.Helper()
		k, err := actuator.NewKubernetes(actuator.KubernetesConfig{REST: c.REST(), Kind: kind, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}

	t.Run("a Deployment is read and scaled through its scale subresource", func(t *testing.T) {
		create(deployments, workload("Deployment", "web", 2))
		k := newKube("Deployment", "web")
		got, err := k.GetScale(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (autoscale.Scale{Desired: 2, Ready: 0}); got != want {
			t.Fatalf("GetScale = %+v, want %+v (no controller runs pods here)", got, want)
		}
		// Play the deployment controller: two pods became ready.
		r := dyn.Resource(deployments).Namespace("default")
		o, err := r.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_ = unstructured.SetNestedField(o.Object, map[string]any{"replicas": int64(2), "readyReplicas": int64(2), "availableReplicas": int64(2)}, "status")
		if _, err := r.UpdateStatus(ctx, o, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, err = k.GetScale(ctx); err != nil || got != (autoscale.Scale{Desired: 2, Ready: 2}) {
			t.Fatalf("GetScale after 2 pods are ready = %+v, %v; want {2 2}", got, err)
		}
		a := actuator.Retrying(k, actuator.RetryOptions{Name: "web"})
		if err := a.SetScale(ctx, 5); err != nil {
			t.Fatal(err)
		}
		if n := specReplicas(deployments, "web"); n != 5 {
			t.Fatalf("spec.replicas = %d after SetScale(5)", n)
		}
		if got, err = a.GetScale(ctx); err != nil || got.Desired != 5 {
			t.Fatalf("GetScale = %+v, %v; want 5 desired", got, err)
		}
		if err := a.SetScale(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if n := specReplicas(deployments, "web"); n != 1 {
			t.Fatalf("spec.replicas = %d after SetScale(1)", n)
		}
	})

	t.Run("a fight with another scaler is detected and stops scaling until Reset", func(t *testing.T) {
		create(deployments, workload("Deployment", "fought", 3))
		k := newKube("Deployment", "fought")
		if err := k.SetScale(ctx, 4); err != nil {
			t.Fatal(err)
		}
		scaleBySomeoneElse(deployments, "fought", 9)
		// GetScale reports the count as it is: the controller compares it
		// with its own last write.
		if got, err := k.GetScale(ctx); err != nil || got.Desired != 9 {
			t.Fatalf("GetScale after someone else scaled = %+v, %v; want 9 desired", got, err)
		}
		err := k.SetScale(ctx, 5)
		if !errors.Is(err, actuator.ErrFight) || !actuator.IsPermanent(err) {
			t.Fatalf("SetScale after someone else scaled: %v, want a permanent ErrFight", err)
		}
		for _, want := range []string{"Deployment default/fought", "spec.replicas is 9", "Vane last set 4"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		// It stays refused: a retry must not undo the other writer's change.
		err = k.SetScale(ctx, 4)
		if !errors.Is(err, actuator.ErrFight) {
			t.Fatalf("second SetScale during a fight: %v, want ErrFight", err)
		}
		if n := specReplicas(deployments, "fought"); n != 9 {
			t.Fatalf("spec.replicas = %d: Vane wrote during a fight", n)
		}
		// Retrying gives up at once on a fight.
		start := time.Now()
		ra := actuator.Retrying(k, actuator.RetryOptions{Initial: time.Second})
		if err := ra.SetScale(ctx, 4); !errors.Is(err, actuator.ErrFight) || time.Since(start) > 900*time.Millisecond {
			t.Fatalf("Retrying.SetScale during a fight: %v after %v, want ErrFight at once", err, time.Since(start))
		}
		ra.(actuator.Resetter).Reset() // what the autoscaler's resume does
		if got, err := k.GetScale(ctx); err != nil || got.Desired != 9 {
			t.Fatalf("GetScale after Reset = %+v, %v; want 9 desired", got, err)
		}
		if err := k.SetScale(ctx, 6); err != nil {
			t.Fatal(err)
		}
		if n := specReplicas(deployments, "fought"); n != 6 {
			t.Fatalf("spec.replicas = %d after Reset and SetScale(6)", n)
		}
	})

	t.Run("a StatefulSet is scaled", func(t *testing.T) {
		create(statefulSets, workload("StatefulSet", "db", 1))
		a := actuator.Retrying(newKube("StatefulSet", "db"), actuator.RetryOptions{Name: "db"})
		if err := a.SetScale(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if n := specReplicas(statefulSets, "db"); n != 3 {
			t.Fatalf("spec.replicas = %d after SetScale(3)", n)
		}
	})

	t.Run("a custom resource with a scale subresource is scaled", func(t *testing.T) {
		crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": "workers.example.vane.dev"},
			"spec": map[string]any{
				"group": "example.vane.dev", "scope": "Namespaced",
				"names": map[string]any{"plural": "workers", "singular": "worker", "kind": "Worker"},
				"versions": []any{map[string]any{
					"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{
						"type": "object", "x-kubernetes-preserve-unknown-fields": true,
					}},
					"subresources": map[string]any{"scale": map[string]any{
						"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
					}},
				}},
			},
		}}
		if _, err := dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		workers := schema.GroupVersionResource{Group: "example.vane.dev", Version: "v1", Resource: "workers"}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.vane.dev/v1", "kind": "Worker",
			"metadata": map[string]any{"name": "queue", "namespace": "default"},
			"spec":     map[string]any{"replicas": int64(2)},
		}}
		// The CRD is served once it is established.
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := dyn.Resource(workers).Namespace("default").Create(ctx, obj, metav1.CreateOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("create the custom resource: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		k, err := actuator.NewKubernetes(actuator.KubernetesConfig{REST: c.REST(), APIVersion: "example.vane.dev/v1", Kind: "Worker", Name: "queue"})
		if err != nil {
			t.Fatal(err)
		}
		a := actuator.Retrying(k, actuator.RetryOptions{Name: "queue"})
		if got, err := a.GetScale(ctx); err != nil || got.Desired != 2 {
			t.Fatalf("GetScale = %+v, %v; want 2 desired", got, err)
		}
		if err := a.SetScale(ctx, 6); err != nil {
			t.Fatal(err)
		}
		if n := specReplicas(workers, "queue"); n != 6 {
			t.Fatalf("spec.replicas = %d after SetScale(6)", n)
		}
	})

	t.Run("a missing object is a clear, permanent error", func(t *testing.T) {
		a := actuator.Retrying(newKube("Deployment", "nope"), actuator.RetryOptions{Initial: time.Second})
		start := time.Now()
		_, err := a.GetScale(ctx)
		if !errors.Is(err, actuator.ErrNotFound) || !strings.Contains(err.Error(), "Deployment default/nope") {
			t.Fatalf("GetScale of a missing Deployment: %v", err)
		}
		if time.Since(start) > 900*time.Millisecond {
			t.Errorf("a missing object was retried (%v)", time.Since(start))
		}
		if err := a.SetScale(ctx, 2); !errors.Is(err, actuator.ErrNotFound) {
			t.Fatalf("SetScale of a missing Deployment: %v", err)
		}
	})

	t.Run("a kind without a scale subresource or unknown is refused", func(t *testing.T) {
		cases := map[string]struct {
			apiVersion, kind, want string
		}{
			"ConfigMaps cannot be scaled": {"v1", "ConfigMap", "configmaps (v1) has no scale subresource"},
			"an unknown kind":             {"apps/v1", "Deploymnet", `apps/v1 has no kind "Deploymnet"`},
			"an unserved group":           {"nope.example/v1", "Thing", "does not serve nope.example/v1"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				k, err := actuator.NewKubernetes(actuator.KubernetesConfig{REST: c.REST(), APIVersion: tc.apiVersion, Kind: tc.kind, Name: "x"})
				if err != nil {
					t.Fatal(err)
				}
				_, err = k.GetScale(ctx)
				if !errors.Is(err, actuator.ErrInvalid) || !actuator.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("GetScale: %v, want a permanent ErrInvalid saying %q", err, tc.want)
				}
			})
		}
	})
}

func TestKubernetesConfigIsValidated(t *testing.T) {
	cases := map[string]struct {
		cfg  actuator.KubernetesConfig
		want string
	}{
		"no kind":         {actuator.KubernetesConfig{Name: "web"}, "kind: empty"},
		"no name":         {actuator.KubernetesConfig{Kind: "Deployment"}, "name: empty"},
		"bad api version": {actuator.KubernetesConfig{Kind: "Deployment", Name: "web", APIVersion: "a/b/c"}, "api_version"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := actuator.NewKubernetes(tc.cfg)
			if !errors.Is(err, actuator.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewKubernetes(%+v): %v, want ErrInvalid saying %q", tc.cfg, err, tc.want)
			}
		})
	}
}
