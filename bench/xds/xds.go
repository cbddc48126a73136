package xds

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	sotw "github.com/envoyproxy/go-control-plane/pkg/server/sotw/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/procfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	"github.com/vaneproj/vane/traffic"
	vxds "github.com/vaneproj/vane/xds"
)

// The xDS benchmark runs each server in its own process (so heap, RSS and
// CPU are the server's alone) and the N ADS streams in another; RunChild
// orchestrates them and Print prints the results.
const (
	// Vane is the mode running Vane's xDS server.
	Vane = "vane"
	// Snapshot is the mode running the baseline: go-control-plane's
	// SnapshotCache server as its users tune it: one version per resource
	// type, bumped only when that type changes, and the ordered ADS loop.
	Snapshot            = "snapshotcache-tuned"
	benchXDSServiceName = "bench"
	benchXDSReadyLine   = "ready"
	// ServerCmd and StreamsCmd are the hidden subcommands of `vane bench xds`
	// that run RunServer and RunStreams in child processes.
	ServerCmd        = "server"
	StreamsCmd       = "streams"
	resultLinePrefix = "result "
	benchXDSWarmup   = 3
)

// Result is one server's measurements.
type Result struct {
	Mode               string  `json:"mode"`
	Streams            int     `json:"streams"`
	Changes            int     `json:"changes"`
	ConnectSeconds     float64 `json:"connect_s"`
	P50Ms              float64 `json:"p50_ms"`
	P99Ms              float64 `json:"p99_ms"`
	MaxMs              float64 `json:"max_ms"`
	CPUSecondsPerChg   float64 `json:"cpu_s_per_change"`
	HeapBytesPerStream float64 `json:"heap_bytes_per_stream"`
	RSSBytesPerStream  float64 `json:"rss_bytes_per_stream"`
	PushesPerChange    float64 `json:"pushes_per_change"`
	// StreamsCPUSecondsPerChg is the CPU time of the process holding the N
	// streams (decoding and ACKing), which shares the machine's cores.
	StreamsCPUSecondsPerChg float64 `json:"streams_cpu_s_per_change"`
}

// Print writes the results of Run as a table, or as JSON with asJSON (the
// first result is Vane's, the last the baseline's).
func Print(out io.Writer, rs []Result, asJSON bool) error {
	vane, base := rs[0], rs[len(rs)-1]
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"streams":                           vane.Streams,
			"changes":                           vane.Changes,
			"p50_ms":                            vane.P50Ms,
			"p99_ms":                            vane.P99Ms,
			"max_ms":                            vane.MaxMs,
			"cpu_s_per_change":                  vane.CPUSecondsPerChg,
			"streams_cpu_s_per_change":          vane.StreamsCPUSecondsPerChg,
			"bytes_per_stream":                  vane.RSSBytesPerStream,
			"heap_bytes_per_stream":             vane.HeapBytesPerStream,
			"baseline_p50_ms":                   base.P50Ms,
			"baseline_p99_ms":                   base.P99Ms,
			"baseline_max_ms":                   base.MaxMs,
			"baseline_cpu_s_per_change":         base.CPUSecondsPerChg,
			"baseline_streams_cpu_s_per_change": base.StreamsCPUSecondsPerChg,
			"baseline_bytes_per_stream":         base.RSSBytesPerStream,
			"baseline_heap_bytes_per_stream":    base.HeapBytesPerStream,
			"runs":                              rs,
		})
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tstreams\tp50 ms\tp99 ms\tmax ms\tCPU s/change\tstreams CPU s/change\tpushes/change\theap B/stream\tRSS B/stream\tconnect s\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.4f\t%.4f\t%.0f\t%.0f\t%.0f\t%.1f\t\n", r.Mode, r.Streams, r.P50Ms, r.P99Ms, r.MaxMs,
			r.CPUSecondsPerChg, r.StreamsCPUSecondsPerChg, r.PushesPerChange, r.HeapBytesPerStream, r.RSSBytesPerStream, r.ConnectSeconds)
	}
	return tw.Flush()
}

