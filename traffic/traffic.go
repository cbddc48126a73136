package traffic

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Service is one routed service with its stable and canary backends.
type Service struct {
	// Name is the service's name; xDS resources are named after it and
	// proxyless gRPC clients dial xds:///<Name>.
	Name string `json:"name" yaml:"name"`
	// Stable serves the bulk of the traffic.
	Stable Backend `json:"stable" yaml:"stable"`
	// Canary is the version under test; it may have no endpoints while no
	// rollout runs.
	Canary Backend `json:"canary" yaml:"canary"`
	// ListenerPort, when not 0, asks for an Envoy listener on that port.
	ListenerPort uint32 `json:"listener_port,omitempty" yaml:"listener_port,omitempty"`
	// Protocol is what the service's endpoints speak: http (HTTP/1.1),
	// http2 or grpc. Empty means http. It sets the Envoy clusters' upstream
	// protocol and the judges' default bad codes.
	Protocol Protocol `json:"protocol,omitempty" yaml:"protocol,omitempty"`
}

// Protocol is the protocol a service's endpoints speak.
type Protocol string

// The protocols.
const (
	HTTP  Protocol = "http"
	HTTP2 Protocol = "http2"
	GRPC  Protocol = "grpc"
)

// Validate reports an unknown protocol.
func (p Protocol) Validate() error {
	switch p {
	case "", HTTP, HTTP2, GRPC:
		return nil
	}
	return fmt.Errorf("%q is not one of http, http2, grpc", string(p))
}

// Backend is one version of a service and the endpoints that serve it.
type Backend struct {
	Version   string   `json:"version" yaml:"version"`
	Endpoints []string `json:"endpoints" yaml:"endpoints"` // host:port
}

// Weights are the integer percentages of requests sent to each version;
// they sum to 100.
type Weights struct {
	Stable int `json:"stable" yaml:"stable"`
	Canary int `json:"canary" yaml:"canary"`
}

// HeaderMatch sends requests whose header Name equals Value to the canary,
// whatever the weights (an A/B cohort).
type HeaderMatch struct {
	Name  string `json:"name" yaml:"name"`
	Value string `json:"value" yaml:"value"`
}

// Routing is the desired split of one service's traffic.
type Routing struct {
	Weights Weights `json:"weights" yaml:"weights"`
	// CanaryHeaders are evaluated before the weights: a request that
	// matches any of them goes to the canary.
	CanaryHeaders []HeaderMatch `json:"canary_headers,omitempty" yaml:"canary_headers,omitempty"`
}

// AllStable is the routing that sends every request to the stable version.
func AllStable() Routing { return Routing{Weights: Weights{Stable: 100}} }

// String reports the routing as a short human-readable string, such as
// "stable 95% / canary 5%".
func (r Routing) String() string {
	s := fmt.Sprintf("stable %d%% / canary %d%%", r.Weights.Stable, r.Weights.Canary)
	for _, h := range r.CanaryHeaders {
		s += fmt.Sprintf(" + %s=%s→canary", h.Name, h.Value)
	}
	return s
}

// NodeStatus is what one connected proxy or client did with a change.
type NodeStatus struct {
	Node string `json:"node"`
	// Error is empty for an ACK and holds the client's error text for a NACK.
	Error string `json:"error,omitempty"`
	// TypeURL names the resource type the NACK was about.
	TypeURL string `json:"type_url,omitempty"`
}

// Applied reports how a routing change was taken up.
type Applied struct {
	// Version is the config version that carries the change.
	Version string `json:"version"`
	// Acked lists the nodes that ACKed Version.
	Acked []string `json:"acked"`
	// Nacked lists the nodes that rejected it, with their error text.
	Nacked []NodeStatus `json:"nacked,omitempty"`
	// Took is the time from the change to the last ACK.
	Took time.Duration `json:"took"`
}

// ErrNacked is returned (wrapped) by Router.Apply when a node rejected the change.
var ErrNacked = errors.New("traffic: change rejected by a node")

// Router applies routing to the proxies and clients of a service.
//
// Apply publishes svc (its clusters and endpoints) with routing r and blocks
// until every connected node that uses the service has ACKed the resulting
// version or NACKed it (the error wraps ErrNacked and Applied.Nacked names
// the nodes), or ctx ends (the error wraps ctx.Err()). Invalid input returns
// an error and changes nothing. Nodes that connect later receive the
// current config and do not hold Apply up. A call with unchanged settings
// pushes nothing and reports the nodes' state for the current version (at
// once when every node has answered), so retrying a rejected or timed-out
// change tells whether it has been taken up. Apply is safe for concurrent
// use across services; calls for one service are serialised.
type Router interface {
	Apply(ctx context.Context, svc Service, r Routing) (Applied, error)
}

