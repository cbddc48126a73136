package controller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/config"
	"github.com/vaneproj/vane/ha"
	"github.com/vaneproj/vane/kube"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/store"
	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// stateStore is what vane run needs from a store: bbolt (store.DB) or etcd
// (store.Etcd, fenced by the leader election).
type stateStore interface {
	Save(kind, name string, state any, events ...any) error
	Get(kind, name string, into any) error
	Load(kind string) (map[string]json.RawMessage, error)
	History(kind, name string, limit int) ([]json.RawMessage, error)
	Path() string
	Close() error
}

// openStore opens the configured store. For etcd it also returns the
// leader election (etcd's, or a Kubernetes Lease's), whose fence guards
// every write; an etcd that does not answer is an error (no fallback to a
// file).
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (stateStore, elector, error) {
	s := cfg.Store
	switch s.Kind {
	case config.StoreKubernetes:
		return openKubeStore(ctx, cfg, log, reg)
	case config.StoreEtcd:
	default:
		db, err := store.Open(cfg.Resolve(s.Path), store.Options{HistoryLimit: s.HistoryLimit})
		return db, nil, err
	}
	tc, err := etcdTLS(cfg)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.OpenEtcd(ctx, store.EtcdOptions{Endpoints: s.Endpoints, Prefix: s.Prefix, TLS: tc,
		DialTimeout: time.Duration(s.DialTimeout), HistoryLimit: s.HistoryLimit})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	id := replicaID(cfg)
	if cfg.Election.Kind == config.ElectionLease {
		le, err := newLeaseElector(cfg, db.Client(), db.Prefix(), id, log.With("component", "ha"), ha.NewMetrics(reg))
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("%s: %w", cfg.File, err), db.Close())
		}
		return closer{db.Fenced(le), db}, le, nil
	}
	el, err := ha.New(db.Client(), ha.Options{Prefix: db.Prefix(), ID: id, TTL: time.Duration(s.LeaseTTL), Logger: log.With("component", "ha"),
		Metrics: ha.NewMetrics(reg)})
	if err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	return closer{db.Fenced(el), db}, el, nil
}

// replicaID names this replica in the election: host, process and API
// address.
func replicaID(cfg *config.Config) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s pid %d api %s", host, os.Getpid(), cfg.HTTP.Listen)
}

