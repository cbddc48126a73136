package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/xds"

	"github.com/vaneproj/vane/demo/sampleapp"
)

// UnknownVersion is the version under which calls are counted when no
// server answered (for example no endpoint was reachable).
const UnknownVersion = "unknown"

// Config configures a Generator.
type Config struct {
	// Target is the gRPC target to dial, e.g. "xds:///demo" (required).
	Target string
	// Bootstrap is the xDS bootstrap JSON for an xds:/// target. When set,
	// the client gets its own xDS resolver built from it
	// (xds.NewXDSResolverWithConfigForTesting), so several clients with
	// different node ids can live in one process; when empty, an xds:///
	// target uses the process-wide GRPC_XDS_BOOTSTRAP(_CONFIG) environment.
	Bootstrap []byte
	// DialOptions are added to the client's; transport credentials default
	// to insecure (loopback).
	DialOptions []grpc.DialOption
	// Rate is the initial number of calls per second; 0 sends nothing until
	// SetRate or Ramp.
	Rate float64
	// Timeout bounds each call; 0 means 2 s.
	Timeout time.Duration
	// MaxInFlight bounds concurrent calls; a call due while the bound is
	// reached is not sent and counted as Dropped. 0 means 512.
	MaxInFlight int
	// SlowThreshold, when positive, counts successful calls that took longer
	// as Slow, and Slow calls as bad.
	SlowThreshold time.Duration
	// Logger receives start, stop and rate changes; nil discards.
	Logger *slog.Logger
}

// VersionStats counts the calls one version answered.
type VersionStats struct {
	OK     uint64 `json:"ok"`
	Failed uint64 `json:"failed"`
	// Slow counts successful calls slower than Config.SlowThreshold.
	Slow uint64 `json:"slow"`
	// Codes counts calls by gRPC code name ("OK", "Unavailable", ...).
	Codes map[string]uint64 `json:"codes"`
	// FirstBad and LastBad are when the first and last failed or slow call
	// was sent; zero when there was none.
	FirstBad time.Time `json:"first_bad"`
	LastBad  time.Time `json:"last_bad"`
	// LastServed is when the last call this version answered was sent.
	LastServed time.Time `json:"last_served"`
}

// Total is the number of calls the version answered.
func (v VersionStats) Total() uint64 { return v.OK + v.Failed }

// Bad is the number of failed or slow calls: what users experienced as bad.
func (v VersionStats) Bad() uint64 { return v.Failed + v.Slow }

// Stats is a snapshot of what the generator's users got.
type Stats struct {
	// Sent counts calls sent; Dropped counts calls not sent because
	// MaxInFlight was reached.
	Sent    uint64 `json:"sent"`
	Dropped uint64 `json:"dropped"`
	// ByVersion counts completed calls by the version that answered, or
	// UnknownVersion.
	ByVersion map[string]VersionStats `json:"by_version"`
	// At is when the snapshot was taken.
	At time.Time `json:"at"`
}

// Completed is the number of calls that have finished.
func (s Stats) Completed() uint64 {
	var n uint64
	for _, v := range s.ByVersion {
		n += v.Total()
	}
	return n
}

// Bad is the number of failed or slow calls over all versions.
func (s Stats) Bad() uint64 {
	var n uint64
	for _, v := range s.ByVersion {
		n += v.Bad()
	}
	return n
}

// FirstBad is the earliest FirstBad over all versions, zero if none.
func (s Stats) FirstBad() time.Time {
	var t time.Time
	for _, v := range s.ByVersion {
		if !v.FirstBad.IsZero() && (t.IsZero() || v.FirstBad.Before(t)) {
			t = v.FirstBad
		}
	}
	return t
}

