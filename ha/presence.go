package ha

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vaneproj/vane/traffic"
)

// ServiceAcks is what one replica's proxies did with the routing it serves
// for one service.
type ServiceAcks struct {
	// Serving is the Fingerprint of the service and routing the replica
	// last published on its xDS server.
	Serving string `json:"serving"`
	// Acked are the nodes connected to the replica that ACKed it.
	Acked []string `json:"acked,omitempty"`
	// Nacked are the nodes that rejected it.
	Nacked []traffic.NodeStatus `json:"nacked,omitempty"`
	// Pending counts the subscribed streams that have not answered yet.
	Pending int `json:"pending,omitempty"`
}

// proxies reports whether any proxy connected to the replica uses the service.
func (a ServiceAcks) proxies() bool {
	return len(a.Acked) > 0 || len(a.Nacked) > 0 || a.Pending > 0
}

// Replica is the record one replica publishes under
// <prefix>/replicas/<id>, attached to its own lease: when the replica dies
// the record, and with it its proxies, drops out within the lease TTL.
type Replica struct {
	// ID is the replica's election ID.
	ID string `json:"id"`
	// API is the base URL of its HTTP API (where commands are forwarded).
	API string `json:"api"`
	// Streams is the number of xDS streams connected to it.
	Streams int `json:"streams"`
	// Config is, per configured service, the fingerprint of its
	// configuration (ConfigFingerprint).
	Config map[string]string `json:"config"`
	// Services is what its proxies did with what it serves, per service.
	Services map[string]ServiceAcks `json:"services"`
	// Leader is set in Status for the replica that leads (not stored).
	Leader bool `json:"leader,omitempty"`
}

// ConfigDiff names another replica whose configuration of some services
// differs from this replica's.
type ConfigDiff struct {
	Replica  string   `json:"replica"`
	Services []string `json:"services"`
}

// Status is what GET /api/v1/replicas answers: the live replicas and the
// configuration differences this replica sees.
type Status struct {
	Self          string       `json:"self"`
	Leader        string       `json:"leader"`
	Replicas      []Replica    `json:"replicas"`
	ConfigDiffers []ConfigDiff `json:"config_differs"`
}

// Local is this replica's xDS server as the presence needs it
// (xds.Server implements it).
type Local interface {
	// Holding reports what the connected proxies did with the current
	// state of a service.
	Holding(service string) (acked []string, nacked []traffic.NodeStatus, pending int)
	// Streams is the number of connected xDS streams.
	Streams() int
	// Changes is signalled when Holding or Streams may have changed.
	Changes() <-chan struct{}
}

// Leadership tells whether this replica leads and who does.
type Leadership interface {
	// IsLeader reports whether this replica leads now.
	IsLeader() bool
	// Leader is the leading replica's ID, "" when none.
	Leader(ctx context.Context) (string, error)
}

// PresenceOptions configures a Presence.
type PresenceOptions struct {
	// Transport carries the records between the replicas. Default: etcd,
	// under Prefix, with the client NewPresence is given.
	Transport Transport
	// Prefix is the etcd store's key prefix. Required without Transport.
	Prefix string
	// ID is this replica's election ID (Elector's Options.ID). Required.
	ID string
	// API is the base URL of this replica's HTTP API, e.g.
	// "http://10.0.0.5:8080". Required.
	API string
	// TTL is how long a replica's record outlives its last renewal (with
	// etcd, the lease's TTL: whole seconds, at least 1s).
	TTL time.Duration
	// Config is, per configured service, ConfigFingerprint of its
	// configuration.
	Config map[string]string
	// Local is this replica's xDS server. Required.
	Local Local
	// Elector tells who leads (this package's Elector, or another election
	// such as a Kubernetes Lease). Required.
	Elector Leadership
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics; nil means the Elector's when it is this package's Elector,
	// else unregistered ones.
	Metrics *Metrics
}

