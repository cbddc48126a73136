package autoscale

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Service describes the simulated service: what a replica is and how the
// load arrives. It is deliberately not the queueing recommender's model
// (M/M/c): service times are log-normal with a Pareto tail, replicas differ
// in speed, each replica has its own bounded queue behind a two-choice
// load balancer, arrivals are burstier than Poisson, and start-up takes a
// random time.
type Service struct {
	// Workers is how many requests a replica serves at once (its
	// concurrency limit; Knative's containerConcurrency).
	Workers int
	// QueueLimit is how many more requests a replica holds waiting; past
	// it, requests are rejected (503) at once.
	QueueLimit int
	// ServiceMedian and ServiceSigma give the log-normal service time of a
	// replica of speed 1.
	ServiceMedian time.Duration
	ServiceSigma  float64
	// TailProb of the requests are slowed down by a Pareto factor of scale
	// TailScale and shape TailAlpha (the heavy tail).
	TailProb, TailScale, TailAlpha float64
	// SpeedSpread: each replica's service times are divided by a speed
	// drawn uniformly in [1−SpeedSpread, 1+SpeedSpread].
	SpeedSpread float64
	// StartupMedian and StartupSigma give the log-normal time from a
	// replica's creation to its readiness.
	StartupMedian time.Duration
	StartupSigma  float64
	// Burst is the coefficient of variation of a Gamma-distributed
	// multiplier of the arrival rate, redrawn every BurstPeriod (0 gives a
	// Poisson process of the trace's rate).
	Burst       float64
	BurstPeriod time.Duration
	// Threshold and Objective define the latency SLO: Objective of the
	// requests answered successfully within Threshold.
	Threshold time.Duration
	Objective float64
}

// DefaultService is the benchmark's service: two workers per replica, a
// 50 ms median service time (σ 0.5) with 1% of requests slowed by a
// Pareto(3, α 2) factor, speeds ±15%, a start-up delay of about 30 s, rate
// multipliers with a 15% coefficient of variation every 5 s, and an SLO of
// 99% of requests within 1 s.
func DefaultService() Service {
	return Service{
		Workers: 2, QueueLimit: 500,
		ServiceMedian: 50 * time.Millisecond, ServiceSigma: 0.5,
		TailProb: 0.01, TailScale: 3, TailAlpha: 2,
		SpeedSpread:   0.15,
		StartupMedian: 30 * time.Second, StartupSigma: 0.3,
		Burst: 0.15, BurstPeriod: 5 * time.Second,
		Threshold: time.Second, Objective: 0.99,
	}
}

// Validate rejects settings the simulation cannot run.
func (s Service) Validate() error {
	var errs []error
	if s.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers %d must be ≥ 1", s.Workers))
	}
	if s.QueueLimit < 0 {
		errs = append(errs, fmt.Errorf("queue limit %d must be ≥ 0", s.QueueLimit))
	}
	if s.ServiceMedian <= 0 || s.ServiceSigma < 0 {
		errs = append(errs, errors.New("service time median must be > 0 and sigma ≥ 0"))
	}
	if s.TailProb < 0 || s.TailProb > 1 || (s.TailProb > 0 && (s.TailScale < 1 || s.TailAlpha <= 1)) {
		errs = append(errs, errors.New("tail: probability in [0,1], scale ≥ 1, alpha > 1"))
	}
	if s.SpeedSpread < 0 || s.SpeedSpread >= 1 {
		errs = append(errs, fmt.Errorf("speed spread %v must be in [0, 1)", s.SpeedSpread))
	}
	if s.StartupMedian < 0 || s.StartupSigma < 0 {
		errs = append(errs, errors.New("start-up median and sigma must be ≥ 0"))
	}
	if s.Burst < 0 || (s.Burst > 0 && s.BurstPeriod < time.Second) {
		errs = append(errs, errors.New("burst must be ≥ 0 with a period ≥ 1s"))
	}
	if s.Threshold <= 0 || !(s.Objective > 0 && s.Objective < 1) {
		errs = append(errs, errors.New("SLO: threshold > 0 and objective in (0, 1)"))
	}
	return errors.Join(errs...)
}

