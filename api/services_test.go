package api

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/rollout"
)

// listedAutoscalers lists autoscalers by name and has no other behaviour.
type listedAutoscalers []string

func (l listedAutoscalers) List() []autoscale.Status {
	var out []autoscale.Status
	for _, n := range l {
		out = append(out, autoscale.Status{Name: n})
	}
	return out
}
func (listedAutoscalers) Get(string) (autoscale.Status, error) {
	return autoscale.Status{}, errors.New("unused")
}
func (listedAutoscalers) Pause(string, string) error { return errors.New("unused") }
func (listedAutoscalers) Resume(string) error        { return errors.New("unused") }

func TestServicesListsTheConfiguredServicesAsServed(t *testing.T) {
	e := newEnvWith(t, "", func(o *Options) { o.Autoscalers = listedAutoscalers{"checkout"} })
	get := func() []Service {
		t.Helper()
		a := e.do("GET", "/api/v1/services", "", "")
		var l ServiceList
		if err := json.Unmarshal([]byte(a.body), &l); err != nil || a.code != 200 {
			t.Fatalf("GET /api/v1/services: %d %s %v", a.code, a.body, err)
		}
		return l.Services
	}
	want := Service{Name: "checkout", Protocol: "http", Stable: "v1", Autoscaler: true}
	if got := get(); len(got) != 1 || got[0] != want {
		t.Fatalf("before any rollout: %+v, want [%+v]", got, want)
	}
	if a := e.do("POST", "/api/v1/rollouts", "", startBody); a.code != 201 {
		t.Fatalf("start: %d %s", a.code, a.body)
	}
	waitFor(t, func() bool { st, _ := e.m.Get("checkout"); return st.Phase == rollout.Paused })
	want.Canary, want.Phase = "v2", rollout.Paused
	if got := get(); len(got) != 1 || got[0] != want {
		t.Fatalf("during the rollout: %+v, want [%+v]", got, want)
	}
	if a := e.do("POST", "/api/v1/rollouts/checkout/resume", "", ""); a.code != 200 {
		t.Fatalf("resume: %d %s", a.code, a.body)
	}
	waitFor(t, func() bool { st, _ := e.m.Get("checkout"); return st.Phase == rollout.Succeeded })
	want.Stable, want.Canary, want.Phase = "v2", "", rollout.Succeeded
	if got := get(); len(got) != 1 || got[0] != want {
		t.Fatalf("after the promotion: %+v, want [%+v]", got, want)
	}
	if a := e.do("DELETE", "/api/v1/services", "", ""); a.code != 404 || a.err.Code != "not_found" {
		t.Fatalf("DELETE /api/v1/services: %d %s, want a JSON 404", a.code, a.body)
	}
}

func TestServicesIsEmptyWithoutAServiceLister(t *testing.T) {
	e := newEnvWith(t, "", func(o *Options) { o.Rollouts = onlyRollouts{o.Rollouts} })
	a := e.do("GET", "/api/v1/services", "", "")
	if a.code != 200 || a.body != "{\n  \"services\": []\n}\n" {
		t.Fatalf("got %d %q", a.code, a.body)
	}
}

// onlyRollouts hides every method but Rollouts' of the manager.
type onlyRollouts struct{ Rollouts }
