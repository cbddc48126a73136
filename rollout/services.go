package rollout

import (
	"slices"
	"strings"

	"github.com/vaneproj/vane/traffic"
)

// ServiceStatus is one configured service as it is served now, with its
// rollout's phase.
type ServiceStatus struct {
	// Service is what the service serves: during a rollout the stable and
	// the canary backends, otherwise the stable one (the outcome of the
	// last rollout, or the configured version).
	Service traffic.Service
	// Phase is the phase of the service's rollout, "" when it never had one.
	Phase Phase
}

// Services returns every configured service, by name, as it is served
// now. Unlike List it includes the services that never had a rollout.
func (m *Manager) Services() []ServiceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ServiceStatus, 0, len(m.services))
	for name := range m.services {
		st, ok := m.states[name]
		s := ServiceStatus{Phase: st.Phase}
		if ok && !st.Phase.Terminal() {
			s.Service = st.Service
		} else {
			s.Service, _ = m.servedLocked(name)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ServiceStatus) int { return strings.Compare(a.Service.Name, b.Service.Name) })
	return out
}