// MeanServiceTime is the mean service time of a replica of speed 1, in
// seconds.
func (s Service) MeanServiceTime() float64 {
	m := s.ServiceMedian.Seconds() * math.Exp(s.ServiceSigma*s.ServiceSigma/2)
	if s.TailProb > 0 {
		m *= 1 + s.TailProb*(s.TailScale*s.TailAlpha/(s.TailAlpha-1)-1)
	}
	return m
}

// Capacity is what a replica of average speed serves per second when all
// its workers are busy.
func (s Service) Capacity() float64 { return float64(s.Workers) / s.MeanServiceTime() }

// Latency buckets of the simulated service's histogram, in seconds; the
// SLO's threshold must be one of them for the SLO to be read from
// Prometheus, as in production.
var latencyBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Counters a replica exposes, as Prometheus would scrape them.
const (
	cRequests    = iota // responses, any code
	cErrors             // 503 rejections
	cCPU                // busy worker-seconds (process_cpu_seconds_total)
	cConcurrency        // in-flight-seconds (time integral of requests in the replica)
	cDurSum             // sum of successful latencies
	cArrivals           // requests routed to the pod (Envoy's upstream_rq_total)
	cBucket0            // first latency bucket; one per latencyBuckets entry
	nCounters    = cBucket0 + 9
)

// replica is one simulated pod.
type replica struct {
	name      string
	speed     float64
	created   float64
	readyAt   float64
	ready     bool
	stopping  bool
	gone      bool
	goneAt    float64
	busy      int
	queue     fifo // arrival times of waiting requests
	lastT     float64
	c         [nCounters]float64
	scrapes   []scrape
	cpuPrev   [2]float64 // metrics-server: busy-seconds at the last two scrapes
	cpuPrevOK int
	concMark  float64 // cConcurrency at the start of the current second
}

type scrape struct {
	t float64
	c [nCounters]float64
}

func (r *replica) inFlight() int { return r.busy + r.queue.n }

// fifo is a ring buffer of arrival times.
type fifo struct {
	buf     []float64
	head, n int
}

