package autoscale

import "context"

// Scale is a scale target's replica count as its actuator reads it.
type Scale struct {
	// Desired is the replica count the target is asked to run.
	Desired int32
	// Ready is the number of replicas ready to serve.
	Ready int32
}

// Actuator reads and changes the replica count of one scale target.
type Actuator interface {
	GetScale(ctx context.Context) (Scale, error)
	SetScale(ctx context.Context, replicas int32) error
}