// Sub returns what happened between an earlier snapshot prev and s: counts
// are differences; FirstBad is the first bad call after prev.At (exact when
// prev had no bad call for that version, otherwise the earliest bad call
// known to be after prev, i.e. LastBad, when only one is known).
func (s Stats) Sub(prev Stats) Stats {
	d := Stats{Sent: s.Sent - prev.Sent, Dropped: s.Dropped - prev.Dropped,
		ByVersion: map[string]VersionStats{}, At: s.At}
	for ver, v := range s.ByVersion {
		p := prev.ByVersion[ver]
		dv := VersionStats{OK: v.OK - p.OK, Failed: v.Failed - p.Failed, Slow: v.Slow - p.Slow,
			Codes: map[string]uint64{}, LastBad: v.LastBad, LastServed: v.LastServed}
		for c, n := range v.Codes {
			if n -= p.Codes[c]; n > 0 {
				dv.Codes[c] = n
			}
		}
		switch {
		case dv.Bad() == 0:
			dv.FirstBad, dv.LastBad = time.Time{}, time.Time{}
		case p.Bad() == 0:
			dv.FirstBad = v.FirstBad
		default:
			dv.FirstBad = v.firstBadAfter(prev.At)
		}
		if dv.Total() == 0 && dv.Bad() == 0 {
			continue
		}
		d.ByVersion[ver] = dv
	}
	return d
}

func (v VersionStats) firstBadAfter(t time.Time) time.Time {
	if v.FirstBad.After(t) {
		return v.FirstBad
	}
	return v.LastBad
}

// Generator sends calls and counts their outcomes. Its methods are safe for
// concurrent use; Run may be called once.
type Generator struct {
	cfg    Config
	logger *slog.Logger
	cc     *grpc.ClientConn
	client testgrpc.TestServiceClient

	rate     atomic.Uint64 // math.Float64bits
	inFlight atomic.Int64
	ran      atomic.Bool

	mu    sync.Mutex
	stats Stats
	// epoch is the current Barrier epoch; pending counts the unfinished
	// calls sent in each epoch.
	epoch   uint64
	pending map[uint64]int

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg and creates the client; no call is sent before Run.
func New(cfg Config) (*Generator, error) {
	if cfg.Target == "" {
		return nil, errors.New("loadgen: config.target: empty")
	}
	if err := validRate(cfg.Rate); err != nil {
		return nil, fmt.Errorf("loadgen: config.rate: %w", err)
	}
	if cfg.Timeout < 0 || cfg.MaxInFlight < 0 || cfg.SlowThreshold < 0 {
		return nil, errors.New("loadgen: config.timeout, max_in_flight and slow_threshold must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 512
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if len(cfg.Bootstrap) > 0 {
		rb, err := xds.NewXDSResolverWithConfigForTesting(cfg.Bootstrap)
		if err != nil {
			return nil, fmt.Errorf("loadgen: xDS bootstrap: %w", err)
		}
		opts = append(opts, grpc.WithResolvers(rb))
	}
	opts = append(opts, cfg.DialOptions...)
	cc, err := grpc.NewClient(cfg.Target, opts...)
	if err != nil {
		return nil, fmt.Errorf("loadgen: dial %s: %w", cfg.Target, err)
	}
	g := &Generator{cfg: cfg, logger: logger.With("target", cfg.Target), cc: cc,
		client: testgrpc.NewTestServiceClient(cc), stats: Stats{ByVersion: map[string]VersionStats{}}, pending: map[uint64]int{}}
	g.rate.Store(math.Float64bits(cfg.Rate))
	return g, nil
}

// Rate is the current number of calls per second.
func (g *Generator) Rate() float64 { return math.Float64frombits(g.rate.Load()) }

// SetRate changes the number of calls per second at once.
func (g *Generator) SetRate(rps float64) error {
	if err := validRate(rps); err != nil {
		return fmt.Errorf("loadgen: rate: %w", err)
	}
	g.rate.Store(math.Float64bits(rps))
	g.logger.Debug("Rate changed", "rps", rps)
	return nil
}

// Ramp moves the rate linearly from its current value to rps over d,
// adjusting it every 100 ms, and returns when it is there or ctx ends.
func (g *Generator) Ramp(ctx context.Context, rps float64, d time.Duration) error {
	if err := validRate(rps); err != nil {
		return fmt.Errorf("loadgen: ramp: %w", err)
	}
	from, start := g.Rate(), time.Now()
	g.logger.Info("Ramp started", "from_rps", from, "to_rps", rps, "over", d)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		f := 1.0
		if d > 0 {
			f = min(1, float64(time.Since(start))/float64(d))
		}
		_ = g.SetRate(from + (rps-from)*f)
		if f >= 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Stats returns a snapshot of the counts so far.
func (g *Generator) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.ByVersion = make(map[string]VersionStats, len(g.stats.ByVersion))
	for k, v := range g.stats.ByVersion {
		codes := make(map[string]uint64, len(v.Codes))
		for c, n := range v.Codes {
			codes[c] = n
		}
		v.Codes = codes
		s.ByVersion[k] = v
	}
	s.At = time.Now()
	return s
}

// Run sends calls at the current rate until ctx ends, then waits for the
// calls in flight and returns nil. It returns an error if called twice.
func (g *Generator) Run(ctx context.Context) error {
	if !g.ran.CompareAndSwap(false, true) {
		return errors.New("loadgen: Run called twice")
	}
	g.logger.Info("Load generator started", "rps", g.Rate())
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		g.logger.Info("Load generator stopped", "sent", g.Stats().Sent)
	}()
	// last is when the previous call was due. The wait for the next one is
	// cut into slices of at most 50 ms so that a rate change applies at once.
	last := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		r := g.Rate()
		if r <= 0 {
			last = now
		}
		var due time.Time
		if r > 0 {
			due = last.Add(time.Duration(float64(time.Second) / r))
		}
		if r <= 0 || due.After(now) {
			wait := 50 * time.Millisecond
			if r > 0 {
				wait = min(wait, due.Sub(now))
			}
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		last = due
		if now.Sub(last) > time.Second {
			// Stalled (e.g. a paused machine): do not burst to catch up.
			last = now
		}
		if g.inFlight.Load() >= int64(g.cfg.MaxInFlight) {
			g.mu.Lock()
			g.stats.Dropped++
			g.mu.Unlock()
			continue
		}
		g.inFlight.Add(1)
		g.mu.Lock()
		g.stats.Sent++
		epoch := g.epoch
		g.pending[epoch]++
		g.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer g.inFlight.Add(-1)
			defer g.finished(epoch)
			g.call(ctx)
		}()
	}
}

// finished records that a call sent in epoch is over.
func (g *Generator) finished(epoch uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending[epoch]--; g.pending[epoch] == 0 {
		delete(g.pending, epoch)
	}
}

// Barrier returns a condition that holds once every call sent before
// Barrier was called has finished (answered, failed or cut short). After
// a routing change is ACKed, waiting for it means that every call counted
// from then on was routed by the new configuration.
func (g *Generator) Barrier() func() bool {
	g.mu.Lock()
	before := g.epoch
	g.epoch++
	g.mu.Unlock()
	return func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		for e := range g.pending {
			if e <= before {
				return false
			}
		}
		return true
	}
}

