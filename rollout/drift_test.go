package rollout

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vaneproj/vane/traffic"
)

// TestDriftAfterPromoteIsReported checks that after promote --full the
// state says vane.yaml still names the old stable, and that editing the
// file to name the promoted version clears it.
func TestDriftAfterPromoteIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startHarness(t, filepath.Join(t.TempDir(), "vane.db"), &fakeRouter{}, &fakeQuerier{}, testPlan())
		if _, err := h.m.Start(t.Context(), StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := h.state(); st.Drift != "" {
			t.Fatalf("drift during the rollout: %s", st.Drift)
		}
		if _, err := h.m.Command(t.Context(), "checkout", CmdPromoteFull); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		st := h.state()
		if st.Phase != Succeeded || !strings.Contains(st.Drift, "vane.yaml names stable v1 (10.0.0.1:80), but v2 (10.0.0.2:80) is served") {
			t.Fatalf("after promote --full: %s, drift %q", st.Phase, st.Drift)
		}
		svc := traffic.Service{Name: "checkout", Stable: traffic.Backend{Version: "v2", Endpoints: []string{"10.0.0.2:80"}}}
		if err := h.m.Reconcile([]ServiceConfig{{Service: svc, Plan: testPlan()}}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := h.state(); st.Drift != "" {
			t.Fatalf("after vane.yaml names v2: drift %q", st.Drift)
		}
	})
}
