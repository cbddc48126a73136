package main

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
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/vaneproj/vane/traffic"
	"github.com/vaneproj/vane/xds"
)

// The xDS benchmark runs each server in its own process (so heap, RSS and
// CPU are the server's alone) and the N ADS streams in another; this
// command orchestrates them and prints the results.
const (
	benchXDSModeVane        = "vane"
	benchXDSModeSnapshot    = "snapshotcache"
	benchXDSServiceName     = "bench"
	benchXDSReadyLine       = "ready"
	benchXDSStreamsCmdName  = "streams"
	benchXDSServerCmdName   = "server"
	benchXDSResultLinePrefx = "result "
	benchXDSWarmup          = 3
)

// benchXDSResult is one server's measurements.
type benchXDSResult struct {
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

func newBenchXDSCmd(g *globals) *cobra.Command {
	var streams, changes int
	var asJSON bool
	var profileDir string
	cmd := &cobra.Command{
		Use:   "xds",
		Short: "Time from a weight change to its ACK by N ADS streams, Vane vs a plain SnapshotCache server",
		Long: `Opens N real gRPC ADS streams on loopback (in a child process; each stream
subscribes to the listener, route, clusters and endpoints of one service and
ACKs every response), then applies one weight change at a time and measures
the time until every stream has ACKed it (p50/p99/max, after 3 unmeasured
warm-up changes), the CPU seconds per change of the server and of the
streams process (both share the machine's cores), and the server's heap and
RSS per stream. It runs Vane's server and a plain go-control-plane
SnapshotCache server (one snapshot for the fleet; timed to the route ACK),
each in a fresh process, in the same run. --profile-dir writes CPU profiles
of both processes during the timed changes (go tool pprof -top FILE).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if streams < 1 || changes < 1 {
				return errors.New("--streams and --changes must be at least 1")
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench xds: find own binary: %w", err)
			}
			var results []benchXDSResult
			for _, mode := range []string{benchXDSModeVane, benchXDSModeSnapshot} {
				fmt.Fprintf(g.errOut, "bench xds: %s server, %d streams, %d changes\n", mode, streams, changes)
				r, err := runBenchXDSChild(cmd.Context(), self, g.errOut, mode, streams, changes, profileDir)
				if err != nil {
					return fmt.Errorf("bench xds: %s: %w", mode, err)
				}
				results = append(results, r)
			}
			return printBenchXDS(g.out, results, asJSON)
		},
	}
	f := cmd.Flags()
	f.IntVar(&streams, "streams", 1000, "number of ADS streams (one gRPC connection and node each)")
	f.IntVar(&changes, "changes", 40, "weight changes to time per server")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	f.StringVar(&profileDir, "profile-dir", "", "write CPU profiles of each server and of its streams process, taken during the timed changes, to this directory (<mode>-server.pprof, <mode>-streams.pprof)")
	cmd.AddCommand(newBenchXDSServerCmd(g), newBenchXDSStreamsCmd(g))
	return cmd
}

func printBenchXDS(out io.Writer, rs []benchXDSResult, asJSON bool) error {
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

// runBenchXDSChild runs one server in a child process and reads its result.
func runBenchXDSChild(ctx context.Context, self string, errOut io.Writer, mode string, streams, changes int, profileDir string) (benchXDSResult, error) {
	args := []string{"bench", "xds", benchXDSServerCmdName,
		"--mode", mode, "--streams", strconv.Itoa(streams), "--changes", strconv.Itoa(changes)}
	if profileDir != "" {
		args = append(args, "--cpuprofile", filepath.Join(profileDir, mode+"-server.pprof"),
			"--streams-cpuprofile", filepath.Join(profileDir, mode+"-streams.pprof"))
	}
	c := exec.CommandContext(ctx, self, args...)
	c.Stderr = errOut
	stdout, err := c.StdoutPipe()
	if err != nil {
		return benchXDSResult{}, err
	}
	if err := c.Start(); err != nil {
		return benchXDSResult{}, err
	}
	var res benchXDSResult
	found := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), benchXDSResultLinePrefx); ok {
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
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			rss = pages * uint64(os.Getpagesize())
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

func newBenchXDSServerCmd(g *globals) *cobra.Command {
	var mode, cpuProfile, streamsProfile string
	var streams, changes int
	cmd := &cobra.Command{
		Use:    benchXDSServerCmdName,
		Short:  "Run one server of the xDS benchmark (used by vane bench xds)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := raiseNoFile(streams + 256); err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			heap0, rss0 := memSample()
			var srv benchXDSServer
			var err error
			switch mode {
			case benchXDSModeVane:
				srv, err = startBenchVane(ctx, streams)
			case benchXDSModeSnapshot:
				srv, err = startBenchSnapshot(ctx, streams)
			default:
				err = fmt.Errorf("--mode %q: not one of %s, %s", mode, benchXDSModeVane, benchXDSModeSnapshot)
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
			clArgs := []string{"bench", "xds", benchXDSStreamsCmdName, "--addr", srv.addr, "--streams", strconv.Itoa(streams)}
			if streamsProfile != "" {
				clArgs = append(clArgs, "--cpuprofile", streamsProfile)
			}
			cl := exec.CommandContext(ctx, self, clArgs...)
			cl.Stderr = g.errOut
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
			for srv.connected() < streams {
				time.Sleep(10 * time.Millisecond)
			}
			connect := time.Since(start)
			time.Sleep(500 * time.Millisecond) // let the last ACKs land
			heap1, rss1 := memSample()
			fmt.Fprintf(g.errOut, "bench xds: %s: %d streams connected in %.1fs\n", mode, streams, connect.Seconds())

			// Warm up (code paths, buffers) with unmeasured changes.
			for i := 1; i <= benchXDSWarmup; i++ {
				cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
				err := srv.change(cctx, i)
				ccancel()
				if err != nil {
					return fmt.Errorf("warm-up change %d: %w", i, err)
				}
			}
			stopProfiles, err := startBenchProfiles(cpuProfile, stdin)
			if err != nil {
				return err
			}
			var lat []float64
			cpu0, pushes0 := cpuSeconds(), srv.pushes()
			for i := benchXDSWarmup + 1; i <= benchXDSWarmup+changes; i++ {
				cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
				t0 := time.Now()
				err := srv.change(cctx, i)
				d := time.Since(t0)
				ccancel()
				if err != nil {
					return fmt.Errorf("change %d: %w", i, err)
				}
				lat = append(lat, float64(d.Microseconds())/1000)
				if len(lat)%10 == 0 || len(lat) == changes || d > time.Second {
					fmt.Fprintf(g.errOut, "bench xds: %s: change %d/%d took %.1f ms\n", mode, len(lat), changes, lat[len(lat)-1])
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
			res := benchXDSResult{
				Mode: mode, Streams: streams, Changes: changes, ConnectSeconds: connect.Seconds(),
				P50Ms: percentile(lat, 0.50), P99Ms: percentile(lat, 0.99), MaxMs: lat[len(lat)-1],
				CPUSecondsPerChg:        cpu / float64(changes),
				HeapBytesPerStream:      (float64(heap1) - float64(heap0)) / float64(streams),
				RSSBytesPerStream:       (float64(rss1) - float64(rss0)) / float64(streams),
				PushesPerChange:         pushes / float64(changes),
				StreamsCPUSecondsPerChg: clientCPU / float64(changes),
			}
			b, err := json.Marshal(res)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.out, "%s%s\n", benchXDSResultLinePrefx, b)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&mode, "mode", benchXDSModeVane, "server: vane or snapshotcache")
	f.IntVar(&streams, "streams", 1000, "number of ADS streams")
	f.IntVar(&changes, "changes", 40, "weight changes to time")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write the server's CPU profile during the timed changes to this file")
	f.StringVar(&streamsProfile, "streams-cpuprofile", "", "write the streams process's CPU profile during the timed changes to this file")
	return cmd
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
	srv, err := xds.New(xds.Options{Listen: "127.0.0.1:0", Registerer: reg, Handoff: -1})
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
	setSnap := func(version int, r traffic.Routing) error {
		res, err := xds.BuildResources(svc, r)
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
		snap, err := cache.NewSnapshot(strconv.Itoa(version), byType)
		if err != nil {
			return err
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
	discovery.RegisterAggregatedDiscoveryServiceServer(gs, serverv3.NewServer(rctx, sc, cb))
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
			st.target, st.want = strconv.Itoa(i), st.connected
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

func newBenchXDSStreamsCmd(g *globals) *cobra.Command {
	var addr, cpuProfile string
	var streams int
	cmd := &cobra.Command{
		Use:    benchXDSStreamsCmdName,
		Short:  "Open N ADS streams that ACK every response (used by vane bench xds)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := raiseNoFile(streams + 256); err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go func() {
				// The parent closes stdin to end the run; it may ask for a
				// CPU profile of the timed changes before.
				defer cancel()
				sc := bufio.NewScanner(os.Stdin)
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
							fmt.Fprintf(g.errOut, "bench xds: streams --cpuprofile: %v\n", err)
							continue
						}
						if err := pprof.StartCPUProfile(f); err != nil {
							fmt.Fprintf(g.errOut, "bench xds: streams --cpuprofile: %v\n", err)
						}
					case benchXDSTimedStop:
						if f != nil {
							pprof.StopCPUProfile()
							_ = f.Close()
							f = nil
						}
						fmt.Fprintf(g.out, "%s%f\n", benchXDSCPULinePrefix, cpuSeconds()-cpu0)
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
							fmt.Fprintln(g.out, benchXDSReadyLine)
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
					fmt.Fprintf(g.errOut, "bench xds: %d/%d streams opened\n", i+1, streams)
				}
			}
			wg.Wait()
			select {
			case err := <-errc:
				return err
			default:
				return nil
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "ADS server address")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write the CPU profile of the timed changes to this file")
	cmd.Flags().IntVar(&streams, "streams", 1000, "number of ADS streams")
	return cmd
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
		resourcev3.ClusterType:  {xds.StableCluster(benchXDSServiceName), xds.CanaryCluster(benchXDSServiceName)},
		resourcev3.EndpointType: {xds.StableCluster(benchXDSServiceName), xds.CanaryCluster(benchXDSServiceName)},
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
