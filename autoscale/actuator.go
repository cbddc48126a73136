package autoscale

import "context"

// Scale is a scale target's replica counts, as its actuator reads them.
type Scale struct {
	// Desired is the count the target is asked to run (spec.replicas).
	Desired int32 `json:"desired"`
	// Ready is the count that serves.
	Ready int32 `json:"ready"`
}

// Actuator reads and sets a scale target's replica count (a Kubernetes
// scale subresource, a command, a webhook, local processes). Package
// autoscale/actuator holds the implementations.
//
// Implementations are safe for concurrent use. GetScale returns the
// target's current counts or an error wrapping the cause (an unreachable
// target, one that does not exist); SetScale asks for replicas and returns
// once the request is accepted, not when the replicas are ready: the
// controller reads the count back with GetScale and never assumes a count
// it could not confirm. Both honour ctx's deadline.
type Actuator interface {
	GetScale(ctx context.Context) (Scale, error)
	SetScale(ctx context.Context, replicas int32) error
}

// SplitActuator is implemented by actuators that size a service's stable
// and canary versions separately; during a canary the controller then
// sets each version's count instead of the total.
type SplitActuator interface {
	Actuator
	SetSplit(ctx context.Context, stable, canary int32) error
}
