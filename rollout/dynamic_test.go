package rollout

import (
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaneproj/vane/traffic"
)

// TestDynamicEndpointsIdentifyARolloutByVersion checks that a service
// whose endpoints come from service discovery neither rolls an aborted
// canary out again nor reports drift when only its endpoints changed, and
// still rolls out a new version.
func TestDynamicEndpointsIdentifyARolloutByVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h0 := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, testPlan())
		if _, err := h0.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, err := h0.m.Command(t.Context(), "checkout", CmdAbort); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := h0.state(); st.Phase != Aborted {
			t.Fatalf("after abort: %s", st.Phase)
		}
		moved := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}},
			Canary: traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.9:80"}}}
		if err := h0.m.Reconcile([]ServiceConfig{{Service: moved, Plan: testPlan(), DynamicEndpoints: true}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := h0.state(); st.Phase != Aborted || st.Original.Canary.Endpoints[0] != "10.0.0.2:80" {
			t.Fatalf("aborted canary v2 on new endpoints started another rollout: %s, original canary %v", st.Phase, st.Original.Canary)
		}

		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, testPlan())
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if _, err := h.m.Command(t.Context(), "checkout", CmdPromoteFull); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		before := h.state()
		if before.Phase != Succeeded {
			t.Fatalf("after promote --full: %s", before.Phase)
		}
		promoted := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.7:80"}}}
		if err := h.m.Reconcile([]ServiceConfig{{Service: promoted, Plan: testPlan(), DynamicEndpoints: true}}); err != nil {
			t.Fatal(err)
		}
		if st := h.state(); st.Drift != "" {
			t.Fatalf("stable v2 on other endpoints: drift %q", st.Drift)
		}
		// A new version is still a new rollout.
		next := promoted
		next.Canary = traffic.Backend{Version: "v3", Endpoints: []string{"10.0.0.8:80"}}
		if err := h.m.Reconcile([]ServiceConfig{{Service: next, Plan: testPlan(), DynamicEndpoints: true}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := h.state(); st.Original.Canary.Version != "v3" || st.Phase == Succeeded {
			t.Fatalf("canary v3: %s, original canary %v; want a new rollout", st.Phase, st.Original.Canary)
		}
	})
}