// Presence publishes this replica's record (its API URL, its
// configuration's fingerprints, its proxies' ACKs) under its own lease and
// follows the other replicas' records. It wraps the replica's router
// (Router) so that the leader counts a change applied only once every
// proxy of every live replica took it up, tells the API where the leader
// is (LeaderURL), and reports configurations that differ between replicas.
// It is safe for concurrent use.
type Presence struct {
	tr  Transport
	o   PresenceOptions
	log *slog.Logger

	mu      sync.Mutex
	peers   map[string]Replica // by ID, this replica's own record included
	serving map[string]string  // service → fingerprint of what this replica serves
	update  chan struct{}      // closed and replaced when peers change
	diffs   []ConfigDiff

	dirty chan struct{} // this replica's record must be published again
	halt  chan struct{} // closed by crash (tests)
}

// NewPresence checks the options; Run publishes and follows. cli is the
// etcd client of the default transport (nil with o.Transport).
func NewPresence(cli *clientv3.Client, o PresenceOptions) (*Presence, error) {
	if o.ID == "" || o.API == "" || o.Local == nil || o.Elector == nil {
		return nil, errors.New("ha: PresenceOptions.ID, API, Local and Elector are required")
	}
	if o.TTL < time.Second {
		return nil, fmt.Errorf("ha: TTL %s is under a second", o.TTL)
	}
	if o.Transport == nil {
		if cli == nil || o.Prefix == "" {
			return nil, errors.New("ha: the etcd presence needs a client and PresenceOptions.Prefix")
		}
		o.Transport = &etcdTransport{cli: cli, pfx: o.Prefix + "/replicas/", id: o.ID, ttl: o.TTL, log: o.Logger}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		if e, ok := o.Elector.(*Elector); ok {
			o.Metrics = e.o.Metrics
		} else {
			o.Metrics = NewMetrics(nil)
		}
	}
	if e, ok := o.Transport.(*etcdTransport); ok && e.log == nil {
		e.log = o.Logger
	}
	return &Presence{tr: o.Transport, o: o, log: o.Logger,
		peers: map[string]Replica{}, serving: map[string]string{}, update: make(chan struct{}),
		dirty: make(chan struct{}, 1), halt: make(chan struct{})}, nil
}

// Fingerprint identifies a service's settings and routing: two replicas
// that publish the same fingerprint serve the same weights.
func Fingerprint(svc traffic.Service, r traffic.Routing) string {
	return hash(struct {
		S traffic.Service `json:"s"`
		R traffic.Routing `json:"r"`
	}{svc, r})
}

// ConfigFingerprint identifies one service's configuration (any value that
// encodes to JSON), for the comparison between replicas.
func ConfigFingerprint(v any) string { return hash(v) }

func hash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// ID is this replica's election ID.
func (p *Presence) ID() string { return p.o.ID }

func (p *Presence) markDirty() {
	select {
	case p.dirty <- struct{}{}:
	default:
	}
}

// Run publishes this replica's record and follows the others' until ctx
// ends; then it withdraws the record. Changes of the record are merged
// over 20ms (every proxy ACKing one push) into one write.
func (p *Presence) Run(ctx context.Context) error {
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); p.tr.Watch(wctx, p.setRecords) }()
	defer func() { stopWatch(); <-watched }()
	changed := make(chan struct{}, 1)
	pctx, stopPublishing := context.WithCancel(ctx)
	published := make(chan struct{})
	go func() { defer close(published); p.tr.Publish(pctx, p.encoded, changed, p.halt) }()
	defer func() { stopPublishing(); <-published }()
	p.markDirty()
	local := p.o.Local.Changes()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.halt:
			<-published // it returns without withdrawing the record
			return nil
		case <-local:
		case <-p.dirty:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

// crash stops publishing and renewing the record without withdrawing it,
// as a killed process would. For tests.
func (p *Presence) crash() { close(p.halt) }

// encoded is this replica's record now, encoded (nil if it cannot be).
func (p *Presence) encoded() []byte {
	b, err := json.Marshal(p.record())
	if err != nil {
		p.log.Error("Could not encode this replica's record", "err", err)
		return nil
	}
	return b
}