// RouterFunc adapts a function to the Router interface.
type RouterFunc func(ctx context.Context, svc Service, r Routing) (Applied, error)

// Apply calls f.
func (f RouterFunc) Apply(ctx context.Context, svc Service, r Routing) (Applied, error) {
	return f(ctx, svc, r)
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	headerRE = regexp.MustCompile(`^[a-z0-9!#$%&'*+.^_` + "`" + `|~-]+$`)
)

// Validate reports every problem with the weights.
func (w Weights) Validate() error {
	var errs []error
	if w.Stable < 0 || w.Stable > 100 {
		errs = append(errs, fmt.Errorf("weights.stable: %d is outside 0..100", w.Stable))
	}
	if w.Canary < 0 || w.Canary > 100 {
		errs = append(errs, fmt.Errorf("weights.canary: %d is outside 0..100", w.Canary))
	}
	if len(errs) == 0 && w.Stable+w.Canary != 100 {
		errs = append(errs, fmt.Errorf("weights: stable %d + canary %d = %d, must be 100", w.Stable, w.Canary, w.Stable+w.Canary))
	}
	return errors.Join(errs...)
}

// Validate reports every problem with the routing.
func (r Routing) Validate() error {
	errs := []error{r.Weights.Validate()}
	seen := map[string]bool{}
	for i, h := range r.CanaryHeaders {
		switch {
		case h.Name == "":
			errs = append(errs, fmt.Errorf("canary_headers[%d].name: empty", i))
		case !headerRE.MatchString(h.Name):
			errs = append(errs, fmt.Errorf("canary_headers[%d].name: %q is not a lower-case HTTP header name", i, h.Name))
		case strings.HasPrefix(h.Name, ":") || h.Name == "host":
			errs = append(errs, fmt.Errorf("canary_headers[%d].name: %q is a pseudo-header", i, h.Name))
		}
		if h.Value == "" {
			errs = append(errs, fmt.Errorf("canary_headers[%d].value: empty", i))
		}
		k := h.Name + "\x00" + h.Value
		if seen[k] {
			errs = append(errs, fmt.Errorf("canary_headers[%d]: duplicate of %s=%s", i, h.Name, h.Value))
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// Validate reports every problem with the service definition.
func (s Service) Validate() error {
	var errs []error
	if !nameRE.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name: %q must be 1-63 lower-case letters, digits or '-', starting and ending with a letter or digit", s.Name))
	}
	if s.Stable.Version == "" {
		errs = append(errs, errors.New("stable.version: empty"))
	}
	if len(s.Stable.Endpoints) == 0 {
		errs = append(errs, errors.New("stable.endpoints: at least one endpoint is needed"))
	}
	errs = append(errs, validateEndpoints("stable.endpoints", s.Stable.Endpoints))
	if len(s.Canary.Endpoints) > 0 && s.Canary.Version == "" {
		errs = append(errs, errors.New("canary.version: empty while canary endpoints are set"))
	}
	errs = append(errs, validateEndpoints("canary.endpoints", s.Canary.Endpoints))
	if s.ListenerPort > 65535 {
		errs = append(errs, fmt.Errorf("listener_port: %d is not a TCP port", s.ListenerPort))
	}
	if err := s.Protocol.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("protocol: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("service %q: %w", s.Name, err)
	}
	return nil
}

// ValidateFor checks the routing against the service: weight on the canary,
// or canary headers, need canary endpoints.
func (r Routing) ValidateFor(s Service) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if (r.Weights.Canary > 0 || len(r.CanaryHeaders) > 0) && len(s.Canary.Endpoints) == 0 {
		return fmt.Errorf("service %q: routing sends traffic to the canary but canary.endpoints is empty", s.Name)
	}
	return nil
}

func validateEndpoints(field string, eps []string) error {
	var errs []error
	seen := map[string]bool{}
	for i, ep := range eps {
		if _, _, err := SplitEndpoint(ep); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", field, i, err))
			continue
		}
		if seen[ep] {
			errs = append(errs, fmt.Errorf("%s[%d]: duplicate endpoint %q", field, i, ep))
		}
		seen[ep] = true
	}
	return errors.Join(errs...)
}

// SplitEndpoint parses "host:port" into its host and a port in 1..65535.
func SplitEndpoint(ep string) (host string, port uint32, err error) {
	h, p, err := net.SplitHostPort(ep)
	if err != nil {
		return "", 0, fmt.Errorf("endpoint %q: %w", ep, err)
	}
	if h == "" {
		return "", 0, fmt.Errorf("endpoint %q: empty host", ep)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("endpoint %q: port %q is not in 1..65535", ep, p)
	}
	return h, uint32(n), nil
}
