package rollout

import (
	"fmt"
	"reflect"
	"strings"
)

// driftLocked describes how the stable version served for name differs
// from the one the configuration names, or "" when they agree. After a
// promotion the promoted version is stable while vane.yaml still names the
// old one: Vane keeps serving the promoted version (the store wins) until
// the file is edited to name it. Called with m.mu held.
func (m *Manager) driftLocked(name string) string {
	sc, ok := m.services[name]
	if !ok {
		return ""
	}
	served, _ := m.servedLocked(name)
	cfg := sc.Service.Stable
	if reflect.DeepEqual(served.Stable, cfg) || sc.DynamicEndpoints && served.Stable.Version == cfg.Version {
		return ""
	}
	return fmt.Sprintf("vane.yaml names stable %s (%s), but %s (%s) is served since a rollout promoted it; to make the file match, set the service's stable to version %s, endpoints [%s] (until then Vane keeps serving %s)",
		cfg.Version, strings.Join(cfg.Endpoints, ", "), served.Stable.Version, strings.Join(served.Stable.Endpoints, ", "),
		served.Stable.Version, strings.Join(served.Stable.Endpoints, ", "), served.Stable.Version)
}

// Drift is driftLocked for callers without the lock: "" when the served
// stable version is the configured one.
func (m *Manager) Drift(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.driftLocked(name)
}