// RunChild runs one server (mode Vane or Snapshot) in a child process,
// self run as `self bench xds server ...`, and reads its result.
func RunChild(ctx context.Context, self string, errOut io.Writer, mode string, streams, changes int, profileDir string) (Result, error) {
	args := []string{"bench", "xds", ServerCmd,
		"--mode", mode, "--streams", strconv.Itoa(streams), "--changes", strconv.Itoa(changes)}
	if profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(profileDir, mode+"-server.pprof"),
			"--streams-cpuprofile", filepath.Join(profileDir, mode+"-streams.pprof"))
	}
	c := exec.CommandContext(ctx, self, args...)
	c.Stderr = errOut
	stdout, err := c.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	if err := c.Start(); err != nil {
		return Result{}, err
	}
	var res Result
	found := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), resultLinePrefix); ok {
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				return res, fmt.Errorf("result: %w", err)
			}
			found = true
		}
	}
	if err := c.Wait(); err != nil {
		return res, err
	}
	if !found {
		return res, errors.New("no result")
	}
	return res, nil
}

// raiseNoFile lifts the open-file limit to its hard maximum: every stream
// is a TCP connection.
func raiseNoFile(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("setrlimit: %w", err)
		}
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("open-file limit %d is below the %d needed; raise the hard limit (ulimit -Hn)", lim.Cur, need)
	}
	return nil
}

func benchXDSService() traffic.Service {
	return traffic.Service{
		Name:   benchXDSServiceName,
		Stable: traffic.Backend{Version: "v1", Endpoints: []string{"127.0.0.1:20001", "127.0.0.1:20002", "127.0.0.1:20003"}},
		Canary: traffic.Backend{Version: "v2", Endpoints: []string{"127.0.0.1:20011"}},
	}
}

// benchXDSWeights is the routing of change i: the canary weight walks
// 1..50 so that every change differs from the previous one.
func benchXDSWeights(i int) traffic.Routing {
	c := 1 + i%50
	return traffic.Routing{Weights: traffic.Weights{Stable: 100 - c, Canary: c}}
}

// benchGRPCServerOptions are the baseline server's gRPC transport options:
// the same as Vane's (xds/server.go), so that the comparison is of the
// caches and the go-control-plane server loop, not of the transport.
func benchGRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(1 << 20),
		grpc.ReadBufferSize(4 << 10),
		grpc.WriteBufferSize(8 << 10),
		grpc.InitialWindowSize(64 << 10),
		grpc.InitialConnWindowSize(64 << 10),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
}

