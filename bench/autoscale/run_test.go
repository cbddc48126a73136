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
	rs[2].ReplicaHours = 11
	if v := Judge(rs); !v[0].Met {
		t.Fatalf("%+v", v)
	}
}
