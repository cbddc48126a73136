// Package kube takes a routed service's endpoints from Kubernetes instead
// of static lists. A Watcher follows, with client-go informers, the
// EndpointSlices of one Kubernetes Service and the Pods they point at, and
// groups the ready endpoints by the value of a version label on the Pods.
// A Router wraps a traffic.Router: it fills a service's stable and canary
// endpoints from its Watcher on every Apply, and re-applies the last
// routing when the endpoints change, so that proxies get the new
// ClusterLoadAssignment over EDS.
//
// Only endpoints whose Ready condition is true (or unset, which the API
// defines as ready) and whose targetRef is a Pod carrying the version label
// are served. Before it watches, a Watcher asks the API server
// (SelfSubjectAccessReview) whether it may list and watch EndpointSlices
// and Pods, and names the missing permission if not.
//
// kube must not import rollout, xds, store or cmd: it knows traffic.Router
// only.
package kube