// memSample is the process's live heap (after a GC) and RSS.
func memSample() (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if p, err := procfs.Self(); err == nil {
		if st, err := p.Stat(); err == nil {
			rss = uint64(st.ResidentMemory())
		}
	}
	return ms.HeapAlloc, rss
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// benchXDSServer is what the benchmark needs from a server under test.
type benchXDSServer struct {
	addr      string
	connected func() int
	pushes    func() float64
	change    func(ctx context.Context, i int) error
	stop      func()
}

// ServerOptions configure one server process of the benchmark.
type ServerOptions struct {
	Mode              string // Vane or Snapshot
	Streams, Changes  int
	CPUProfile        string // the server's CPU profile of the timed changes, if set
	StreamsCPUProfile string // the streams process's, if set
}

// RunServer runs one server of the benchmark in this process: it starts the
// server, starts self as the streams process, times o.Changes weight
// changes and writes its result line to out.
func RunServer(ctx0 context.Context, out, errOut io.Writer, o ServerOptions) error {
	if err := raiseNoFile(o.Streams + 256); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx0)
	defer cancel()
	heap0, rss0 := memSample()
	var srv benchXDSServer
	var err error
	switch o.Mode {
	case Vane:
		srv, err = startBenchVane(ctx, o.Streams)
	case Snapshot:
		srv, err = startBenchSnapshot(ctx, o.Streams)
	default:
		err = fmt.Errorf("mode %q: not one of %s, %s", o.Mode, Vane, Snapshot)
	}
	if err != nil {
		return err
	}
	defer srv.stop()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	start := time.Now()
	clArgs := []string{"bench", "xds", StreamsCmd, "--addr", srv.addr, "--streams", strconv.Itoa(o.Streams)}
	if o.StreamsCPUProfile != "" {
		clArgs = append(clArgs, "--cpuprofile", o.StreamsCPUProfile)
	}
	cl := exec.CommandContext(ctx, self, clArgs...)
	cl.Stderr = errOut
	clOut, err := cl.StdoutPipe()
	if err != nil {
		return err
	}
	stdin, err := cl.StdinPipe()
	if err != nil {
		return err
	}
	if err := cl.Start(); err != nil {
		return fmt.Errorf("start streams: %w", err)
	}
	defer func() {
		_ = stdin.Close() // the streams process exits when its stdin closes
		_ = cl.Wait()
	}()
	ready := make(chan error, 1)
	streamsCPU := make(chan float64, 1)
	go func() {
		sc := bufio.NewScanner(clOut)
		for sc.Scan() {
			if sc.Text() == benchXDSReadyLine {
				ready <- nil
				for sc.Scan() {
					if v, ok := strings.CutPrefix(sc.Text(), benchXDSCPULinePrefix); ok {
						if f, err := strconv.ParseFloat(v, 64); err == nil {
							streamsCPU <- f
						}
					}
				}
				return
			}
		}
		ready <- errors.New("streams process ended before all streams were ready")
	}()
	if err := <-ready; err != nil {
		return err
	}
	for srv.connected() < o.Streams {
		time.Sleep(10 * time.Millisecond)
	}
	connect := time.Since(start)
	time.Sleep(500 * time.Millisecond) // let the last ACKs land
	heap1, rss1 := memSample()
	fmt.Fprintf(errOut, "bench xds: %s: %d streams connected in %.1fs\n", o.Mode, o.Streams, connect.Seconds())

	// Warm up (code paths, buffers) with unmeasured changes.
	for i := 1; i <= benchXDSWarmup; i++ {
		cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
		err := srv.change(cctx, i)
		ccancel()
		if err != nil {
			return fmt.Errorf("warm-up change %d: %w", i, err)
		}
	}
	stopProfiles, err := startBenchProfiles(o.CPUProfile, stdin)
	if err != nil {
		return err
	}
	var lat []float64
	cpu0, pushes0 := cpuSeconds(), srv.pushes()
	for i := benchXDSWarmup + 1; i <= benchXDSWarmup+o.Changes; i++ {
		cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
		t0 := time.Now()
		err := srv.change(cctx, i)
		d := time.Since(t0)
		ccancel()
		if err != nil {
			return fmt.Errorf("change %d: %w", i, err)
		}
		lat = append(lat, float64(d.Microseconds())/1000)
		if len(lat)%10 == 0 || len(lat) == o.Changes || d > time.Second {
			fmt.Fprintf(errOut, "bench xds: %s: change %d/%d took %.1f ms\n", o.Mode, len(lat), o.Changes, lat[len(lat)-1])
		}
	}
	cpu := cpuSeconds() - cpu0
	pushes := srv.pushes() - pushes0
	if err := stopProfiles(); err != nil {
		return err
	}
	var clientCPU float64
	select {
	case clientCPU = <-streamsCPU:
	case <-time.After(10 * time.Second):
		return errors.New("the streams process did not report its CPU time")
	}
	slices.Sort(lat)
	res := Result{
		Mode: o.Mode, Streams: o.Streams, Changes: o.Changes, ConnectSeconds: connect.Seconds(),
		P50Ms: percentile(lat, 0.50), P99Ms: percentile(lat, 0.99), MaxMs: lat[len(lat)-1],
		CPUSecondsPerChg:        cpu / float64(o.Changes),
		HeapBytesPerStream:      (float64(heap1) - float64(heap0)) / float64(o.Streams),
		RSSBytesPerStream:       (float64(rss1) - float64(rss0)) / float64(o.Streams),
		PushesPerChange:         pushes / float64(o.Changes),
		StreamsCPUSecondsPerChg: clientCPU / float64(o.Changes),
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s%s\n", resultLinePrefix, b)
	return err
}

// Lines the server process writes to the streams process's stdin around the
// timed changes (closing stdin ends it). The streams process measures its
// CPU time in between (and its CPU profile, if asked) and reports the time
// on a line "cpu <seconds>".
const (
	benchXDSTimedStart    = "timed-start"
	benchXDSTimedStop     = "timed-stop"
	benchXDSCPULinePrefix = "cpu "
)

// startBenchProfiles starts the server's CPU profile into file (if set) and
// tells the streams process that the timed changes start; the returned func
// stops both.
func startBenchProfiles(file string, stdin io.Writer) (func() error, error) {
	var f *os.File
	if file != "" {
		var err error
		if f, err = os.Create(file); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	if _, err := fmt.Fprintln(stdin, benchXDSTimedStart); err != nil {
		return nil, fmt.Errorf("streams process: %w", err)
	}
	return func() error {
		if _, err := fmt.Fprintln(stdin, benchXDSTimedStop); err != nil {
			return fmt.Errorf("streams process: %w", err)
		}
		if f != nil {
			pprof.StopCPUProfile()
			return f.Close()
		}
		return nil
	}, nil
}

func startBenchVane(ctx context.Context, streams int) (benchXDSServer, error) {
	reg := prometheus.NewRegistry()
	// The benchmark times a change to its ACK by every stream, so Apply
	// returns at the ACK (no hand-off wait; the streams are not channels).
	srv, err := vxds.New(vxds.Options{Listen: "127.0.0.1:0", Registerer: reg, Handoff: -1})
	if err != nil {
		return benchXDSServer{}, err
	}
	addr, err := srv.Listen()
	if err != nil {
		return benchXDSServer{}, err
	}
	svc := benchXDSService()
	if _, err := srv.Apply(ctx, svc, traffic.AllStable()); err != nil {
		return benchXDSServer{}, err
	}
	done := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	go func() { done <- srv.Run(rctx) }()
	return benchXDSServer{
		addr:      addr.String(),
		connected: func() int { return int(gatherSum(reg, "vane_xds_connected_streams")) },
		pushes:    func() float64 { return gatherSum(reg, "vane_xds_pushes_total") },
		change: func(ctx context.Context, i int) error {
			a, err := srv.Apply(ctx, svc, benchXDSWeights(i))
			if err != nil {
				return err
			}
			if len(a.Acked) != streams {
				return fmt.Errorf("acked by %d nodes, want %d", len(a.Acked), streams)
			}
			return nil
		},
		stop: func() {
			cancel()
			<-done
		},
	}, nil
}

// gatherSum adds up every sample of the named metric family in reg.
func gatherSum(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += metricValue(m)
		}
	}
	return sum
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

// sameResources reports whether two lists hold equal resources in order.
func sameResources(a, b []types.Resource) bool {
	return slices.EqualFunc(a, b, func(x, y types.Resource) bool { return proto.Equal(x, y) })
}

// fleetHash puts every node in one snapshot group: the cheapest way to
// serve one config to a fleet with a SnapshotCache.
type fleetHash struct{}

func (fleetHash) ID(*core.Node) string { return "fleet" }

// snapshotAcks counts, per route version, the streams that ACKed it.
type snapshotAcks struct {
	mu        sync.Mutex
	connected int
	target    string
	acked     map[int64]bool
	want      int
	done      chan struct{}
	pushes    atomic.Int64
}

func startBenchSnapshot(ctx context.Context, streams int) (benchXDSServer, error) {
	sc := cache.NewSnapshotCache(true, fleetHash{}, nil)
	svc := benchXDSService()
	// One version per resource type, bumped only when that type's
	// resources change, as the go-control-plane examples and their users
	// version snapshots: a weight change re-pushes the route alone, not the
	// unchanged listener, clusters and endpoints.
	versions := map[resourcev3.Type]int{}
	last := map[resourcev3.Type][]types.Resource{}
	setSnap := func(_ int, r traffic.Routing) error {
		res, err := vxds.BuildResources(svc, r)
		if err != nil {
			return err
		}
		byType := map[resourcev3.Type][]types.Resource{}
		for _, l := range res.Listeners {
			byType[resourcev3.ListenerType] = append(byType[resourcev3.ListenerType], l)
		}
		for _, x := range res.Routes {
			byType[resourcev3.RouteType] = append(byType[resourcev3.RouteType], x)
		}
		for _, c := range res.Clusters {
			byType[resourcev3.ClusterType] = append(byType[resourcev3.ClusterType], c)
		}
		for _, e := range res.Endpoints {
			byType[resourcev3.EndpointType] = append(byType[resourcev3.EndpointType], e)
		}
		snap := &cache.Snapshot{}
		for _, typ := range []resourcev3.Type{resourcev3.ListenerType, resourcev3.RouteType, resourcev3.ClusterType, resourcev3.EndpointType} {
			items := byType[typ]
			if !sameResources(last[typ], items) {
				versions[typ]++
				last[typ] = items
			}
			snap.Resources[cache.GetResponseType(typ)] = cache.NewResources(strconv.Itoa(versions[typ]), items)
		}
		return sc.SetSnapshot(ctx, "fleet", snap)
	}
	if err := setSnap(0, traffic.AllStable()); err != nil {
		return benchXDSServer{}, err
	}
	st := &snapshotAcks{acked: map[int64]bool{}}
	cb := serverv3.CallbackFuncs{
		StreamOpenFunc: func(context.Context, int64, string) error {
			st.mu.Lock()
			st.connected++
			st.mu.Unlock()
			return nil
		},
		StreamClosedFunc: func(int64, *core.Node) {
			st.mu.Lock()
			st.connected--
			st.mu.Unlock()
		},
		StreamRequestFunc: func(id int64, req *discovery.DiscoveryRequest) error {
			if req.GetTypeUrl() != resourcev3.RouteType || req.GetResponseNonce() == "" || req.GetErrorDetail() != nil {
				return nil
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.done != nil && req.GetVersionInfo() == st.target && !st.acked[id] {
				st.acked[id] = true
				if len(st.acked) == st.want {
					close(st.done)
				}
			}
			return nil
		},
		StreamResponseFunc: func(context.Context, int64, *discovery.DiscoveryRequest, *discovery.DiscoveryResponse) {
			st.pushes.Add(1)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return benchXDSServer{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	gs := grpc.NewServer(benchGRPCServerOptions()...)
	// The ordered ADS loop, as Vane's own server runs it (xds/server.go).
	discovery.RegisterAggregatedDiscoveryServiceServer(gs, serverv3.NewServer(rctx, sc, cb, sotw.WithOrderedADS()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(ln)
	}()
	return benchXDSServer{
		addr: ln.Addr().String(),
		connected: func() int {
			st.mu.Lock()
			defer st.mu.Unlock()
			return st.connected
		},
		pushes: func() float64 { return float64(st.pushes.Load()) },
		change: func(ctx context.Context, i int) error {
			st.mu.Lock()
			// Every change moves the weights, so the route's version goes up by one.
			st.target, st.want = strconv.Itoa(versions[resourcev3.RouteType]+1), st.connected
			st.acked = map[int64]bool{}
			st.done = make(chan struct{})
			wait := st.done
			st.mu.Unlock()
			if err := setSnap(i, benchXDSWeights(i)); err != nil {
				return err
			}
			select {
			case <-wait:
				return nil
			case <-ctx.Done():
				st.mu.Lock()
				n := len(st.acked)
				st.mu.Unlock()
				return fmt.Errorf("%d of %d streams ACKed: %w", n, streams, ctx.Err())
			}
		},
		stop: func() {
			cancel()
			gs.Stop()
			<-done
		},
	}, nil
}

// RunStreams opens streams ADS streams to addr that ACK every response,
// prints a ready line to out once all are subscribed, and runs until stdin
// closes; between the timed-start and timed-stop lines on stdin it measures
// its CPU time (and profile into cpuProfile, if set).
func RunStreams(ctx0 context.Context, out, errOut io.Writer, stdin io.Reader, addr string, streams int, cpuProfile string) error {
	if err := raiseNoFile(streams + 256); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx0)
	defer cancel()
	go func() {
		// The parent closes stdin to end the run; it may ask for a
		// CPU profile of the timed changes before.
		defer cancel()
		sc := bufio.NewScanner(stdin)
		var f *os.File
		var cpu0 float64
		for sc.Scan() {
			switch sc.Text() {
			case benchXDSTimedStart:
				cpu0 = cpuSeconds()
				if cpuProfile == "" || f != nil {
					continue
				}
				var err error
				if f, err = os.Create(cpuProfile); err != nil {
					fmt.Fprintf(errOut, "bench xds: streams --cpuprofile: %v\n", err)
					continue
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					fmt.Fprintf(errOut, "bench xds: streams --cpuprofile: %v\n", err)
				}
			case benchXDSTimedStop:
				if f != nil {
					pprof.StopCPUProfile()
					_ = f.Close()
					f = nil
				}
				fmt.Fprintf(out, "%s%f\n", benchXDSCPULinePrefix, cpuSeconds()-cpu0)
			}
		}
	}()
	var ready atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := benchADSStream(ctx, addr, fmt.Sprintf("bench-node-%05d", i), func() {
				if ready.Add(1) == int64(streams) {
					fmt.Fprintln(out, benchXDSReadyLine)
				}
			}); err != nil && ctx.Err() == nil {
				select {
				case errc <- err:
				default:
				}
				cancel()
			}
		}()
		if (i+1)%1000 == 0 {
			fmt.Fprintf(errOut, "bench xds: %d/%d streams opened\n", i+1, streams)
		}
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// benchADSStream is one node: its own gRPC connection and ADS stream,
// subscribing like a gRPC client of xds:///bench and ACKing every response.
func benchADSStream(ctx context.Context, addr, node string, ready func()) error {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cc.Close()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	if err != nil {
		return fmt.Errorf("node %s: open stream: %w", node, err)
	}
	names := map[string][]string{
		resourcev3.ListenerType: {benchXDSServiceName},
		resourcev3.RouteType:    {benchXDSServiceName},
		resourcev3.ClusterType:  {vxds.StableCluster(benchXDSServiceName), vxds.CanaryCluster(benchXDSServiceName)},
		resourcev3.EndpointType: {vxds.StableCluster(benchXDSServiceName), vxds.CanaryCluster(benchXDSServiceName)},
	}
	first := true
	for _, url := range []string{resourcev3.ListenerType, resourcev3.RouteType, resourcev3.ClusterType, resourcev3.EndpointType} {
		req := &discovery.DiscoveryRequest{TypeUrl: url, ResourceNames: names[url]}
		if first {
			req.Node = &core.Node{Id: node, Cluster: "bench"}
			first = false
		}
		if err := stream.Send(req); err != nil {
			return fmt.Errorf("node %s: subscribe: %w", node, err)
		}
	}
	seen := map[string]bool{}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("node %s: %w", node, err)
		}
		url := resp.GetTypeUrl()
		if err := stream.Send(&discovery.DiscoveryRequest{
			TypeUrl: url, VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce(), ResourceNames: names[url],
		}); err != nil {
			return fmt.Errorf("node %s: ACK: %w", node, err)
		}
		if !seen[url] {
			seen[url] = true
			if len(seen) == len(names) {
				ready()
			}
		}
	}
}
