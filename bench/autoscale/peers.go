package autoscale

import (
	"math"
	"time"
)

// Static provisions for the trace's peak at the target utilization and
// never changes: the cost of not autoscaling.
func Static() Peer {
	count := func(env Env) int {
		return min(env.Max, replicasFor(env.Service, env.Trace.Peak(0, env.Trace.Duration()), TargetUtilization))
	}
	return Peer{Name: "static-peak",
		New:     func(env Env) (Policy, error) { return staticPolicy(count(env)), nil },
		Initial: count}
}

type staticPolicy int

func (s staticPolicy) Period() time.Duration  { return 15 * time.Second }
func (s staticPolicy) Decide(Observation) int { return int(s) }

// OracleUtilization is the utilization the clairvoyant oracle provisions
// for. It is higher than the peers' target because the oracle needs no
// headroom for what it cannot see coming: it knows the load ahead.
const OracleUtilization = 0.8

// Oracle is the clairvoyant lower bound: it knows the trace, and at every
// moment asks for what the highest load of the coming start-up delay
// (the 99th percentile of the start-up distribution, plus a scrape
// interval) needs at OracleUtilization, so that replicas are ready when
// the load arrives and leave as soon as it is gone.
func Oracle() Peer {
	return Peer{Name: "oracle", New: func(env Env) (Policy, error) {
		s := env.Service
		ahead := time.Duration(float64(s.StartupMedian)*expNorm99(s.StartupSigma)) + 15*time.Second
		return &oraclePolicy{env: env, ahead: ahead}, nil
	}, Initial: func(env Env) int {
		return replicasFor(env.Service, env.Trace.Peak(0, time.Minute), OracleUtilization)
	}}
}

type oraclePolicy struct {
	env   Env
	ahead time.Duration
}

func (o *oraclePolicy) Period() time.Duration { return 5 * time.Second }

func (o *oraclePolicy) Decide(obs Observation) int {
	at := obs.Now.Sub(o.env.Start)
	peak := o.env.Trace.Peak(at, at+o.ahead)
	return min(o.env.Max, replicasFor(o.env.Service, peak, OracleUtilization))
}

// expNorm99 is exp(2.326σ): the 99th percentile of a log-normal over its
// median.
func expNorm99(sigma float64) float64 {
	const z99 = 2.3263478740408408
	return math.Exp(z99 * sigma)
}
