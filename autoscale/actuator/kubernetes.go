package actuator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vaneproj/vane/autoscale"
)

// KubernetesConfig names a Kubernetes scale target the way an HPA's
// scaleTargetRef does, and how to reach the API server.
type KubernetesConfig struct {
	// APIVersion and Kind name the target's type: "apps/v1" and
	// "Deployment" or "StatefulSet", or any resource with a scale
	// subresource (a ReplicaSet, a custom resource). Default "apps/v1".
	APIVersion string
	Kind       string
	// Namespace and Name name the object; Namespace defaults to "default".
	Namespace string
	Name      string
	// Kubeconfig is the kubeconfig file; empty means $KUBECONFIG,
	// ~/.kube/config, or the in-cluster service account.
	Kubeconfig string
	// Context is the kubeconfig context; empty means its current one.
	Context string
	// REST, when set, is used instead of Kubeconfig and Context.
	REST *rest.Config
}

// Validate reports every problem with the configuration.
func (c KubernetesConfig) Validate() error {
	var errs []error
	if c.Kind == "" {
		errs = append(errs, errors.New("kind: empty (e.g. Deployment, StatefulSet)"))
	}
	if c.Name == "" {
		errs = append(errs, errors.New("name: empty"))
	}
	if c.APIVersion != "" {
		if _, err := schema.ParseGroupVersion(c.APIVersion); err != nil {
			errs = append(errs, fmt.Errorf("api_version: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: kubernetes actuator: %w", ErrInvalid, err)
	}
	return nil
}

// Kubernetes scales one object through its scale subresource. Its Scale
// is the subresource's spec.replicas (Desired) and the object's
// status.readyReplicas (Ready; the scale's status.replicas for a resource
// that has no readyReplicas).
//
// It refuses to fight: once it has written spec.replicas, a SetScale that
// finds another value there (someone else scales the object too: an HPA,
// `kubectl scale`, a GitOps sync) fails with an error wrapping ErrFight
// that names both counts, and so does every later SetScale until Reset,
// so that retries cannot undo the other writer's change. GetScale keeps
// reporting the counts: the controller compares them with its own last
// write and stops with a fight event. Writes carry the resourceVersion
// just read, so a change made between the read and the write is caught
// too. A missing object gives an error wrapping ErrNotFound.
type Kubernetes struct {
	cfg  KubernetesConfig
	gv   schema.GroupVersion
	dyn  dynamic.Interface
	disc discovery.DiscoveryInterface
	what string // "Deployment shop/checkout", for errors

	mu       sync.Mutex
	resource dynamic.ResourceInterface // resolved on first use
	written  *int32                    // spec.replicas of Vane's last write
	fight    error                     // set once a fight is seen, until Reset
}

// NewKubernetes checks cfg and builds the clients; it does not contact the
// API server (the first call resolves the kind to its resource).
func NewKubernetes(cfg KubernetesConfig) (*Kubernetes, error) {
	if cfg.APIVersion == "" {
		cfg.APIVersion = "apps/v1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	gv, _ := schema.ParseGroupVersion(cfg.APIVersion)
	rc := cfg.REST
	if rc == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = cfg.Kubeconfig
		var err error
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
			&clientcmd.ConfigOverrides{CurrentContext: cfg.Context}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes actuator: kubeconfig: %w", err)
		}
	}
	rc = rest.CopyConfig(rc)
	if rc.UserAgent == "" {
		rc.UserAgent = "vane-autoscaler"
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes actuator: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes actuator: %w", err)
	}
	return &Kubernetes{cfg: cfg, gv: gv, dyn: dyn, disc: disc,
		what: fmt.Sprintf("%s %s/%s", cfg.Kind, cfg.Namespace, cfg.Name)}, nil
}

// Kind implements Kinded.
func (k *Kubernetes) Kind() string { return "kubernetes" }

// String names the target, e.g. "Deployment shop/checkout".
func (k *Kubernetes) String() string { return k.what }

// Reset forgets a fight and Vane's last write: the next SetScale takes the
// object's spec.replicas as it finds it. The autoscaler's resume calls it
// (through the optional interface Resetter).
func (k *Kubernetes) Reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.written, k.fight = nil, nil
}

// GetScale implements autoscale.Actuator.
func (k *Kubernetes) GetScale(ctx context.Context) (autoscale.Scale, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sc, err := k.readScale(ctx)
	if err != nil {
		return autoscale.Scale{}, err
	}
	spec, status, err := scaleReplicas(sc)
	if err != nil {
		return autoscale.Scale{}, fmt.Errorf("%s: %w", k.what, err)
	}
	ready := status
	obj, err := k.resource.Get(ctx, k.cfg.Name, metav1.GetOptions{})
	if err != nil {
		return autoscale.Scale{}, k.apiError("get", err)
	}
	if n, found, err := unstructured.NestedInt64(obj.Object, "status", "readyReplicas"); err == nil && found {
		ready = int32(n)
	} else if err == nil && !found && obj.Object["status"] != nil && hasReadyField(k.cfg.Kind) {
		ready = 0 // a Deployment with no ready pod omits readyReplicas
	}
	return autoscale.Scale{Desired: spec, Ready: ready}, nil
}

// hasReadyField reports whether the kind's status carries readyReplicas
// (omitted when 0), so that its absence means none is ready.
func hasReadyField(kind string) bool {
	switch kind {
	case "Deployment", "StatefulSet", "ReplicaSet":
		return true
	}
	return false
}

