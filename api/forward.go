package api

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/vaneproj/vane/ha"
)

// Leader tells a replica of a replicated controller where the leader's API
// is; ha.Presence implements it.
type Leader interface {
	// LeaderURL returns the base URL of the leader's API ("http://host:port"),
	// or self true when this replica leads. An error means no leader is
	// known now.
	LeaderURL(ctx context.Context) (u string, self bool, err error)
}

// Cluster reports the replicas of a replicated controller; ha.Presence
// implements it.
type Cluster interface {
	Status(ctx context.Context) (ha.Status, error)
}

// ForwardedHeader marks a request a follower forwarded to the leader: a
// replica that gets one and does not lead answers 503 instead of
// forwarding it again.
const ForwardedHeader = "X-Vane-Forwarded-By"

// DefaultForwardTimeout bounds a forwarded call: it covers a command that
// waits for the proxies' ACKs (rollout.Options.ApplyTimeout, 10 s).
const DefaultForwardTimeout = 30 * time.Second

// forwarder proxies calls from a follower to the leader.
type forwarder struct {
	leader  Leader
	self    string
	timeout time.Duration
	tr      http.RoundTripper
}

func newForwarder(o Options) *forwarder {
	if o.Leader == nil {
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = o.ForwardTimeout
	if o.ForwardTLS != nil {
		tr.TLSClientConfig = o.ForwardTLS
	} else {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &forwarder{leader: o.Leader, self: o.ReplicaID, timeout: o.ForwardTimeout, tr: tr}
}

// serve forwards r to the leader and reports true, or reports false when
// this replica leads and must serve r itself. The caller's Authorization
// header goes along unchanged: the leader authorizes the call.
func (f *forwarder) serve(w http.ResponseWriter, r *http.Request) bool {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	target, self, err := f.leader.LeaderURL(ctx)
	cancel()
	switch {
	case self:
		return false
	case r.Header.Get(ForwardedHeader) != "":
		writeError(w, http.StatusServiceUnavailable, "not_running",
			fmt.Sprintf("this replica does not lead (any more) and does not forward a call forwarded by %s; retry", r.Header.Get(ForwardedHeader)))
		return true
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "not_running", "this replica is not the leader and cannot forward the call: "+err.Error())
		return true
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		writeError(w, http.StatusServiceUnavailable, "not_running", fmt.Sprintf("the leader published an API URL that cannot be used: %q", target))
		return true
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			pr.Out.Header.Set(ForwardedHeader, f.self)
		},
		Transport: f.tr,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, http.StatusBadGateway, "leader_unreachable", fmt.Sprintf("forwarding to the leader at %s: %v", target, err))
		},
	}
	fctx, cancel := context.WithTimeout(r.Context(), f.timeout)
	defer cancel()
	w.Header().Set("X-Vane-Leader", target)
	rp.ServeHTTP(w, r.WithContext(fctx))
	return true
}

func (s *Server) replicas(w http.ResponseWriter, r *http.Request) {
	if s.o.Cluster == nil {
		writeError(w, http.StatusNotFound, "not_found", "this controller runs as a single replica (store.kind is not etcd)")
		return
	}
	st, err := s.o.Cluster.Status(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "not_running", "the replicas cannot be read: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, st)
}
