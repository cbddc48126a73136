package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Selector names the endpoints of one routed service in Kubernetes.
type Selector struct {
	// Namespace of the Service and its Pods.
	Namespace string
	// Service is the Kubernetes Service whose EndpointSlices are followed
	// (label kubernetes.io/service-name).
	Service string
	// VersionLabel is the Pod label whose value is the version (stable or
	// canary) an endpoint belongs to.
	VersionLabel string
	// PortName picks the EndpointSlice port by name; empty takes the
	// slice's only port (a slice with several ports then serves nothing
	// and is reported).
	PortName string
}

// Watcher follows the ready endpoints of a Selector.
type Watcher struct {
	sel     Selector
	client  kubernetes.Interface
	log     *slog.Logger
	slices  cache.SharedIndexInformer
	pods    cache.SharedIndexInformer
	changed chan struct{}
}

// NewWatcher returns a Watcher of sel; Run starts it. log may be nil.
func NewWatcher(client kubernetes.Interface, sel Selector, log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("namespace", sel.Namespace, "kubernetes_service", sel.Service)
	w := &Watcher{sel: sel, client: client, log: log, changed: make(chan struct{}, 1)}
	sliceSel := discoveryv1.LabelServiceName + "=" + sel.Service
	w.slices = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(sel.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sliceSel })).
		Discovery().V1().EndpointSlices().Informer()
	w.pods = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(sel.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel.VersionLabel })).
		Core().V1().Pods().Informer()
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.notify() },
		UpdateFunc: func(any, any) { w.notify() },
		DeleteFunc: func(any) { w.notify() },
	}
	for _, inf := range []cache.SharedIndexInformer{w.slices, w.pods} {
		_, _ = inf.AddEventHandler(h)
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			log.Error("Kubernetes watch failed", "err", err)
		})
	}
	return w
}

func (w *Watcher) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Changed receives a value after the endpoints may have changed (it
// coalesces bursts).
func (w *Watcher) Changed() <-chan struct{} { return w.changed }

// Permissions are the RBAC verbs a Watcher needs in its namespace.
var Permissions = []Permission{
	{Group: "discovery.k8s.io", Resource: "endpointslices", Verb: "list"},
	{Group: "discovery.k8s.io", Resource: "endpointslices", Verb: "watch"},
	{Group: "", Resource: "pods", Verb: "list"},
	{Group: "", Resource: "pods", Verb: "watch"},
}

// Permission is one RBAC verb on one resource.
type Permission struct {
	Group, Resource, Verb string
}

// ErrForbidden is wrapped by the error of a Watcher that lacks a
// permission.
var ErrForbidden = errors.New("permission missing")

// CheckAccess asks the API server whether the client may do everything
// in Permissions in the namespace; the error names each missing permission.
func CheckAccess(ctx context.Context, client kubernetes.Interface, namespace string) error {
	return CheckPermissions(ctx, client, namespace, Permissions)
}

// CheckPermissions asks the API server (SelfSubjectAccessReview) whether
// the client may do each of perms in the namespace; the error names each
// missing permission and wraps ErrForbidden.
func CheckPermissions(ctx context.Context, client kubernetes.Interface, namespace string, perms []Permission) error {
	var errs []error
	for _, p := range perms {
		r, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource}}}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("kube: checking permission %s: %w", p.describe(namespace), err)
		}
		if !r.Status.Allowed {
			why := ""
			if r.Status.Reason != "" {
				why = " (" + r.Status.Reason + ")"
			}
			errs = append(errs, fmt.Errorf("%w: RBAC does not allow %s%s", ErrForbidden, p.describe(namespace), why))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	return nil
}

func (p Permission) describe(namespace string) string {
	g := p.Group
	if g == "" {
		g = "core"
	}
	return fmt.Sprintf("verb %q on %s (apiGroup %s) in namespace %q", p.Verb, p.Resource, g, namespace)
}

// Run checks access, starts the informers and waits, at most syncTimeout
// (0: as long as ctx lasts), until their caches are filled, then returns;
// the informers run until ctx ends.
func (w *Watcher) Run(ctx context.Context, syncTimeout time.Duration) error {
	sctx, cancel := ctx, context.CancelFunc(func() {})
	if syncTimeout > 0 {
		sctx, cancel = context.WithTimeout(ctx, syncTimeout)
	}
	defer cancel()
	if err := CheckAccess(sctx, w.client, w.sel.Namespace); err != nil {
		return err
	}
	go w.slices.RunWithContext(ctx)
	go w.pods.RunWithContext(ctx)
	if !cache.WaitForCacheSync(sctx.Done(), w.slices.HasSynced, w.pods.HasSynced) {
		return fmt.Errorf("kube: EndpointSlices of %s/%s: caches not synced: %w", w.sel.Namespace, w.sel.Service, sctx.Err())
	}
	w.log.Info("Following Kubernetes endpoints", "version_label", w.sel.VersionLabel)
	return nil
}

// Endpoints returns the ready endpoints ("ip:port", sorted) of the Pods
// whose version label is version.
func (w *Watcher) Endpoints(version string) []string {
	if version == "" {
		return nil
	}
	pods := map[string]string{}
	for _, o := range w.pods.GetStore().List() {
		p, ok := o.(*corev1.Pod)
		if !ok {
			continue
		}
		pods[p.Name] = p.Labels[w.sel.VersionLabel]
	}
	var out []string
	for _, o := range w.slices.GetStore().List() {
		s, ok := o.(*discoveryv1.EndpointSlice)
		if !ok {
			continue
		}
		out = append(out, sliceEndpoints(s, w.sel.PortName, func(pod string) string { return pods[pod] }, version)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// sliceEndpoints returns the ready endpoints of s whose Pod's version is
// version.
func sliceEndpoints(s *discoveryv1.EndpointSlice, portName string, versionOf func(pod string) string, version string) []string {
	if s.AddressType == discoveryv1.AddressTypeFQDN {
		return nil
	}
	port := int32(0)
	for _, p := range s.Ports {
		if p.Port == nil {
			continue
		}
		if portName == "" && len(s.Ports) == 1 || p.Name != nil && *p.Name == portName {
			port = *p.Port
		}
	}
	if port == 0 {
		return nil
	}
	var out []string
	for _, e := range s.Endpoints {
		if e.Conditions.Ready != nil && !*e.Conditions.Ready {
			continue
		}
		if e.TargetRef == nil || e.TargetRef.Kind != "Pod" || versionOf(e.TargetRef.Name) != version {
			continue
		}
		for _, a := range e.Addresses {
			out = append(out, net.JoinHostPort(a, strconv.Itoa(int(port))))
		}
	}
	return out
}
