package autoscale

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// DefaultPeers are the policies of `vane bench autoscale`, side by side.
func DefaultPeers() []Peer {
	return []Peer{Vane(), KubernetesHPA(), KEDAPrometheus(), KnativeKPA(), Static(), Oracle()}
}

// DefaultBaseRPS is the built-in traces' base load.
const DefaultBaseRPS = 100

// WriteTable prints one row per trace and policy.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "trace\tpolicy\tviolation min\tbudget spent\treplica-hours\tactions\treversals\t")
	last := ""
	for _, r := range results {
		if last != "" && r.Trace != last {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
		}
		last = r.Trace
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t%d\t%d\t\n", r.Trace, r.Policy, r.ViolationMinutes, r.BudgetSpent, r.ReplicaHours, r.Actions, r.Reversals)
	}
	return tw.Flush()
}

// Verdict is whether Vane met the benchmark's targets on one trace.
type Verdict struct {
	Trace string `json:"trace"`
	// Met is true when every check passed; Checks says each one.
	Met    bool     `json:"met"`
	Checks []string `json:"checks"`
}

// Judge checks the targets on every trace: Vane has at most half the
// HPA's violation minutes at no more than its replica-hours, or the same
// violation minutes at 20% fewer replica-hours; no more violation minutes
// and no more replica-hours than KEDA and KPA; and, on the sawtooth, fewer
// reversals than the HPA. Traces without a vane and an hpa row are
// skipped.
func Judge(results []Result) []Verdict {
	by := map[string]map[string]Result{}
	var order []string
	for _, r := range results {
		if by[r.Trace] == nil {
			by[r.Trace] = map[string]Result{}
			order = append(order, r.Trace)
		}
		by[r.Trace][r.Policy] = r
	}
	var out []Verdict
	for _, t := range order {
		rs := by[t]
		v, ok1 := rs["vane"]
		h, ok2 := rs["hpa"]
		if !ok1 || !ok2 {
			continue
		}
		vd := Verdict{Trace: t, Met: true}
		check := func(ok bool, format string, a ...any) {
			mark := "ok"
			if !ok {
				mark = "MISSED"
				vd.Met = false
			}
			vd.Checks = append(vd.Checks, mark+": "+fmt.Sprintf(format, a...))
		}
		half := 2*v.ViolationMinutes <= h.ViolationMinutes && v.ReplicaHours <= h.ReplicaHours
		cheaper := v.ViolationMinutes <= h.ViolationMinutes && v.ReplicaHours <= 0.8*h.ReplicaHours
		check(half || cheaper, "vs hpa: %d vs %d violation minutes, %.2f vs %.2f replica-hours", v.ViolationMinutes, h.ViolationMinutes, v.ReplicaHours, h.ReplicaHours)
		for _, peer := range []string{"keda", "knative-kpa"} {
			if p, ok := rs[peer]; ok {
				check(v.ViolationMinutes <= p.ViolationMinutes && v.ReplicaHours <= p.ReplicaHours,
					"vs %s: %d vs %d violation minutes, %.2f vs %.2f replica-hours", peer, v.ViolationMinutes, p.ViolationMinutes, v.ReplicaHours, p.ReplicaHours)
			}
		}
		if t == "sawtooth" {
			check(v.Reversals < h.Reversals, "sawtooth reversals vs hpa: %d vs %d", v.Reversals, h.Reversals)
		}
		out = append(out, vd)
	}
	return out
}