// record builds this replica's record now.
func (p *Presence) record() Replica {
	p.mu.Lock()
	serving := maps.Clone(p.serving)
	p.mu.Unlock()
	r := Replica{ID: p.o.ID, API: p.o.API, Streams: p.o.Local.Streams(), Config: p.o.Config, Services: map[string]ServiceAcks{}}
	names := slices.Sorted(maps.Keys(serving))
	for _, name := range names {
		acked, nacked, pending := p.o.Local.Holding(name)
		r.Services[name] = ServiceAcks{Serving: serving[name], Acked: acked, Nacked: nacked, Pending: pending}
	}
	return r
}

// setRecords installs the live replicas' records the transport delivers.
func (p *Presence) setRecords(recs [][]byte) {
	peers := make(map[string]Replica, len(recs))
	for _, b := range recs {
		if r, ok := p.decode(b); ok {
			peers[r.ID] = r
		}
	}
	p.setPeers(peers)
}

func (p *Presence) decode(b []byte) (Replica, bool) {
	var r Replica
	if err := json.Unmarshal(b, &r); err != nil || r.ID == "" {
		p.log.Warn("A replica's record cannot be read; ignored", "err", err)
		return r, false
	}
	return r, true
}

// setPeers installs the records, wakes the waiters and compares the
// configurations.
func (p *Presence) setPeers(peers map[string]Replica) {
	var diffs []ConfigDiff
	for _, id := range slices.Sorted(maps.Keys(peers)) {
		if id == p.o.ID {
			continue
		}
		if svcs := configDiff(p.o.Config, peers[id].Config); len(svcs) > 0 {
			diffs = append(diffs, ConfigDiff{Replica: id, Services: svcs})
		}
	}
	p.mu.Lock()
	old := p.diffs
	p.peers, p.diffs = peers, diffs
	// The gauges change before the waiters wake, so that whatever an
	// apply decides on these records, the metrics already show.
	p.o.Metrics.replicas.Set(float64(len(peers)))
	p.o.Metrics.configDiffers.Set(float64(len(diffs)))
	close(p.update)
	p.update = make(chan struct{})
	p.mu.Unlock()
	if !slices.EqualFunc(old, diffs, func(a, b ConfigDiff) bool { return a.Replica == b.Replica && slices.Equal(a.Services, b.Services) }) {
		for _, d := range diffs {
			p.log.Warn("Another replica's configuration differs from this one's; the stored state wins", "replica", d.Replica,
				"services", strings.Join(d.Services, ","))
		}
		if len(diffs) == 0 && len(old) > 0 {
			p.log.Info("The replicas' configurations agree again")
		}
	}
}

