package rollout

import (
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
)

func TestServicesListsEveryConfiguredServiceByName(t *testing.T) {
	synctest.Test(t, testServices)
}

func testServices(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "vane.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan := Plan{Steps: []PlanStep{WeightStep(20), PauseFor(0)}}
	svcs := []ServiceConfig{
		{Service: traffic.Service{Name: "checkout", Protocol: traffic.GRPC, Stable: traffic.Backend{Version: "v1", Endpoints: []string{"10.0.0.1:80"}}}, Plan: plan},
		{Service: traffic.Service{Name: "cart", Stable: traffic.Backend{Version: "v7", Endpoints: []string{"10.0.1.1:80"}}}, Plan: plan},
	}
	m, err := NewManager(Options{Router: &fakeRouter{}, Store: db}, svcs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := runManager(t, m)
	defer stop()
	if _, err := m.Start(ctx, StartRequest{Service: "checkout", Version: "v2", Endpoints: []string{"10.0.0.2:80"}}); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	got := m.Services()
	if len(got) != 2 || got[0].Service.Name != "cart" || got[1].Service.Name != "checkout" {
		t.Fatalf("not every service by name: %+v", got)
	}
	if c := got[0]; c.Phase != "" || c.Service.Stable.Version != "v7" || c.Service.Canary.Version != "" {
		t.Errorf("cart, never rolled out: %+v", c)
	}
	if c := got[1]; c.Phase == "" || c.Phase.Terminal() || c.Service.Stable.Version != "v1" || c.Service.Canary.Version != "v2" || c.Service.Protocol != traffic.GRPC {
		t.Errorf("checkout, rolling out v2: %+v", c)
	}
}
