package api

import (
	"net/http"

	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/traffic"
)

// Services lists the configured services as they are served now
// (rollout.Manager implements it).
type Services interface {
	Services() []rollout.ServiceStatus
}

// Service is one entry of GET /api/v1/services.
type Service struct {
	// Name is the service's name, the argument of `vane rollout start`.
	Name string `json:"name"`
	// Protocol is what its endpoints speak: http, http2 or grpc.
	Protocol string `json:"protocol"`
	// Stable is the version serving the stable share of traffic.
	Stable string `json:"stable"`
	// Canary is the version being rolled out, "" when none is.
	Canary string `json:"canary,omitempty"`
	// Phase is the phase of the service's rollout, "" when it never had one.
	Phase rollout.Phase `json:"phase,omitempty"`
	// Autoscaler reports whether an autoscaler scales the service.
	Autoscaler bool `json:"autoscaler"`
}

// ServiceList is the answer of GET /api/v1/services.
type ServiceList struct {
	Services []Service `json:"services"`
}

func (s *Server) serviceRoutes(h func(pattern, route string, mutating bool, f http.HandlerFunc)) {
	h("GET /api/v1/services", "services", false, s.services)
}

// services answers GET /api/v1/services: every configured service, by
// name, with its versions, its rollout's phase and whether it autoscales.
func (s *Server) services(w http.ResponseWriter, _ *http.Request) {
	out := ServiceList{Services: []Service{}}
	if s.o.Services == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	scaled := map[string]bool{}
	if s.o.Autoscalers != nil {
		for _, a := range s.o.Autoscalers.List() {
			scaled[a.Name] = true
		}
	}
	for _, st := range s.o.Services.Services() {
		svc := st.Service
		proto := svc.Protocol
		if proto == "" {
			proto = traffic.HTTP
		}
		out.Services = append(out.Services, Service{Name: svc.Name, Protocol: string(proto), Stable: svc.Stable.Version,
			Canary: svc.Canary.Version, Phase: st.Phase, Autoscaler: scaled[svc.Name]})
	}
	writeJSON(w, http.StatusOK, out)
}
