package traffic_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vaneproj/vane/traffic"
)

func svc() traffic.Service {
	return traffic.Service{
		Name:   "checkout",
		Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:8080"}},
		Canary: traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.2:8080"}},
	}
}

func TestValidateNamesEachProblem(t *testing.T) {
	tests := map[string]struct {
		err  error
		want []string
	}{
		"weights outside 0..100":         {traffic.Weights{Stable: 120, Canary: -20}.Validate(), []string{"weights.stable: 120", "weights.canary: -20"}},
		"weights that do not sum to 100": {traffic.Weights{Stable: 60, Canary: 30}.Validate(), []string{"= 90, must be 100"}},
		"a header with upper-case letters": {traffic.Routing{Weights: traffic.Weights{Stable: 100},
			CanaryHeaders: []traffic.HeaderMatch{{Name: "X-Canary", Value: "1"}}}.Validate(), []string{"canary_headers[0].name"}},
		"a pseudo-header and an empty value": {traffic.Routing{Weights: traffic.Weights{Stable: 100},
			CanaryHeaders: []traffic.HeaderMatch{{Name: "host", Value: ""}}}.Validate(), []string{"pseudo-header", "canary_headers[0].value: empty"}},
		"a duplicate header": {traffic.Routing{Weights: traffic.Weights{Stable: 100},
			CanaryHeaders: []traffic.HeaderMatch{{Name: "x-a", Value: "1"}, {Name: "x-a", Value: "1"}}}.Validate(), []string{"canary_headers[1]: duplicate"}},
		"a service with a bad name, no stable endpoint and a bad canary endpoint": {traffic.Service{Name: "-x",
			Stable: traffic.Backend{Version: "v1"}, Canary: traffic.Backend{Endpoints: []string{"h:0"}}}.Validate(),
			[]string{"name:", "stable.endpoints: at least one", "canary.version: empty", "canary.endpoints[0]"}},
		"duplicate endpoints": {func() error {
			s := svc()
			s.Stable.Endpoints = []string{"a:1", "a:1"}
			return s.Validate()
		}(), []string{"stable.endpoints[1]: duplicate"}},
		"canary weight without canary endpoints": {func() error {
			s := svc()
			s.Canary = traffic.Backend{}
			return traffic.Routing{Weights: traffic.Weights{Stable: 90, Canary: 10}}.ValidateFor(s)
		}(), []string{"canary.endpoints is empty"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(tc.err.Error(), w) {
					t.Errorf("error %q does not mention %q", tc.err, w)
				}
			}
		})
	}
}

func TestValidInputPasses(t *testing.T) {
	s := svc()
	r := traffic.Routing{Weights: traffic.Weights{Stable: 95, Canary: 5}, CanaryHeaders: []traffic.HeaderMatch{{Name: "x-canary", Value: "always"}}}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	if err := r.ValidateFor(s); err != nil {
		t.Error(err)
	}
	if err := traffic.AllStable().ValidateFor(traffic.Service{Name: "a", Stable: s.Stable}); err != nil {
		t.Errorf("all-stable routing without a canary: %v", err)
	}
	if got := r.String(); got != "stable 95% / canary 5% + x-canary=always→canary" {
		t.Errorf("String() = %q", got)
	}
}

func TestSplitEndpoint(t *testing.T) {
	h, p, err := traffic.SplitEndpoint("[::1]:8080")
	if err != nil || h != "::1" || p != 8080 {
		t.Errorf("SplitEndpoint = %q, %d, %v", h, p, err)
	}
	for _, bad := range []string{"host", ":80", "h:70000", "h:x"} {
		if _, _, err := traffic.SplitEndpoint(bad); err == nil {
			t.Errorf("SplitEndpoint(%q) accepted", bad)
		}
	}
}

func TestRouterFunc(t *testing.T) {
	var r traffic.Router = traffic.RouterFunc(func(_ context.Context, s traffic.Service, _ traffic.Routing) (traffic.Applied, error) {
		return traffic.Applied{Version: s.Name}, traffic.ErrNacked
	})
	a, err := r.Apply(context.Background(), svc(), traffic.AllStable())
	if a.Version != "checkout" || !errors.Is(err, traffic.ErrNacked) {
		t.Errorf("Apply = %v, %v", a, err)
	}
}

func FuzzServiceValidate(f *testing.F) {
	f.Add("checkout", "v1", "10.0.0.1:8080", "x-canary", "always", 95)
	f.Add("", "", "h:0", "Host", "", 101)
	f.Fuzz(func(t *testing.T, name, version, ep, header, value string, canary int) {
		s := traffic.Service{Name: name, Stable: traffic.Backend{Version: version, Endpoints: []string{ep}},
			Canary: traffic.Backend{Version: version, Endpoints: []string{ep + "0"}}}
		r := traffic.Routing{Weights: traffic.Weights{Stable: 100 - canary, Canary: canary},
			CanaryHeaders: []traffic.HeaderMatch{{Name: header, Value: value}}}
		// Validation never panics, and what it accepts is well-formed.
		if s.Validate() == nil {
			if _, _, err := traffic.SplitEndpoint(ep); err != nil {
				t.Fatalf("accepted service with endpoint %q: %v", ep, err)
			}
		}
		if r.Validate() == nil && (canary < 0 || canary > 100 || header == "" || value == "") {
			t.Fatalf("accepted routing %+v", r)
		}
	})
}
