package autoscale

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shortStep is a 12-minute trace: 100 req/s, then 250 req/s from minute 4.
func shortStep() Trace {
	return Trace{Name: "short-step", Points: []Point{{0, 100}, {4 * time.Minute, 100},
		{4*time.Minute + time.Second, 250}, {12 * time.Minute, 250}}}
}

func runShort(t *testing.T, seed uint64, peers ...Peer) map[string]Result {
	t.Helper()
	res, err := Run(context.Background(), Config{Service: DefaultService(), Traces: []Trace{shortStep()}, Peers: peers, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, r := range res {
		out[r.Policy] = r
	}
	return out
}

func TestStaticPeakHoldsTheSLOAndTheOracleCostsLess(t *testing.T) {
	r := runShort(t, 1, Static(), Oracle())
	st, or := r["static-peak"], r["oracle"]
	if st.ViolationMinutes > 0 || st.BudgetSpent > 0.5 {
		t.Errorf("static provisioning for the peak: %d violation minutes, budget %.2f; want none", st.ViolationMinutes, st.BudgetSpent)
	}
	if st.Actions != 0 {
		t.Errorf("static policy acted %d times", st.Actions)
	}
	if !(or.ReplicaHours < st.ReplicaHours) {
		t.Errorf("oracle %.2f replica-hours, static %.2f: the oracle should cost less", or.ReplicaHours, st.ReplicaHours)
	}
	if or.ViolationMinutes > 1 {
		t.Errorf("oracle: %d violation minutes", or.ViolationMinutes)
	}
	// 4 minutes at 100 req/s, 8 at 250.
	if st.Requests < 130_000 || st.Requests > 160_000 {
		t.Errorf("served %v requests, want about 144,000 (4 min at 100, 8 at 250)", st.Requests)
	}
}

func TestTheHPAPortScalesUpAfterAStep(t *testing.T) {
	h := runShort(t, 1, KubernetesHPA())["hpa"]
	before, after := 0, 0
	for _, s := range h.Series {
		switch {
		case s.T < 4*time.Minute:
			before = max(before, s.Replicas)
		case s.T > 8*time.Minute:
			after = max(after, s.Replicas)
		}
	}
	// 250 req/s at 70% of a replica's ~33.6 req/s needs 11.
	if before > 5 || after < 10 {
		t.Fatalf("hpa replicas: %d before the step, %d after; want ≤ 5 then ≥ 10", before, after)
	}
	if h.Actions == 0 {
		t.Fatal("no scaling action")
	}
}

func TestSameSeedSameResult(t *testing.T) {
	a := runShort(t, 7, KnativeKPA(), Vane())
	b := runShort(t, 7, KnativeKPA(), Vane())
	if !reflect.DeepEqual(a["vane"], b["vane"]) || !reflect.DeepEqual(a["knative-kpa"].Series, b["knative-kpa"].Series) {
		t.Fatal("the same seed gave different results")
	}
	c := runShort(t, 8, Vane())
	if reflect.DeepEqual(a["vane"].Series, c["vane"].Series) && a["vane"].Requests == c["vane"].Requests {
		t.Fatal("another seed gave the same run")
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	svc := DefaultService()
	svc.Workers = 0
	if _, err := Run(context.Background(), Config{Service: svc, Traces: []Trace{shortStep()}, Peers: []Peer{Static()}}); err == nil || !strings.Contains(err.Error(), "workers") {
		t.Fatalf("err %v, want one about workers", err)
	}
	bad := Trace{Name: "back", Points: []Point{{time.Minute, 1}, {0, 1}}}
	if _, err := Run(context.Background(), Config{Service: DefaultService(), Traces: []Trace{bad}, Peers: []Peer{Static()}}); err == nil {
		t.Fatal("a trace going back in time was accepted")
	}
}

func TestJudge(t *testing.T) {
	rs := []Result{
		{Policy: "vane", Trace: "sawtooth", ViolationMinutes: 1, ReplicaHours: 10, Reversals: 1},
		{Policy: "hpa", Trace: "sawtooth", ViolationMinutes: 2, ReplicaHours: 10, Reversals: 3},
		{Policy: "keda", Trace: "sawtooth", ViolationMinutes: 1, ReplicaHours: 9},
	}
	v := Judge(rs)
	if len(v) != 1 || v[0].Met || len(v[0].Checks) != 3 || !strings.HasPrefix(v[0].Checks[1], "MISSED: vs keda") {
		t.Fatalf("%+v", v)
	}
	if k := v[0].Keys; len(k) != 3 || k[0] != "vs hpa" || k[1] != "vs keda" || k[2] != "reversals vs hpa" || v[0].Impossible[2] {
		t.Fatalf("keys %v, impossible %v", k, v[0].Impossible)
	}
	rs[2].ReplicaHours = 11
	if v := Judge(rs); !v[0].Met {
		t.Fatalf("%+v", v)
	}
	// Fewer reversals than an HPA with none: no policy can.
	rs[0].Reversals, rs[1].Reversals = 0, 0
	v = Judge(rs)
	if v[0].Met || !v[0].Impossible[2] || !strings.HasSuffix(v[0].Checks[2], "(not possible on this run)") {
		t.Fatalf("%+v", v)
	}
}

func TestSummarize(t *testing.T) {
	seed := func(vaneVio, hpaRev int) []Result {
		return []Result{
			{Policy: "vane", Trace: "sawtooth", ViolationMinutes: vaneVio, ReplicaHours: 10, BudgetSpent: 0.5, Reversals: 1, Actions: 3},
			{Policy: "hpa", Trace: "sawtooth", ViolationMinutes: 2, ReplicaHours: 12, BudgetSpent: 1, Reversals: hpaRev, Actions: 2},
		}
	}
	totals, tallies := Summarize([][]Result{seed(1, 3), seed(3, 0)})
	if len(totals) != 2 || totals[0].Policy != "vane" || totals[0].Seeds != 2 || totals[0].ViolationMinutes != 4 ||
		totals[0].ReplicaHours != 20 || totals[0].BudgetSpent != 0.5 || totals[0].Actions != 6 || totals[0].Reversals != 2 {
		t.Fatalf("totals %+v", totals)
	}
	if totals[1].BudgetSpent != 1 || totals[1].Reversals != 3 {
		t.Fatalf("hpa totals %+v", totals[1])
	}
	// vs hpa: met on the first seed (1 ≤ 2/2, cheaper), missed on the
	// second; reversals: met on the first, not possible on the second.
	want := []Tally{{Trace: "sawtooth", Check: "vs hpa", Seeds: 2, Met: 1}, {Trace: "sawtooth", Check: "reversals vs hpa", Seeds: 2, Met: 1, Impossible: 1}}
	if len(tallies) != 2 || tallies[0] != want[0] || tallies[1] != want[1] {
		t.Fatalf("tallies %+v, want %+v", tallies, want)
	}
	var b strings.Builder
	if err := WriteSummary(&b, totals, tallies); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"vs hpa            1 of 2", "reversals vs hpa  1 of 2  (not possible on 1)", "all: 2 of 4 checks met (1 not possible)"} {
		if !strings.Contains(b.String(), line) {
			t.Fatalf("summary lacks %q:\n%s", line, b.String())
		}
	}
}
