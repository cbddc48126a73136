// Package actuator holds the autoscaler's actuators: the adapters that read
// and change a scale target's replica count, each implementing
// autoscale.Actuator (GetScale, SetScale).
//
//   - Kubernetes scales a Deployment, a StatefulSet or any resource with a
//     scale subresource through client-go's dynamic client, and detects a
//     fight: when someone else (an HPA, `kubectl scale`, a GitOps sync)
//     changed spec.replicas since Vane's last write, every call fails with
//     an error wrapping ErrFight until Reset.
//   - Exec runs a command given the desired count and reads the count back
//     with a second command (or from the first one's output).
//   - HTTP posts the desired count to a webhook and reads it back with GET.
//   - Local runs the replicas itself (the demo runs the sample service this
//     way) and publishes their addresses as the service's endpoints over
//     xDS through a traffic.Router, so proxyless gRPC clients spread their
//     calls over them; a removed replica is drained before it stops.
//
// Retrying wraps any actuator: transient failures are retried with
// exponential backoff and jitter, permanent ones (ErrFight, ErrNotFound,
// bad input) are returned at once, and a SetScale only succeeds once a
// GetScale reads the new count back, so the controller never assumes a
// scale it could not confirm.
//
// Factory.New (and New, for the kinds that need nothing else) is the
// autoscale.ActuatorFactory the controller's wiring uses: it builds the
// actuator a vane.yaml autoscaler names.
//
// actuator imports autoscale, traffic, demo/sampleapp (the replicas a
// local actuator runs) and the SDKs of its targets; autoscale must not
// import it, and it must not import rollout, api, xds or demo.
//
// Usage:
//
//	k, err := actuator.NewKubernetes(actuator.KubernetesConfig{
//		APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "checkout",
//	})
//	if err != nil { ... }
//	a := actuator.Retrying(k, actuator.RetryOptions{Name: "checkout", Metrics: actuator.NewMetrics(reg)})
//	scale, err := a.GetScale(ctx)
//	err = a.SetScale(ctx, scale.Desired+1)
package actuator
