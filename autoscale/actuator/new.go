package actuator

import (
	"context"
	"fmt"

	"github.com/vaneproj/vane/autoscale"
)

// New builds the actuator that spec names (an autoscale.ActuatorFactory).
// Kinds without an implementation in this build are an error naming them.
func New(ctx context.Context, name string, spec autoscale.ActuatorSpec) (autoscale.Actuator, error) {
	switch spec.Kind {
	case autoscale.KindExec:
		if spec.Exec == nil {
			return nil, fmt.Errorf("autoscaler %q: actuator exec: settings missing", name)
		}
		return NewExec(*spec.Exec)
	}
	return nil, fmt.Errorf("autoscaler %q: actuator kind %q is not available in this build", name, spec.Kind)
}
