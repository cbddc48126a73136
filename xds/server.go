package xds

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	"github.com/vaneproj/vane/traffic"
)

// readBufferSize is the gRPC server's per-connection read buffer.
const readBufferSize = 4 << 10

// writeBufferSize is the server's per-connection write buffer, taken from a
// shared pool while a connection has data to write (grpc.SharedWriteBuffer).
const writeBufferSize = 8 << 10

// flowWindow is the server's fixed HTTP/2 receive window, per stream and per
// connection (gRPC's default initial window).
const flowWindow = 64 << 10

// DefaultListen is the address the ADS server listens on by default.
const DefaultListen = "127.0.0.1:18000"

// DefaultHandoff is the default Options.Handoff: an order of magnitude above
// the hand-off measured in gRPC-Go clients, and negligible next to the
// seconds an analysis takes.
const DefaultHandoff = 50 * time.Millisecond

// Options configure a Server. The zero value serves plaintext gRPC on
// DefaultListen.
type Options struct {
	// Listen is the TCP address of the gRPC ADS server ("host:port"; port 0
	// picks a free port, see Server.Listen). Empty means DefaultListen.
	Listen string
	// CertFile and KeyFile, when set, make the server speak TLS.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires clients to present a certificate
	// signed by one of its CAs (mTLS). It needs CertFile and KeyFile.
	ClientCAFile string
	// ShutdownTimeout bounds the graceful stop when Run's context ends;
	// 0 means 5 s.
	ShutdownTimeout time.Duration
	// Handoff is how long Apply waits, after the last ACK of a change,
	// before it returns. gRPC-Go ACKs a route before its channel uses it:
	// the resolver switches the channel's picker right after, on its own
	// goroutine (measured: up to 3.3 ms under the race detector). Waiting
	// for the hand-off makes "Apply returned" mean "the clients route by
	// it". 0 means DefaultHandoff; a negative value returns at the ACK.
	Handoff time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Server is Vane's ADS server. It keeps one go-control-plane LinearCache per
// resource type behind a MuxCache, serves them state-of-the-world over
// gRPC, tracks ACKs and NACKs per stream, and implements traffic.Router.
type Server struct {
	opts    Options
	tlsConf *tls.Config
	log     *slog.Logger
	metrics *Metrics
	prefix  string
	caches  map[string]*cache.LinearCache
	mux     *cache.MuxCache
	tracker *tracker

	lnMu sync.Mutex
	ln   net.Listener
	ran  bool

	svcMu    sync.Mutex
	svcLocks map[string]*sync.Mutex

	pubMu    sync.Mutex
	versions map[string]uint64                               // per type; mirrors the LinearCache counter
	current  map[string]map[string]map[string]types.Resource // service → type → name → resource
	owner    map[string]map[string]string                    // type → name → service
	// changedAt is, per service and type, the version that last pushed a
	// change of the service's resources.
	changedAt map[string]map[string]uint64

	// mutate, when set (tests only), changes the built resources before
	// they are published, to provoke NACKs.
	mutate func(*Resources)
}

var _ traffic.Router = (*Server)(nil)

// New checks opts, loads the TLS material and builds a Server. It does not
// listen yet: see Listen and Run.
func New(opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
		return nil, fmt.Errorf("xds: listen: %w", err)
	}
	if opts.Handoff == 0 {
		opts.Handoff = DefaultHandoff
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	tlsConf, err := serverTLS(opts)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("xds: version prefix: %w", err)
	}
	// The prefix differs on each start, so a client reconnecting after a
	// restart never mistakes an old version for a current one.
	prefix := "vane-" + hex.EncodeToString(rnd[:]) + "-"
	s := &Server{
		opts:      opts,
		tlsConf:   tlsConf,
		log:       log,
		metrics:   NewMetrics(opts.Registerer),
		prefix:    prefix,
		caches:    map[string]*cache.LinearCache{},
		svcLocks:  map[string]*sync.Mutex{},
		versions:  map[string]uint64{},
		current:   map[string]map[string]map[string]types.Resource{},
		owner:     map[string]map[string]string{},
		changedAt: map[string]map[string]uint64{},
	}
	s.tracker = newTracker(prefix, s.metrics, time.Now)
	caches := map[string]cache.Cache{}
	for _, url := range typeURLs {
		lc := cache.NewLinearCache(url, cache.WithVersionPrefix(prefix), cache.WithLogger(cacheLogger{log}))
		s.caches[url] = lc
		caches[url] = lc
		s.owner[url] = map[string]string{}
	}
	s.mux = &cache.MuxCache{
		Classify:      func(r *cache.Request) string { return r.GetTypeUrl() },
		ClassifyDelta: func(r *cache.DeltaRequest) string { return r.GetTypeUrl() },
		Caches:        caches,
	}
	return s, nil
}

