package main

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/rollout"
)

// namedAutoscalers lists autoscalers by name and has no other behaviour.
type namedAutoscalers []string

func (l namedAutoscalers) List() []autoscale.Status {
	var out []autoscale.Status
	for _, n := range l {
		out = append(out, autoscale.Status{Name: n})
	}
	return out
}
func (namedAutoscalers) Get(string) (autoscale.Status, error) {
	return autoscale.Status{}, errors.New("unused")
}
func (namedAutoscalers) Pause(string, string) error { return errors.New("unused") }
func (namedAutoscalers) Resume(string) error        { return errors.New("unused") }

// TestCompletionOffersServiceNames runs the shell completion as a shell
// does (`vane __complete …`) against the real API: service names, also of
// services that never had a rollout, and for autoscale only the autoscaled
// ones.
func TestCompletionOffersServiceNames(t *testing.T) {
	plan := rollout.Plan{Steps: []rollout.PlanStep{rollout.WeightStep(10), rollout.PauseFor(0)}}
	m, _ := startRolloutAPI(t, t.TempDir(), plan, "", httptest.NewServer)
	complete := func(autoscalers []string, args ...string) string {
		t.Helper()
		s, err := api.New(api.Options{Rollouts: m, Autoscalers: namedAutoscalers(autoscalers)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		out, err := runCLI(append(append([]string{"__complete"}, args[:len(args)-1]...), "--server", srv.URL, args[len(args)-1])...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	for _, cmd := range [][]string{{"rollout", "start"}, {"rollout", "status"}} {
		out := complete(nil, append(cmd, "")...)
		if !strings.Contains("\n"+out, "\ncheckout\tv1, no rollout yet\n") || !strings.Contains(out, ":4\n") {
			t.Errorf("%v: got %q, want checkout with its description and no file completion", cmd, out)
		}
		if out := complete(nil, append(cmd, "ca")...); strings.Contains(out, "checkout") {
			t.Errorf("%v ca: got %q, want no name", cmd, out)
		}
	}
	if out := complete(nil, "autoscale", "status", ""); strings.Contains(out, "checkout") {
		t.Errorf("autoscale status without autoscalers: got %q", out)
	}
	for _, cmd := range []string{"status", "pause", "resume"} {
		if out := complete([]string{"checkout"}, "autoscale", cmd, "ch"); !strings.HasPrefix(out, "checkout\tv1, no rollout yet, autoscaled\n") {
			t.Errorf("autoscale %s: got %q", cmd, out)
		}
	}
	if _, err := m.Start(t.Context(), rollout.StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"127.0.0.1:9002"}}); err != nil {
		t.Fatal(err)
	}
	if out := complete(nil, "rollout", "status", ""); !strings.HasPrefix(out, "checkout\tv1 → v2, ") {
		t.Errorf("during a rollout: got %q", out)
	}
}
