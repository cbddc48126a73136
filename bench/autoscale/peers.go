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
// for: the peers' target, so that it is the lower bound of what that
// target costs when every replica is asked for exactly one start-up delay
// before the load needs it and released as soon as it does not.
const OracleUtilization = TargetUtilization

// Oracle is the clairvoyant lower bound: it knows the trace, and at every
// moment asks for what the highest load of the coming start-up delay
// (the 99.9th percentile of the start-up distribution, plus a scrape
// interval) needs at OracleUtilization, so that replicas are ready when
// the load arrives and leave as soon as it is gone.
func Oracle() Peer {
	return Peer{Name: "oracle", New: func(env Env) (Policy, error) {
		s := env.Service
		ahead := time.Duration(float64(s.StartupMedian)*expNorm999(s.StartupSigma)) + 15*time.Second
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

// expNorm999 is exp(3.09σ): the 99.9th percentile of a log-normal over
// its median.
func expNorm999(sigma float64) float64 {
	const z999 = 3.090232306167813
	return math.Exp(z999 * sigma)
}