func serverTLS(opts Options) (*tls.Config, error) {
	if opts.CertFile == "" && opts.KeyFile == "" {
		if opts.ClientCAFile != "" {
			return nil, errors.New("xds: client_ca_file needs cert_file and key_file")
		}
		return nil, nil
	}
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, errors.New("xds: cert_file and key_file must be set together")
	}
	cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("xds: cert_file %s, key_file %s: %w", opts.CertFile, opts.KeyFile, err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if opts.ClientCAFile != "" {
		pem, err := os.ReadFile(opts.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("xds: client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("xds: client_ca_file %s: no PEM certificate found", opts.ClientCAFile)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// Listen binds the server's address if it is not bound yet and returns it.
// Call it before Run to learn the port picked for ":0".
func (s *Server) Listen() (net.Addr, error) {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	if s.ln != nil {
		return s.ln.Addr(), nil
	}
	if s.ran {
		return nil, errors.New("xds: server already ran")
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("xds: listen on %s: %w", s.opts.Listen, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Addr returns the bound address, or "" before Listen or Run.
func (s *Server) Addr() string {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Run serves ADS until ctx ends, then stops: open streams are ended, the
// gRPC server drains within Options.ShutdownTimeout and the listener closes.
// It returns nil after a clean stop. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	s.lnMu.Lock()
	ln := s.ln
	if s.ran {
		s.lnMu.Unlock()
		return errors.New("xds: server already ran")
	}
	s.ran = true
	s.lnMu.Unlock()
	defer func() {
		s.lnMu.Lock()
		s.ln = nil
		s.lnMu.Unlock()
	}()

	// Streams live as long as srvCtx; it ends with ctx.
	srvCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	xs := serverv3.NewServer(srvCtx, s.mux, s.callbacks(),
		// gRPC clients send an empty list to unsubscribe; for the types that
		// Envoy always names, that must not mean "everything".
		sotw.DeactivateLegacyWildcardForTypes([]string{resourcev3.RouteType, resourcev3.EndpointType}),
		// Ordered ADS sends a stream's responses in the order the caches
		// produce them from one channel and a plain select; the unordered
		// loop rebuilds a reflect.Select over one channel per type for
		// every message, which cost 8% of the server's CPU at 10,000 streams.
		sotw.WithOrderedADS())
	gopts := []grpc.ServerOption{
		grpc.MaxConcurrentStreams(1 << 20),
		// One ADS stream per connection that is idle between pushes: gRPC
		// returns the write buffer to a pool after each flush (its default
		// behaviour); keep the read buffer small too (the defaults hold
		// 64 KiB per connection).
		grpc.ReadBufferSize(readBufferSize),
		// A push goes to every stream at once, so every connection holds a
		// pooled write buffer at the same time: at the 32 KiB default that
		// was 320 MB of transient heap at 10,000 streams, re-allocated after
		// each GC emptied the pool. A weight change is about 1 KiB.
		grpc.WriteBufferSize(writeBufferSize),
		// A fixed flow-control window turns off gRPC's BDP estimator, which
		// otherwise answers every client message (each ACK) with a window
		// update and a PING that the client must answer: two extra writes
		// per push on an idle connection. Clients send only small requests,
		// so the 64 KiB default window is never the limit.
		grpc.InitialWindowSize(flowWindow),
		grpc.InitialConnWindowSize(flowWindow),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if s.tlsConf != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(s.tlsConf)))
	}
	gs := grpc.NewServer(gopts...)
	discovery.RegisterAggregatedDiscoveryServiceServer(gs, xs)
	// The standard gRPC health service answers for "" and the ADS service.
	hs := health.NewServer()
	hs.SetServingStatus(discovery.AggregatedDiscoveryService_ServiceDesc.ServiceName, healthgrpc.HealthCheckResponse_SERVING)
	healthgrpc.RegisterHealthServer(gs, hs)

	s.log.Info("xDS server listening", "addr", ln.Addr().String(), "tls", s.tlsConf != nil, "mtls", s.opts.ClientCAFile != "")
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(ln) }()
	select {
	case err := <-errc:
		gs.Stop()
		return fmt.Errorf("xds: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	hs.Shutdown() // NOT_SERVING for every service while draining
	cancel()
	stopped := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(s.opts.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		s.log.Warn("xDS server drain timed out; closing streams", "timeout", s.opts.ShutdownTimeout)
		gs.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("xds: serve on %s: %w", ln.Addr(), err)
	}
	s.log.Info("xDS server stopped")
	return nil
}

func (s *Server) callbacks() serverv3.Callbacks {
	return serverv3.CallbackFuncs{
		StreamOpenFunc: func(_ context.Context, id int64, typeURL string) error {
			s.tracker.open(id)
			s.log.Debug("xDS stream opened", "stream", id, "type", typeURL)
			return nil
		},
		StreamClosedFunc: func(id int64, node *core.Node) {
			s.tracker.closed(id)
			s.log.Debug("xDS stream closed", "stream", id, "node", node.GetId())
		},
		StreamRequestFunc: func(id int64, req *discovery.DiscoveryRequest) error {
			if d := req.GetErrorDetail(); d != nil {
				s.log.Warn("xDS NACK", "stream", id, "node", req.GetNode().GetId(), "type", typeName(req.GetTypeUrl()),
					"version", req.GetVersionInfo(), "nonce", req.GetResponseNonce(), "err", d.GetMessage())
			}
			s.tracker.request(id, req)
			return nil
		},
		StreamResponseFunc: func(_ context.Context, id int64, _ *discovery.DiscoveryRequest, resp *discovery.DiscoveryResponse) {
			s.tracker.response(id, resp)
		},
		DeltaStreamOpenFunc: func(context.Context, int64, string) error {
			return errors.New("xds: incremental (delta) xDS is not served; use state-of-the-world ADS")
		},
	}
}

// Apply publishes svc with routing r and waits until every connected node
// subscribed to the changed resources has ACKed them (see traffic.Router).
// With unchanged settings it pushes nothing and reports whether the
// subscribed nodes hold the current version (waiting for those that have
// not answered yet), so that a retry after a NACK or a timeout tells.
// Only changed resources are pushed: a weight change updates the
// RouteConfiguration alone. Invalid input returns an error and changes
// nothing. A gRPC-Go client ACKs an update once it has validated it and
// switches its channel to it on its resolver goroutine right after (see the
// package documentation). Nodes that NACK are listed in Applied.Nacked and the error wraps
// traffic.ErrNacked; if ctx ends first, the error wraps ctx.Err().
func (s *Server) Apply(ctx context.Context, svc traffic.Service, r traffic.Routing) (traffic.Applied, error) {
	start := time.Now()
	res, err := BuildResources(svc, r)
	if err != nil {
		s.metrics.applies.WithLabelValues("invalid").Inc()
		return traffic.Applied{}, fmt.Errorf("xds: apply: %w", err)
	}
	s.pubMu.Lock()
	mutate := s.mutate
	s.pubMu.Unlock()
	if mutate != nil {
		mutate(&res)
	}
	lock := s.serviceLock(svc.Name)
	lock.Lock()
	defer lock.Unlock()

	targets, version, changed, err := s.publish(svc.Name, res)
	if err != nil {
		s.metrics.applies.WithLabelValues("invalid").Inc()
		return traffic.Applied{}, fmt.Errorf("xds: apply: %w", err)
	}
	if changed {
		s.tracker.notify()
	}
	log := s.log.With("service", svc.Name, "version", version)
	if !changed {
		s.metrics.applies.WithLabelValues("unchanged").Inc()
	}
	acked, nacked, pending := s.await(ctx, targets)
	out := traffic.Applied{Version: version, Acked: acked, Nacked: nacked, Took: time.Since(start)}
	switch {
	case len(nacked) > 0:
		s.metrics.applies.WithLabelValues("nacked").Inc()
		var b strings.Builder
		for i, n := range nacked {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "node %q rejected %s: %s", n.Node, typeName(n.TypeURL), n.Error)
		}
		log.Warn("Routing change rejected", "routing", r.String(), "nacked", len(nacked), "acked", len(acked))
		return out, fmt.Errorf("xds: service %q version %s: %w: %s", svc.Name, version, traffic.ErrNacked, b.String())
	case pending > 0:
		s.metrics.applies.WithLabelValues("canceled").Inc()
		log.Warn("Routing change not yet acknowledged", "routing", r.String(), "pending_streams", pending, "acked", len(acked))
		return out, fmt.Errorf("xds: service %q version %s: %d stream(s) had not ACKed: %w", svc.Name, version, pending, ctx.Err())
	}
	if !changed {
		return out, nil
	}
	s.metrics.applies.WithLabelValues("acked").Inc()
	s.metrics.applyDuration.Observe(out.Took.Seconds())
	log.Info("Routing change applied", "routing", r.String(), "acked", len(acked), "took", out.Took)
	if s.opts.Handoff > 0 && len(acked) > 0 {
		t := time.NewTimer(s.opts.Handoff)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return out, nil
}

// Holding reports, without waiting, what the proxies connected now did
// with the current state of service name: the nodes that ACKed the
// versions carrying it, those that NACKed them, and how many subscribed
// streams have not answered yet. A service never applied has no
// subscribers.
func (s *Server) Holding(name string) (acked []string, nacked []traffic.NodeStatus, pending int) {
	s.pubMu.Lock()
	targets := map[string]target{}
	for url, v := range s.changedAt[name] {
		names := slices.Sorted(maps.Keys(s.current[name][url]))
		if len(names) > 0 {
			targets[url] = target{version: v, names: names}
		}
	}
	s.pubMu.Unlock()
	if len(targets) == 0 {
		return nil, nil, 0
	}
	return s.tracker.holding(targets)
}

// Streams returns the number of ADS streams connected now.
func (s *Server) Streams() int { return s.tracker.streamCount() }

// Changes is signalled when what Holding or Streams report may have
// changed: a stream opened or closed, a node ACKed or NACKed, a change was
// published. Signals that come while one is pending merge; it has one
// reader.
func (s *Server) Changes() <-chan struct{} { return s.tracker.changed }

// await registers a wait for targets and blocks until it is settled or
// ctx ends.
func (s *Server) await(ctx context.Context, targets map[string]target) (acked []string, nacked []traffic.NodeStatus, pending int) {
	if len(targets) == 0 {
		return nil, nil, 0
	}
	w := s.tracker.register(targets)
	select {
	case <-w.done:
	case <-ctx.Done():
	}
	return s.tracker.finish(w)
}

// Remove withdraws every resource of the service name and waits, like
// Apply, until the subscribed nodes have ACKed the removal. Removing an
// unknown service returns at once.
func (s *Server) Remove(ctx context.Context, name string) (traffic.Applied, error) {
	start := time.Now()
	lock := s.serviceLock(name)
	lock.Lock()
	defer lock.Unlock()
	targets, version, changed, err := s.publish(name, Resources{})
	if err != nil {
		return traffic.Applied{}, fmt.Errorf("xds: remove: %w", err)
	}
	s.pubMu.Lock()
	delete(s.current, name)
	delete(s.changedAt, name)
	s.pubMu.Unlock()
	if !changed {
		targets = nil
	}
	acked, nacked, pending := s.await(ctx, targets)
	out := traffic.Applied{Version: version, Acked: acked, Nacked: nacked, Took: time.Since(start)}
	switch {
	case len(nacked) > 0:
		return out, fmt.Errorf("xds: remove service %q version %s: %w", name, version, traffic.ErrNacked)
	case pending > 0:
		return out, fmt.Errorf("xds: remove service %q version %s: %d stream(s) had not ACKed: %w", name, version, pending, ctx.Err())
	}
	s.log.Info("Service removed", "service", name, "version", version, "acked", len(acked))
	return out, nil
}

func (s *Server) serviceLock(name string) *sync.Mutex {
	s.svcMu.Lock()
	defer s.svcMu.Unlock()
	l := s.svcLocks[name]
	if l == nil {
		l = &sync.Mutex{}
		s.svcLocks[name] = l
	}
	return l
}

// publish puts the changed resources of one service into the caches,
// endpoints and clusters first so that a client never sees a route or
// listener before what it refers to. It returns, per type, the version
// that carries the change and the names it touched.
func (s *Server) publish(svc string, res Resources) (targets map[string]target, version string, changed bool, err error) {
	desired := map[string]map[string]types.Resource{}
	for _, r := range res.all() {
		url := typeOf(r)
		if desired[url] == nil {
			desired[url] = map[string]types.Resource{}
		}
		desired[url][nameOf(r)] = r
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	for url, byName := range desired {
		for name := range byName {
			if o, ok := s.owner[url][name]; ok && o != svc {
				return nil, "", false, fmt.Errorf("service %q: %s %q already belongs to service %q", svc, typeName(url), name, o)
			}
		}
	}
	cur := s.current[svc]
	if cur == nil {
		cur = map[string]map[string]types.Resource{}
	}
	targets = map[string]target{}
	for _, url := range publishOrder {
		update := map[string]types.Resource{}
		var del, names []string
		for name, r := range desired[url] {
			if old, ok := cur[url][name]; !ok || !proto.Equal(old, r) {
				update[name] = r
				names = append(names, name)
			}
		}
		for name := range cur[url] {
			if _, ok := desired[url][name]; !ok {
				del = append(del, name)
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			continue
		}
		if err := s.caches[url].UpdateResources(update, del); err != nil {
			// The cache is updated; only notifying a watch failed.
			s.log.Error("xDS cache notification failed", "type", typeName(url), "err", err)
		}
		s.versions[url]++
		if !fullState(url) {
			// State-of-the-world RDS and EDS cannot say "deleted": nothing
			// is pushed for a deletion, so only updates are ACKed.
			names = slices.Collect(maps.Keys(update))
		}
		for _, name := range del {
			delete(s.owner[url], name)
		}
		if len(names) == 0 {
			continue
		}
		slices.Sort(names)
		targets[url] = target{version: s.versions[url], names: names}
		if s.changedAt[svc] == nil {
			s.changedAt[svc] = map[string]uint64{}
		}
		s.changedAt[svc][url] = s.versions[url]
		for name := range update {
			s.owner[url][name] = svc
		}
	}
	s.current[svc] = desired
	if len(targets) == 0 {
		// Nothing changed: wait on the versions that carry the current
		// state, so that a retry learns whether every node has it.
		for url, v := range s.changedAt[svc] {
			names := slices.Sorted(maps.Keys(desired[url]))
			if len(names) > 0 {
				targets[url] = target{version: v, names: names}
			}
		}
		return targets, s.versionString(), false, nil
	}
	return targets, s.versionString(), true, nil
}

// versionString names the current version of every type, e.g.
// "vane-1a2b3c4d-: lds=2 rds=7 cds=1 eds=1". Called with pubMu held.
func (s *Server) versionString() string {
	return fmt.Sprintf("%slds=%d,rds=%d,cds=%d,eds=%d", s.prefix,
		s.versions[resourcev3.ListenerType], s.versions[resourcev3.RouteType],
		s.versions[resourcev3.ClusterType], s.versions[resourcev3.EndpointType])
}

// publishOrder puts what is referred to before what refers to it.
var publishOrder = []string{resourcev3.EndpointType, resourcev3.ClusterType, resourcev3.RouteType, resourcev3.ListenerType}

// cacheLogger sends go-control-plane's logs to slog at Debug.
type cacheLogger struct{ l *slog.Logger }

func (c cacheLogger) Debugf(f string, a ...any) { c.log(slog.LevelDebug, f, a) }
func (c cacheLogger) Infof(f string, a ...any)  { c.log(slog.LevelDebug, f, a) }
func (c cacheLogger) Warnf(f string, a ...any)  { c.log(slog.LevelWarn, f, a) }
func (c cacheLogger) Errorf(f string, a ...any) { c.log(slog.LevelError, f, a) }

// log formats only what the handler will keep: the cache logs per watch.
func (c cacheLogger) log(level slog.Level, f string, a []any) {
	if c.l.Enabled(context.Background(), level) {
		c.l.Log(context.Background(), level, fmt.Sprintf(f, a...), "component", "xds_cache")
	}
}