// SetScale implements autoscale.Actuator: it writes spec.replicas through
// the scale subresource with the resourceVersion it just read; a conflict
// caused by a status update is retried (up to 5 times), one caused by
// another writer of spec.replicas is a fight.
func (k *Kubernetes) SetScale(ctx context.Context, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("%s: %w: %d replicas", k.what, ErrInvalid, replicas)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var lastConflict error
	for range 5 {
		sc, err := k.readScale(ctx)
		if err != nil {
			return err
		}
		spec, _, err := scaleReplicas(sc)
		if err != nil {
			return fmt.Errorf("%s: %w", k.what, err)
		}
		if err := k.checkFight(spec); err != nil {
			return err
		}
		if spec == replicas {
			k.written = &replicas
			return nil
		}
		if err := unstructured.SetNestedField(sc.Object, int64(replicas), "spec", "replicas"); err != nil {
			return fmt.Errorf("%s: set spec.replicas: %w", k.what, err)
		}
		_, err = k.resource.Update(ctx, sc, metav1.UpdateOptions{FieldManager: "vane-autoscaler"}, "scale")
		if apierrors.IsConflict(err) {
			lastConflict = err
			continue // re-read: a status update, or a fight the next read shows
		}
		if err != nil {
			return k.apiError("update scale", err)
		}
		k.written = &replicas
		return nil
	}
	return fmt.Errorf("%s: update scale: the object kept changing under 5 attempts: %w", k.what, lastConflict)
}

// checkFight records and returns a fight when spec differs from Vane's
// last write, and returns a fight seen before Reset.
func (k *Kubernetes) checkFight(spec int32) error {
	if k.fight != nil {
		return k.fight
	}
	if k.written != nil && *k.written != spec {
		k.fight = fmt.Errorf("%s: %w: spec.replicas is %d but Vane last set %d; another controller "+
			"(an HPA, kubectl scale, a GitOps sync) scales it too, so Vane stops scaling it until the "+
			"autoscaler is resumed", k.what, ErrFight, spec, *k.written)
		return k.fight
	}
	return nil
}

// readScale reads the scale subresource, resolving the kind first.
func (k *Kubernetes) readScale(ctx context.Context) (*unstructured.Unstructured, error) {
	if err := k.resolve(ctx); err != nil {
		return nil, err
	}
	sc, err := k.resource.Get(ctx, k.cfg.Name, metav1.GetOptions{}, "scale")
	if err != nil {
		return nil, k.apiError("get scale", err)
	}
	return sc, nil
}

// resolve finds the resource of the configured kind through discovery and
// checks that it has a scale subresource.
func (k *Kubernetes) resolve(ctx context.Context) error {
	if k.resource != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	list, err := k.disc.ServerResourcesForGroupVersion(k.cfg.APIVersion)
	if apierrors.IsNotFound(err) {
		return Permanent(fmt.Errorf("%s: %w: the API server does not serve %s", k.what, ErrInvalid, k.cfg.APIVersion))
	}
	if err != nil {
		return fmt.Errorf("%s: discovery of %s: %w", k.what, k.cfg.APIVersion, err)
	}
	var name string
	var namespaced bool
	subs := map[string]bool{}
	for _, r := range list.APIResources {
		base, sub, isSub := strings.Cut(r.Name, "/")
		if isSub {
			if sub == "scale" {
				subs[base] = true
			}
			continue
		}
		if r.Kind == k.cfg.Kind {
			name, namespaced = r.Name, r.Namespaced
		}
	}
	switch {
	case name == "":
		return Permanent(fmt.Errorf("%s: %w: %s has no kind %q", k.what, ErrInvalid, k.cfg.APIVersion, k.cfg.Kind))
	case !subs[name]:
		return Permanent(fmt.Errorf("%s: %w: %s (%s) has no scale subresource", k.what, ErrInvalid, name, k.cfg.APIVersion))
	}
	nri := k.dyn.Resource(k.gv.WithResource(name))
	if namespaced {
		k.resource = nri.Namespace(k.cfg.Namespace)
	} else {
		k.resource = nri
	}
	return nil
}

// apiError wraps an API error with the target and maps it to the
// package's sentinels.
func (k *Kubernetes) apiError(op string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: %w (%s %s): %w", k.what, ErrNotFound, op, k.cfg.APIVersion, err)
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return Permanent(fmt.Errorf("%s: %s: Vane's credentials may not do this: %w", k.what, op, err))
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return fmt.Errorf("%s: %s: %w: %w", k.what, op, ErrInvalid, err)
	}
	return fmt.Errorf("%s: %s: %w", k.what, op, err)
}

// scaleReplicas reads spec.replicas and status.replicas of an
// autoscaling/v1 Scale.
func scaleReplicas(sc *unstructured.Unstructured) (spec, status int32, err error) {
	s, _, err := unstructured.NestedInt64(sc.Object, "spec", "replicas")
	if err != nil {
		return 0, 0, fmt.Errorf("scale spec.replicas: %w", err)
	}
	st, _, err := unstructured.NestedInt64(sc.Object, "status", "replicas")
	if err != nil {
		return 0, 0, fmt.Errorf("scale status.replicas: %w", err)
	}
	return int32(s), int32(st), nil
}
