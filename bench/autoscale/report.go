package autoscale

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Totals is one policy's results on one trace over several seeds: sums,
// and the budget spent as a mean.
type Totals struct {
	Policy           string  `json:"policy"`
	Trace            string  `json:"trace"`
	Seeds            int     `json:"seeds"`
	ViolationMinutes int     `json:"violation_minutes"`
	BudgetSpent      float64 `json:"budget_spent"`
	ReplicaHours     float64 `json:"replica_hours"`
	Actions          int     `json:"actions"`
	Reversals        int     `json:"reversals"`
}

// Tally is how often one target check was met over several seeds, and on
// how many of them no policy could meet it.
type Tally struct {
	Trace      string `json:"trace"`
	Check      string `json:"check"`
	Seeds      int    `json:"seeds"`
	Met        int    `json:"met"`
	Impossible int    `json:"impossible"`
}

// Summarize sums each policy's results per trace over the runs of
// several seeds (one []Result per seed, as Run returns them) and tallies
// Judge's checks.
func Summarize(runs [][]Result) ([]Totals, []Tally) {
	var totals []Totals
	ti := map[[2]string]int{}
	var tallies []Tally
	ci := map[[2]string]int{}
	for _, res := range runs {
		for _, r := range res {
			k := [2]string{r.Trace, r.Policy}
			i, ok := ti[k]
			if !ok {
				i = len(totals)
				ti[k] = i
				totals = append(totals, Totals{Policy: r.Policy, Trace: r.Trace})
			}
			t := &totals[i]
			t.Seeds++
			t.ViolationMinutes += r.ViolationMinutes
			t.BudgetSpent += (r.BudgetSpent - t.BudgetSpent) / float64(t.Seeds)
			t.ReplicaHours += r.ReplicaHours
			t.Actions += r.Actions
			t.Reversals += r.Reversals
		}
		for _, v := range Judge(res) {
			for j, key := range v.Keys {
				k := [2]string{v.Trace, key}
				i, ok := ci[k]
				if !ok {
					i = len(tallies)
					ci[k] = i
					tallies = append(tallies, Tally{Trace: v.Trace, Check: key})
				}
				t := &tallies[i]
				t.Seeds++
				if strings.HasPrefix(v.Checks[j], "ok:") {
					t.Met++
				} else if v.Impossible[j] {
					t.Impossible++
				}
			}
		}
	}
	return totals, tallies
}

// WriteSummary prints the totals per trace and policy, then the checks
// met per trace.
func WriteSummary(w io.Writer, totals []Totals, tallies []Tally) error {
	err := writeByTrace(w, "trace\tpolicy\tseeds\tviolation min\tmean budget spent\treplica-hours\tactions\treversals\t", len(totals),
		func(i int) string { return totals[i].Trace },
		func(i int) string {
			t := totals[i]
			return fmt.Sprintf("%s\t%s\t%d\t%d\t%.2f\t%.2f\t%d\t%d\t", t.Trace, t.Policy, t.Seeds, t.ViolationMinutes, t.BudgetSpent, t.ReplicaHours, t.Actions, t.Reversals)
		})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\ntargets met (vane against the peers), of the seeds run:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	met, all, impossible := 0, 0, 0
	for _, t := range tallies {
		note := ""
		if t.Impossible > 0 {
			note = fmt.Sprintf("(not possible on %d)", t.Impossible)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d of %d\t%s\n", t.Trace, t.Check, t.Met, t.Seeds, note)
		met += t.Met
		all += t.Seeds
		impossible += t.Impossible
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "  all: %d of %d checks met (%d not possible)\n", met, all, impossible)
	return err
}

// DefaultPeers are the policies of `vane bench autoscale`, side by side.
func DefaultPeers() []Peer {
	return []Peer{Vane(), KubernetesHPA(), KEDAPrometheus(), KnativeKPA(), Static(), Oracle()}
}

// DefaultBaseRPS is the built-in traces' base load.
const DefaultBaseRPS = 100

// WriteTable prints one row per trace and policy.
func WriteTable(w io.Writer, results []Result) error {
	return writeByTrace(w, "trace\tpolicy\tviolation min\tbudget spent\treplica-hours\tactions\treversals\t", len(results),
		func(i int) string { return results[i].Trace },
		func(i int) string {
			r := results[i]
			return fmt.Sprintf("%s\t%s\t%d\t%.2f\t%.2f\t%d\t%d\t", r.Trace, r.Policy, r.ViolationMinutes, r.BudgetSpent, r.ReplicaHours, r.Actions, r.Reversals)
		})
}

// writeByTrace prints a right-aligned table of n rows (tab-separated
// cells, each row ending in a tab) under header, with an empty row
// between traces.
func writeByTrace(w io.Writer, header string, n int, trace, row func(int) string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, header)
	empty := strings.Repeat("\t", strings.Count(header, "\t"))
	for i := range n {
		if i > 0 && trace(i) != trace(i-1) {
			fmt.Fprintln(tw, empty)
		}
		fmt.Fprintln(tw, row(i))
	}
	return tw.Flush()
}

// Verdict is whether Vane met the benchmark's targets on one trace.
type Verdict struct {
	Trace string `json:"trace"`
	// Met is true when every check passed; Checks says each one.
	Met    bool     `json:"met"`
	Checks []string `json:"checks"`
	// Keys name the checks, in Checks' order ("vs hpa", "vs keda",
	// "vs knative-kpa", "reversals vs hpa"); Impossible marks a check no
	// policy can meet on this run (fewer reversals than none).
	Keys       []string `json:"keys"`
	Impossible []bool   `json:"impossible"`
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
		check := func(key string, ok, impossible bool, format string, a ...any) {
			mark := "ok"
			if !ok {
				mark = "MISSED"
				vd.Met = false
			}
			text := mark + ": " + fmt.Sprintf(format, a...)
			if impossible {
				text += " (not possible on this run)"
			}
			vd.Checks = append(vd.Checks, text)
			vd.Keys = append(vd.Keys, key)
			vd.Impossible = append(vd.Impossible, impossible)
		}
		half := 2*v.ViolationMinutes <= h.ViolationMinutes && v.ReplicaHours <= h.ReplicaHours
		cheaper := v.ViolationMinutes <= h.ViolationMinutes && v.ReplicaHours <= 0.8*h.ReplicaHours
		check("vs hpa", half || cheaper, false, "vs hpa: %d vs %d violation minutes, %.2f vs %.2f replica-hours", v.ViolationMinutes, h.ViolationMinutes, v.ReplicaHours, h.ReplicaHours)
		for _, peer := range []string{"keda", "knative-kpa"} {
			if p, ok := rs[peer]; ok {
				check("vs "+peer, v.ViolationMinutes <= p.ViolationMinutes && v.ReplicaHours <= p.ReplicaHours, false,
					"vs %s: %d vs %d violation minutes, %.2f vs %.2f replica-hours", peer, v.ViolationMinutes, p.ViolationMinutes, v.ReplicaHours, p.ReplicaHours)
			}
		}
		if t == "sawtooth" {
			check("reversals vs hpa", v.Reversals < h.Reversals, h.Reversals == 0, "sawtooth reversals vs hpa: %d vs %d", v.Reversals, h.Reversals)
		}
		out = append(out, vd)
	}
	return out
}