func (q *fifo) push(x float64) {
	if q.n == len(q.buf) {
		nb := make([]float64, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = x
	q.n++
}

func (q *fifo) pop() float64 {
	x := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return x
}

// advance integrates the replica's busy workers and in-flight requests to t.
func (r *replica) advance(t float64) {
	if dt := t - r.lastT; dt > 0 {
		r.c[cCPU] += float64(r.busy) * dt
		r.c[cConcurrency] += float64(r.inFlight()) * dt
		r.lastT = t
	}
}

// completion is a request finishing on a replica.
type completion struct {
	t       float64
	replica int
	arrival float64
}

// completions is a binary min-heap on t (typed, to keep the hot loop free
// of allocations).
type completions []completion

func (h *completions) push(c completion) {
	*h = append(*h, c)
	a := *h
	i := len(a) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if a[parent].t <= a[i].t {
			break
		}
		a[parent], a[i] = a[i], a[parent]
		i = parent
	}
}

func (h *completions) pop() completion {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && a[r].t < a[l].t {
			m = r
		}
		if a[i].t <= a[m].t {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// latency histogram for the exact per-minute percentiles of the score:
// log-spaced buckets from 1 ms to 1000 s.
const (
	exactBuckets = 240
	exactMin     = 1e-3
	exactDecades = 6.0
)

func exactIndex(x float64) int {
	if x <= exactMin {
		return 0
	}
	i := int(math.Log10(x/exactMin) / exactDecades * exactBuckets)
	return min(i, exactBuckets-1)
}

func exactUpper(i int) float64 {
	return exactMin * math.Pow(10, float64(i+1)*exactDecades/exactBuckets)
}

// minute is what the score keeps of one minute of simulated time.
type minute struct {
	total, bad float64
	hist       [exactBuckets]float64
}

func (m *minute) quantile(q float64) float64 {
	if m.total == 0 {
		return math.NaN()
	}
	rank := q * m.total
	acc := 0.0
	for i, n := range m.hist {
		acc += n
		if acc >= rank {
			return exactUpper(i)
		}
	}
	return exactUpper(exactBuckets - 1)
}

// plant is the request-level discrete-event simulation of the service.
type plant struct {
	svc      Service
	trace    Trace
	rng      *rand.Rand
	start    time.Time
	now      float64 // seconds since start
	replicas []*replica
	routable []int // replicas that are ready and not stopping
	events   completions
	nextID   int
	burst    float64
	burstEnd float64
	// tail latency draw
	pareto distuv.Pareto
	gamma  distuv.Gamma

	// The load balancer's request counter (one series, scraped with the
	// pods): requests sent, whether a pod took them or not.
	lbRequests        float64
	lbTimes, lbSeries []float64

	minutes  []minute
	existing float64 // replica-seconds of pods that exist (starting, ready or draining)
	// concurrency per second over ready replicas (Knative's 1 s buckets)
	concBuckets []float64
}

func newPlant(svc Service, tr Trace, seed uint64, start time.Time) *plant {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := &plant{svc: svc, trace: tr, rng: rng, start: start,
		pareto: distuv.Pareto{Xm: svc.TailScale, Alpha: svc.TailAlpha, Src: rng},
		burst:  1,
	}
	if svc.Burst > 0 {
		k := 1 / (svc.Burst * svc.Burst)
		p.gamma = distuv.Gamma{Alpha: k, Beta: k, Src: rng}
	}
	p.minutes = make([]minute, int(math.Ceil(tr.Duration().Minutes()))+1)
	return p
}

// addReplica creates a pod; readyNow makes it ready at once (the initial
// fleet).
func (p *plant) addReplica(readyNow bool) {
	s := p.svc
	r := &replica{name: fmt.Sprintf("pod-%d", p.nextID), created: p.now, lastT: p.now,
		speed: 1 + s.SpeedSpread*(2*p.rng.Float64()-1)}
	p.nextID++
	if readyNow {
		r.readyAt = p.now
	} else {
		d := s.StartupMedian.Seconds() * math.Exp(s.StartupSigma*p.rng.NormFloat64())
		r.readyAt = p.now + d
	}
	p.replicas = append(p.replicas, r)
	if readyNow {
		p.setReady(len(p.replicas) - 1)
	}
}

func (p *plant) setReady(i int) {
	r := p.replicas[i]
	r.ready = true
	r.lastT = math.Max(r.lastT, r.readyAt)
	p.routable = append(p.routable, i)
}

// live counts pods that are not being stopped (the spec's replicas).
func (p *plant) live() int {
	n := 0
	for _, r := range p.replicas {
		if !r.gone && !r.stopping {
			n++
		}
	}
	return n
}

func (p *plant) readyCount() int { return len(p.routable) }

// scaleTo makes the count of live pods n: new pods start; surplus pods
// stop, those not ready first, then the newest (as a ReplicaSet picks
// pods to delete). A stopping pod leaves the load balancer at once and
// finishes the requests it holds.
func (p *plant) scaleTo(n int) {
	live := p.live()
	for ; live < n; live++ {
		p.addReplica(false)
	}
	if live <= n {
		return
	}
	var cand []int
	for i, r := range p.replicas {
		if !r.gone && !r.stopping {
			cand = append(cand, i)
		}
	}
	slices.SortStableFunc(cand, func(a, b int) int {
		ra, rb := p.replicas[a], p.replicas[b]
		if ra.ready != rb.ready {
			if !ra.ready {
				return -1
			}
			return 1
		}
		return b - a // newest first
	})
	for _, i := range cand[:live-n] {
		r := p.replicas[i]
		r.advance(p.now)
		r.stopping = true
		if !r.ready || r.inFlight() == 0 {
			r.gone, r.goneAt = true, p.now
		}
	}
	p.routable = slices.DeleteFunc(p.routable, func(i int) bool { return p.replicas[i].stopping })
}

// serviceTime draws one request's service time on replica r.
func (p *plant) serviceTime(r *replica) float64 {
	s := p.svc
	x := s.ServiceMedian.Seconds() * math.Exp(s.ServiceSigma*p.rng.NormFloat64())
	if s.TailProb > 0 && p.rng.Float64() < s.TailProb {
		x *= p.pareto.Rand()
	}
	return x / r.speed
}

func (p *plant) start1(i int, arrival float64) {
	r := p.replicas[i]
	r.busy++
	p.events.push(completion{t: p.now + p.serviceTime(r), replica: i, arrival: arrival})
}

func (p *plant) minuteAt(t float64) *minute {
	i := min(int(t/60), len(p.minutes)-1)
	return &p.minutes[i]
}

// arrive routes one request: the less loaded of two random routable
// replicas (Envoy's and gRPC's least-request with two choices).
func (p *plant) arrive() {
	p.lbRequests++
	n := len(p.routable)
	m := p.minuteAt(p.now)
	if n == 0 {
		m.total++
		m.bad++
		m.hist[exactBuckets-1]++
		return
	}
	i := p.routable[p.rng.IntN(n)]
	if n > 1 {
		j := p.routable[p.rng.IntN(n-1)]
		if j == i {
			j = p.routable[n-1]
		}
		if p.replicas[j].inFlight() < p.replicas[i].inFlight() {
			i = j
		}
	}
	r := p.replicas[i]
	r.advance(p.now)
	r.c[cArrivals]++
	if r.busy < p.svc.Workers {
		p.start1(i, p.now)
		return
	}
	if r.queue.n >= p.svc.QueueLimit {
		r.c[cRequests]++
		r.c[cErrors]++
		m.total++
		m.bad++
		m.hist[0]++
		return
	}
	r.queue.push(p.now)
}

func (p *plant) complete(c completion) {
	r := p.replicas[c.replica]
	r.advance(p.now)
	r.busy--
	lat := p.now - c.arrival
	r.c[cRequests]++
	r.c[cDurSum] += lat
	for k, b := range latencyBuckets {
		if lat <= b {
			r.c[cBucket0+k]++
		}
	}
	m := p.minuteAt(p.now)
	m.total++
	if lat > p.svc.Threshold.Seconds() {
		m.bad++
	}
	m.hist[exactIndex(lat)]++
	if r.queue.n > 0 {
		p.start1(c.replica, r.queue.pop())
	}
	if r.stopping && r.inFlight() == 0 {
		r.gone, r.goneAt = true, p.now
	}
}

// runSecond simulates [now, now+1s) and advances the clock.
func (p *plant) runSecond() {
	s := p.now
	end := s + 1
	for i, r := range p.replicas {
		if !r.gone && !r.ready && !r.stopping && r.readyAt < end {
			p.now = math.Max(s, r.readyAt)
			p.setReady(i)
		}
	}
	p.now = s
	if p.svc.Burst > 0 && s >= p.burstEnd {
		p.burst = p.gamma.Rand()
		p.burstEnd = s + p.svc.BurstPeriod.Seconds()
	}
	rate := p.trace.Rate(time.Duration((s+0.5)*float64(time.Second))) * p.burst
	next := math.Inf(1)
	if rate > 0 {
		next = s + p.rng.ExpFloat64()/rate
	}
	for {
		tc := math.Inf(1)
		if len(p.events) > 0 {
			tc = p.events[0].t
		}
		if next >= end && tc >= end {
			break
		}
		if next <= tc {
			p.now = next
			p.arrive()
			next += p.rng.ExpFloat64() / rate
			continue
		}
		p.now = tc
		p.complete(p.events.pop())
	}
	p.now = end
	conc, existing := 0.0, 0
	for _, r := range p.replicas {
		if r.gone {
			if r.goneAt >= s {
				existing++ // it existed for part of this second
			}
			continue
		}
		existing++
		r.advance(end)
		if r.ready && !r.stopping {
			conc += r.c[cConcurrency] - r.concMark
		}
		r.concMark = r.c[cConcurrency]
	}
	p.existing += float64(existing)
	p.concBuckets = append(p.concBuckets, conc)
	// Forget pods that are gone and no longer scraped.
}

// scrape records every running pod's counters at the current time, as a
// Prometheus server scraping each pod would, and feeds metrics-server's
// CPU view.
func (p *plant) scrape() {
	p.lbTimes = append(p.lbTimes, p.now)
	p.lbSeries = append(p.lbSeries, p.lbRequests)
	for _, r := range p.replicas {
		if !r.ready || r.gone {
			continue
		}
		r.advance(p.now)
		r.scrapes = append(r.scrapes, scrape{t: p.now, c: r.c})
		// Keep what a 1h range needs at most.
		if len(r.scrapes) > 400 {
			r.scrapes = slices.Delete(r.scrapes, 0, len(r.scrapes)-300)
		}
		r.cpuPrev[0], r.cpuPrev[1] = r.cpuPrev[1], r.c[cCPU]
		r.cpuPrevOK++
	}
}