// call sends one call and records its outcome. Calls cut short by the
// generator's own shutdown are not counted: users did not get them.
func (g *Generator) call(ctx context.Context) {
	sent := time.Now()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.Timeout)
	defer cancel()
	var tr metadata.MD
	resp, err := g.client.UnaryCall(cctx, &testgrpc.SimpleRequest{}, grpc.Trailer(&tr))
	took := time.Since(sent)
	ver := resp.GetServerId()
	if ver == "" {
		if v := tr.Get(sampleapp.VersionTrailer); len(v) > 0 {
			ver = v[0]
		} else {
			ver = UnknownVersion
		}
	}
	code := status.Code(err)
	slow := err == nil && g.cfg.SlowThreshold > 0 && took > g.cfg.SlowThreshold

	g.mu.Lock()
	defer g.mu.Unlock()
	v := g.stats.ByVersion[ver]
	if v.Codes == nil {
		v.Codes = map[string]uint64{}
	}
	v.Codes[code.String()]++
	if code == codes.OK {
		v.OK++
	} else {
		v.Failed++
	}
	if slow {
		v.Slow++
	}
	if code != codes.OK || slow {
		if v.FirstBad.IsZero() || sent.Before(v.FirstBad) {
			v.FirstBad = sent
		}
		if sent.After(v.LastBad) {
			v.LastBad = sent
		}
	}
	if sent.After(v.LastServed) {
		v.LastServed = sent
	}
	g.stats.ByVersion[ver] = v
}

// Close closes the client connection; call it after Run has returned. It
// is idempotent.
func (g *Generator) Close() error {
	g.closeOnce.Do(func() {
		if err := g.cc.Close(); err != nil {
			g.closeErr = fmt.Errorf("loadgen: close: %w", err)
		}
	})
	return g.closeErr
}

func validRate(r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || r > 100000 {
		return fmt.Errorf("%v calls/s is not in [0, 100000]", r)
	}
	return nil
}