// configDiff returns the services whose configuration differs between a
// and b (or that only one of them configures), sorted.
func configDiff(a, b map[string]string) []string {
	var out []string
	for name, fa := range a {
		if fb, ok := b[name]; !ok || fb != fa {
			out = append(out, name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// ErrNoLeader is returned (wrapped) by LeaderURL when no replica leads or
// the leader's API is not known.
var ErrNoLeader = errors.New("ha: no leader is known")

// LeaderURL returns the base URL of the leader's API, or self true when
// this replica leads.
func (p *Presence) LeaderURL(ctx context.Context) (string, bool, error) {
	if p.o.Elector.IsLeader() {
		return "", true, nil
	}
	id, err := p.o.Elector.Leader(ctx)
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrNoLeader, err)
	}
	if id == "" {
		return "", false, fmt.Errorf("%w: no replica leads right now", ErrNoLeader)
	}
	if id == p.o.ID {
		return "", false, fmt.Errorf("%w: this replica won the election but has not started leading yet", ErrNoLeader)
	}
	p.mu.Lock()
	r, ok := p.peers[id]
	p.mu.Unlock()
	if !ok || r.API == "" {
		return "", false, fmt.Errorf("%w: the leader %s has not published its API URL", ErrNoLeader, id)
	}
	return r.API, false, nil
}

// Status returns the live replicas and the configuration differences.
func (p *Presence) Status(ctx context.Context) (Status, error) {
	leader, err := p.o.Elector.Leader(ctx)
	if err != nil {
		return Status{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Self: p.o.ID, Leader: leader, Replicas: []Replica{}, ConfigDiffers: slices.Clone(p.diffs)}
	if st.ConfigDiffers == nil {
		st.ConfigDiffers = []ConfigDiff{}
	}
	for _, id := range slices.Sorted(maps.Keys(p.peers)) {
		r := p.peers[id]
		r.Leader = id == leader
		st.Replicas = append(st.Replicas, r)
	}
	return st, nil
}

// Router wraps this replica's router. Every apply records what the
// replica serves (published in its record); while this replica leads, an
// apply also waits until every other live replica serves the same routing
// and all its proxies that use the service have ACKed it. The Applied it
// returns lists the nodes of every replica, so the rollout's min_proxies
// counts proxies across replicas. A NACK on any replica fails the apply
// (the error wraps traffic.ErrNacked); a replica still waiting when ctx
// ends fails it with ctx's error.
func (p *Presence) Router(local traffic.Router) traffic.Router {
	return traffic.RouterFunc(func(ctx context.Context, svc traffic.Service, r traffic.Routing) (traffic.Applied, error) {
		a, err := local.Apply(ctx, svc, r)
		if err == nil || errors.Is(err, traffic.ErrNacked) || ctx.Err() != nil {
			// Published on this replica's xDS server (only invalid input
			// changes nothing).
			fp := Fingerprint(svc, r)
			p.mu.Lock()
			changed := p.serving[svc.Name] != fp
			p.serving[svc.Name] = fp
			p.mu.Unlock()
			if changed {
				p.markDirty()
			}
		}
		if err != nil || !p.o.Elector.IsLeader() {
			return a, err
		}
		return p.awaitPeers(ctx, svc.Name, Fingerprint(svc, r), a)
	})
}

// awaitPeers waits until every other live replica serves fp for service
// name and its proxies took it up; it merges their nodes into a.
func (p *Presence) awaitPeers(ctx context.Context, name, fp string, a traffic.Applied) (traffic.Applied, error) {
	start := time.Now()
	for {
		p.mu.Lock()
		peers, update := p.peers, p.update
		p.mu.Unlock()
		acked := map[string]struct{}{}
		for _, n := range a.Acked {
			acked[n] = struct{}{}
		}
		var nacked []traffic.NodeStatus
		var waiting []string
		for _, id := range slices.Sorted(maps.Keys(peers)) {
			if id == p.o.ID {
				continue
			}
			sa := peers[id].Services[name]
			switch {
			case sa.Serving != fp && sa.proxies():
				waiting = append(waiting, fmt.Sprintf("the proxies of replica %s have not taken it up yet", id))
			case sa.Serving != fp:
				// No proxy of that replica uses the service.
			case len(sa.Nacked) > 0:
				nacked = append(nacked, sa.Nacked...)
			case sa.Pending > 0:
				waiting = append(waiting, fmt.Sprintf("%d stream(s) on replica %s had not ACKed", sa.Pending, id))
			default:
				for _, n := range sa.Acked {
					acked[n] = struct{}{}
				}
			}
		}
		out := traffic.Applied{Version: a.Version, Acked: slices.Sorted(maps.Keys(acked)), Nacked: append(slices.Clone(a.Nacked), nacked...),
			Took: a.Took + time.Since(start)}
		switch {
		case len(nacked) > 0:
			var b strings.Builder
			for i, n := range nacked {
				if i > 0 {
					b.WriteString("; ")
				}
				fmt.Fprintf(&b, "node %q rejected %s", n.Node, n.Error)
			}
			return out, fmt.Errorf("ha: service %q on another replica: %w: %s", name, traffic.ErrNacked, b.String())
		case len(waiting) == 0:
			return out, nil
		}
		select {
		case <-update:
		case <-ctx.Done():
			return out, fmt.Errorf("ha: service %q: %s: %w", name, strings.Join(waiting, "; "), ctx.Err())
		}
	}
}
