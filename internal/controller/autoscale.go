package controller

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/autoscale/actuator"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/traffic"
)

// autoscaleDeps are what the autoscalers are wired to.
type autoscaleDeps struct {
	cfg      *config.Config
	querier  analysis.Querier
	slos     autoscale.SLOReader
	rollouts *rollout.Manager
	db       autoscale.Store
	reg      prometheus.Registerer
	log      *slog.Logger
	// actuators builds each autoscaler's actuator (actuator.New).
	actuators autoscale.ActuatorFactory
}

// newAutoscalers builds one controller per configured autoscaler. The
// actuators live until actx ends.
func newAutoscalers(actx context.Context, d autoscaleDeps) (*autoscale.Manager, error) {
	metrics := autoscale.NewMetrics(d.reg)
	var ctrls []*autoscale.Controller
	for _, a := range d.cfg.Autoscalers() {
		act, err := d.actuators(actx, a.Spec.Name, a.Actuator)
		if err != nil {
			return nil, err
		}
		o := autoscale.Options{Spec: a.Spec, Actuator: act, Querier: d.querier, SLO: d.slos, Store: d.db, Metrics: metrics,
			Logger: d.log.With("component", "autoscale"), Interval: a.Interval}
		if d.rollouts != nil {
			o.Rollout = rolloutInput(d.rollouts)
		}
		c, err := autoscale.New(o)
		if err != nil {
			return nil, err
		}
		ctrls = append(ctrls, c)
	}
	return autoscale.NewManager(ctrls...)
}

// rolloutInput reports a service's canary to its autoscaler.
func rolloutInput(m *rollout.Manager) autoscale.RolloutFunc {
	return func(service string) *autoscale.RolloutInput {
		st, err := m.Get(service)
		if err != nil {
			return nil
		}
		c, ok := st.CanaryLoad()
		if !ok {
			return nil
		}
		return &autoscale.RolloutInput{CanaryWeight: c.Weight, NextWeight: c.NextWeight, NextStepAt: c.NextStepAt,
			Analyzing: c.Analyzing, CanaryCleared: c.Cleared}
	}
}

// actuatorFactory builds the autoscalers' actuators; a local one publishes
// its replicas as the service's stable endpoints through the xDS server,
// once the rollout manager has published the configured services.
func actuatorFactory(cfg *config.Config, router traffic.Router, mgr *rollout.Manager, reg prometheus.Registerer, log *slog.Logger) autoscale.ActuatorFactory {
	f := actuator.Factory{
		Metrics: actuator.NewMetrics(reg),
		Logger:  log.With("component", "actuator"),
		Router:  router,
		Service: func(name string) (traffic.Service, bool) {
			for _, sc := range cfg.ServiceConfigs() {
				if sc.Service.Name == name {
					return sc.Service, true
				}
			}
			return traffic.Service{}, false
		},
		BeforeLocal: func(ctx context.Context) error {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for !mgr.Ready() {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-t.C:
				}
			}
			return nil
		},
	}
	return f.New
}