// openKubeStore opens the Kubernetes store (ConfigMaps) and the Lease
// election that fences its writes. A permission that RBAC does not grant
// is an error naming it.
func openKubeStore(ctx context.Context, cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (stateStore, elector, error) {
	s := cfg.Store
	client, ns, err := kubeClient(cfg.Resolve(s.Kubeconfig))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: store: %w", cfg.File, err)
	}
	if s.Namespace != "" {
		ns = s.Namespace
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The ConfigMaps' permissions in the store's namespace, the Lease's in
	// the election's (the two sections may name different namespaces and
	// kubeconfigs).
	l := cfg.Election.Lease
	lclient, lns := client, ns
	if l.Kubeconfig != s.Kubeconfig {
		if lclient, lns, err = kubeClient(cfg.Resolve(l.Kubeconfig)); err != nil {
			return nil, nil, fmt.Errorf("%s: election.lease: %w", cfg.File, err)
		}
	}
	if l.Namespace != "" {
		lns = l.Namespace
	}
	var cmPerms, leasePerms []kube.Permission
	for _, p := range kube.StorePermissions {
		if p.Resource == "leases" {
			leasePerms = append(leasePerms, p)
		} else {
			cmPerms = append(cmPerms, p)
		}
	}
	err = errors.Join(kube.CheckPermissions(cctx, client, ns, cmPerms), kube.CheckPermissions(cctx, lclient, lns, leasePerms))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: store.kind kubernetes: %w (deploy/kubernetes/vane-lease.yaml has the Role)", cfg.File, err)
	}
	db, err := store.OpenKube(cctx, client, store.KubeOptions{Namespace: ns, Name: s.Name, HistoryLimit: s.HistoryLimit})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	le, err := newKubeLeaseElector(cfg, db, replicaID(cfg), log.With("component", "ha"), ha.NewMetrics(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	return kubeStore{Kube: db.Fenced(le), client: client}, le, nil
}

// kubeStore is the Kubernetes store's fenced view with the client the
// replicas' presence uses.
type kubeStore struct {
	*store.Kube
	client kubernetes.Interface
}

// closer is a fenced view whose Close closes the client it shares.
type closer struct {
	*store.Etcd
	own *store.Etcd
}

func (c closer) Close() error { return c.own.Close() }

// etcdTLS builds the etcd client's TLS configuration, or nil.
func etcdTLS(cfg *config.Config) (*tls.Config, error) {
	t := cfg.Store.TLS
	if t == (config.TLS{}) {
		return nil, nil
	}
	tc := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in, for tests
	if t.CAFile != "" {
		b, err := os.ReadFile(cfg.Resolve(t.CAFile))
		if err != nil {
			return nil, fmt.Errorf("store.tls.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("store.tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
	}
	if t.CertFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.Resolve(t.CertFile), cfg.Resolve(t.KeyFile))
		if err != nil {
			return nil, fmt.Errorf("store.tls: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

// notLeader is the error a follower answers mutating calls with (the API
// maps rollout.ErrNotRunning to 503).
func notLeader(el elector) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := el.Leader(ctx)
	switch {
	case err != nil:
		return fmt.Errorf("%w: this replica is not the leader, and the leader could not be read: %w", rollout.ErrNotRunning, err)
	case id == "":
		return fmt.Errorf("%w: this replica is not the leader; no replica leads right now", rollout.ErrNotRunning)
	}
	return fmt.Errorf("%w: this replica is not the leader; the leader is %s", rollout.ErrNotRunning, id)
}

// haRollouts serves the API on any replica: the leader's manager, or, on a
// follower, the stored states read-only, refusing commands with 503.
type haRollouts struct {
	mgr *rollout.Manager
	el  elector
	db  stateStore
}

func (h haRollouts) stored() ([]rollout.State, error) {
	raw, err := h.db.Load(rollout.StoreKind)
	if err != nil {
		return nil, err
	}
	out := make([]rollout.State, 0, len(raw))
	for name, b := range raw {
		var st rollout.State
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("stored rollout %q: %w", name, err)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// List returns the rollouts.
func (h haRollouts) List() []rollout.State {
	if h.el.IsLeader() {
		return h.mgr.List()
	}
	out, _ := h.stored()
	return out
}

// Get returns one rollout.
func (h haRollouts) Get(name string) (rollout.State, error) {
	if h.el.IsLeader() {
		return h.mgr.Get(name)
	}
	var st rollout.State
	if err := h.db.Get(rollout.StoreKind, name, &st); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return st, fmt.Errorf("%w: %q", rollout.ErrNotFound, name)
		}
		return st, err
	}
	return st, nil
}

// History returns a rollout's events.
func (h haRollouts) History(name string, limit int) ([]rollout.Event, error) {
	if h.el.IsLeader() {
		return h.mgr.History(name, limit)
	}
	raw, err := h.db.History(rollout.StoreKind, name, limit)
	if err != nil {
		return nil, err
	}
	out := make([]rollout.Event, 0, len(raw))
	for _, b := range raw {
		var ev rollout.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// Start starts a rollout on the leader.
func (h haRollouts) Start(ctx context.Context, req rollout.StartRequest) (rollout.State, error) {
	if !h.el.IsLeader() {
		return rollout.State{}, notLeader(h.el)
	}
	return h.mgr.Start(ctx, req)
}

// Command runs an operator command on the leader.
func (h haRollouts) Command(ctx context.Context, name string, c rollout.Command) (rollout.State, error) {
	if !h.el.IsLeader() {
		return rollout.State{}, notLeader(h.el)
	}
	return h.mgr.Command(ctx, name, c)
}

// haAutoscalers are the autoscalers of the current leadership term: built
// when this replica starts leading (so they load the state the previous
// leader stored), absent on a follower. With a single replica (el nil)
// they are built once the rollout manager runs (a local actuator waits
// for it to publish the services).
type haAutoscalers struct {
	el  elector
	cur atomic.Pointer[autoscale.Manager]
}

func (h *haAutoscalers) get() (*autoscale.Manager, error) {
	m := h.cur.Load()
	switch {
	case h.el == nil && m == nil:
		return nil, fmt.Errorf("%w: the autoscalers are starting", rollout.ErrNotRunning)
	case h.el == nil:
		return m, nil
	case m != nil && h.el.IsLeader():
		return m, nil
	}
	return nil, notLeader(h.el)
}

// runAutoscalers builds the autoscalers, publishes them to as, and runs
// them until ctx ends.
func runAutoscalers(ctx context.Context, as *haAutoscalers, build func(ctx context.Context) (*autoscale.Manager, error)) error {
	am, err := build(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting to build
		}
		return err
	}
	as.cur.Store(am)
	defer as.cur.Store(nil)
	return am.Run(ctx)
}

// List returns the autoscalers' status (none on a follower).
func (h *haAutoscalers) List() []autoscale.Status {
	m, err := h.get()
	if err != nil {
		return nil
	}
	return m.List()
}

// Get returns one autoscaler's status.
func (h *haAutoscalers) Get(name string) (autoscale.Status, error) {
	m, err := h.get()
	if err != nil {
		return autoscale.Status{}, err
	}
	return m.Get(name)
}

// Pause pauses an autoscaler on the leader.
func (h *haAutoscalers) Pause(name, reason string) error {
	m, err := h.get()
	if err != nil {
		return err
	}
	return m.Pause(name, reason)
}

// Resume resumes an autoscaler on the leader.
func (h *haAutoscalers) Resume(name string) error {
	m, err := h.get()
	if err != nil {
		return err
	}
	return m.Resume(name)
}

// lead is what the leader runs: the rollout loops and the autoscalers
// (built now, from the stored state), until ctx ends or either stops.
func lead(ctx context.Context, mgr *rollout.Manager, as *haAutoscalers, build func(ctx context.Context) (*autoscale.Manager, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	// The manager runs while the autoscalers are built: a local actuator
	// waits for it to publish the services.
	for i, run := range []func(context.Context) error{mgr.Run, func(ctx context.Context) error { return runAutoscalers(ctx, as, build) }} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			errs[i] = run(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// followThenLead publishes the leader's stored routing on this replica's
// xDS server while it follows (a watch on the store), and runs leadFn
// once it leads.
func followThenLead(ctx context.Context, el elector, mgr *rollout.Manager, db stateStore, leadFn func(context.Context) error) error {
	fctx, stopFollowing := context.WithCancel(ctx)
	following := make(chan struct{})
	go func() {
		defer close(following)
		var changed <-chan struct{}
		if w, ok := db.(interface {
			Watch(ctx context.Context, kind string) <-chan struct{}
		}); ok {
			changed = w.Watch(fctx, rollout.StoreKind)
		}
		_ = mgr.Follow(fctx, changed, 5*time.Second)
	}()
	defer func() { stopFollowing(); <-following }()
	return el.Run(ctx, func(ctx context.Context) error {
		stopFollowing()
		<-following
		return leadFn(ctx)
	})
}

// StoreDesc describes the configured store (for vane run --check).
func StoreDesc(cfg *config.Config) string {
	if cfg.Store.Kind == config.StoreKubernetes {
		ns := cfg.Store.Namespace
		if ns == "" {
			ns = "the Pod's namespace"
		}
		l := cfg.Election.Lease
		return fmt.Sprintf("kubernetes configmaps %s-state, %s-history-*, %s-replica-* in %s (leader: Kubernetes Lease %s, duration %s)",
			cfg.Store.Name, cfg.Store.Name, cfg.Store.Name, ns, l.Name, time.Duration(l.Duration))
	}
	if cfg.Store.Kind == config.StoreEtcd {
		if l := cfg.Election.Lease; cfg.Election.Kind == config.ElectionLease && l != nil {
			ns := l.Namespace
			if ns == "" {
				ns = "the Pod's namespace"
			}
			return fmt.Sprintf("etcd %s prefix %s (leader: Kubernetes Lease %s in %s, duration %s)", strings.Join(cfg.Store.Endpoints, ","), cfg.Store.Prefix, l.Name, ns, time.Duration(l.Duration))
		}
		return fmt.Sprintf("etcd %s prefix %s (lease TTL %s)", strings.Join(cfg.Store.Endpoints, ","), cfg.Store.Prefix, time.Duration(cfg.Store.LeaseTTL))
	}
	return cfg.Resolve(cfg.Store.Path)
}

// Services lists the configured services, which every replica knows; on a
// follower the rollouts' phases are the stored ones.
func (h haRollouts) Services() []rollout.ServiceStatus {
	out := h.mgr.Services()
	if h.el.IsLeader() {
		return out
	}
	stored, _ := h.stored()
	phase := map[string]rollout.Phase{}
	for _, st := range stored {
		phase[st.Name] = st.Phase
	}
	for i := range out {
		out[i].Phase = phase[out[i].Service.Name]
	}
	return out
}

// newPresence builds this replica's presence (its record in etcd or in a
// ConfigMap: API URL,
// configuration fingerprints, its proxies' ACKs), or nil with a bbolt
// store.
func newPresence(cfg *config.Config, db stateStore, el elector, xs *xds.Server, log *slog.Logger) (*ha.Presence, error) {
	if el == nil {
		return nil, nil
	}
	var id string
	var m *ha.Metrics // nil: the etcd elector's
	switch e := el.(type) {
	case *ha.Elector:
		id = e.ID()
	case *leaseElector:
		id, m = e.id, e.m
	default:
		return nil, fmt.Errorf("replica presence: unknown election %T", el)
	}
	conf := map[string]string{}
	for _, sc := range cfg.ServiceConfigs() {
		conf[sc.Service.Name] = ha.ConfigFingerprint(sc)
	}
	o := ha.PresenceOptions{ID: id, API: advertiseURL(cfg), TTL: time.Duration(cfg.Store.LeaseTTL), Config: conf, Local: xs,
		Elector: el, Metrics: m, Logger: log.With("component", "ha")}
	switch c := db.(type) {
	case closer:
		o.Prefix = c.Prefix()
		return ha.NewPresence(c.Client(), o)
	case kubeStore:
		// A record lives as long as the Lease: a dead replica's proxies
		// drop out within about the time its successor takes over.
		o.TTL = time.Duration(cfg.Election.Lease.Duration)
		b, err := kube.NewBoard(c.client, kube.BoardOptions{Namespace: c.Namespace(), Name: c.Name(), ID: id, TTL: o.TTL, Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		o.Transport = b
		return ha.NewPresence(nil, o)
	}
	return nil, fmt.Errorf("replica presence: the store %T is not shared", db)
}

// haRouter wraps the router so that the leader counts a change applied
// once the proxies of every replica took it up (no presence: r itself).
func haRouter(p *ha.Presence, r traffic.Router) traffic.Router {
	if p == nil {
		return r
	}
	return p.Router(r)
}

// haAPI lets a follower's API forward commands to the leader and serve
// GET /api/v1/replicas.
func haAPI(o *api.Options, p *ha.Presence, cfg *config.Config) error {
	if p == nil {
		return nil
	}
	o.Leader, o.Cluster, o.ReplicaID = p, p, p.ID()
	if cfg.HTTP.CertFile != "" {
		// The replicas share the API's certificate, or one from a CA the
		// system trusts.
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		b, err := os.ReadFile(cfg.Resolve(cfg.HTTP.CertFile))
		if err != nil {
			return fmt.Errorf("http.cert_file: %w", err)
		}
		pool.AppendCertsFromPEM(b)
		o.ForwardTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return nil
}

// advertiseURL is where other replicas reach this replica's API:
// http.advertise_url, else http.listen with this host's name for an
// unspecified host.
func advertiseURL(cfg *config.Config) string {
	if cfg.HTTP.AdvertiseURL != "" {
		return strings.TrimRight(cfg.HTTP.AdvertiseURL, "/")
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if host, err = os.Hostname(); err != nil {
			host = "localhost"
		}
	}
	scheme := "http"
	if cfg.HTTP.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
