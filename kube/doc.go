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
// LeaseElector elects one leader among replicas with a coordination.k8s.io
// Lease (client-go's tools/leaderelection with a resourcelock.LeaseLock),
// the same contract as package ha's etcd Elector: Run calls lead once this
// replica leads and ends its context when the Lease could not be renewed
// within RenewDeadline, which is shorter than the LeaseDuration followers
// wait, so a deposed leader stops acting before another starts.
//
// A Board carries the replicas' presence records (package ha's Transport)
// in ConfigMaps, one per replica, renewed every TTL/3 and followed with an
// informer, for replicas that share their state through the Kubernetes API
// (store.kind kubernetes) instead of etcd. StorePermissions lists the RBAC
// verbs that mode needs, and CheckPermissions names any that is missing.
//
// kube must not import rollout, xds, store or cmd: it knows traffic.Router
// only.
package kube
