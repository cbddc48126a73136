package actuator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/traffic"
)

// Factory builds the actuators vane.yaml names; its New is an
// autoscale.ActuatorFactory. Every actuator it builds is wrapped in
// Retrying (a few quick retries of transient failures, none of permanent
// ones; the controller retries SetScale with its own backoff and reads
// the count back itself).
type Factory struct {
	// Metrics receives the actuators' attempts, retries and durations;
	// nil counts nothing.
	Metrics *Metrics
	// Logger; nil discards.
	Logger *slog.Logger
	// Router publishes a local actuator's replicas (Vane's xDS server);
	// required for kind local.
	Router traffic.Router
	// Service returns the routed service an autoscaler is named after;
	// required for kind local.
	Service func(name string) (traffic.Service, bool)
	// BeforeLocal, when set, is called before a local actuator publishes
	// its first replicas (e.g. to wait until the rollout manager has
	// published the configured services, so that it does not overwrite
	// the replicas' endpoints).
	BeforeLocal func(ctx context.Context) error
	// OnLocalChange, when set, is called with a local actuator's published
	// replicas after every change.
	OnLocalChange func(name string, published []Replica)
}

// New builds the actuator that spec names for the autoscaler name (an
// autoscale.ActuatorFactory). A local actuator's replicas run until ctx
// ends.
func (f Factory) New(ctx context.Context, name string, spec autoscale.ActuatorSpec) (autoscale.Actuator, error) {
	a, err := f.build(ctx, name, spec)
	if err != nil {
		return nil, fmt.Errorf("autoscaler %q: actuator %s: %w", name, spec.Kind, err)
	}
	return Retrying(a, RetryOptions{Name: name, Attempts: 3, Initial: 200 * time.Millisecond, Max: 2 * time.Second,
		NoConfirm: true, Metrics: f.Metrics, Logger: f.Logger}), nil
}

func (f Factory) build(ctx context.Context, name string, spec autoscale.ActuatorSpec) (autoscale.Actuator, error) {
	switch spec.Kind {
	case autoscale.KindKubernetes:
		if spec.Kubernetes == nil {
			return nil, fmt.Errorf("%w: settings missing", ErrInvalid)
		}
		k := spec.Kubernetes
		return NewKubernetes(KubernetesConfig{APIVersion: k.APIVersion, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name,
			Kubeconfig: k.Kubeconfig, Context: k.Context})
	case autoscale.KindExec:
		if spec.Exec == nil {
			return nil, fmt.Errorf("%w: settings missing", ErrInvalid)
		}
		return NewExec(execConfig(*spec.Exec))
	case autoscale.KindWebhook:
		if spec.Webhook == nil {
			return nil, fmt.Errorf("%w: settings missing", ErrInvalid)
		}
		return NewHTTP(httpConfig(*spec.Webhook))
	case autoscale.KindLocal:
		l := spec.Local
		if l == nil {
			return nil, fmt.Errorf("%w: settings missing", ErrInvalid)
		}
		if f.Router == nil || f.Service == nil {
			return nil, fmt.Errorf("%w: local replicas need Vane's xDS server (not available here)", ErrInvalid)
		}
		if f.BeforeLocal != nil {
			if err := f.BeforeLocal(ctx); err != nil {
				return nil, err
			}
		}
		svc, ok := f.Service(name)
		if !ok {
			return nil, fmt.Errorf("%w: no routed service %q to publish the replicas of", ErrInvalid, name)
		}
		svc.Stable.Version = l.Version
		log := f.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		cfg := LocalConfig{Service: svc, Router: f.Router, Start: SampleApp(l.Version, l.Listen, l.RatePerReplica, 0, log),
			StartupDelay: l.StartupDelay, Logger: log}
		if f.OnLocalChange != nil {
			cfg.OnChange = func(rs []Replica) { f.OnLocalChange(name, rs) }
		}
		loc, err := NewLocal(ctx, cfg)
		if err != nil {
			return nil, err
		}
		go func() {
			<-ctx.Done()
			_ = loc.Close()
		}()
		return loc, nil
	}
	return nil, fmt.Errorf("%w: kind %q is not one of kubernetes, exec, webhook, local", ErrInvalid, spec.Kind)
}

// New builds the actuators that need nothing but their spec (kubernetes,
// exec, webhook); it is Factory{}.New.
func New(ctx context.Context, name string, spec autoscale.ActuatorSpec) (autoscale.Actuator, error) {
	return Factory{}.New(ctx, name, spec)
}
