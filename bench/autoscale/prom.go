package autoscale

import (
	"math"
	"time"
)

// Prometheus answers the instant queries the policies make on the series
// scraped from the simulated pods every 15 s. Each query is the sum over
// pods of rate(counter[window]), computed per series exactly as
// Prometheus' extrapolatedRate does (promql/functions.go in
// prometheus/prometheus v0.316.0: left-open range, extrapolation to the
// range's ends within 110% of the average sample spacing, never below a
// counter's zero point, counter resets). A test checks it against
// Prometheus' own engine on the same samples.
type Prometheus struct {
	p   *plant
	now float64
}

// rate is Prometheus' rate() over the range (now−window, now] for one
// series of counter samples in time order.
func rate(ts []float64, vs []float64, now, window float64) (float64, bool) {
	start := now - window
	first := -1
	last := -1
	for i, t := range ts {
		if t > start && t <= now {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last == first {
		return 0, false
	}
	result := vs[last] - vs[first]
	for i := first + 1; i <= last; i++ {
		if vs[i] < vs[i-1] {
			result += vs[i-1]
		}
	}
	firstT, lastT := ts[first], ts[last]
	durationToStart := firstT - start
	durationToEnd := now - lastT
	sampled := lastT - firstT
	avg := sampled / float64(last-first)
	threshold := avg * 1.1
	if durationToStart >= threshold {
		durationToStart = avg / 2
	}
	if result > 0 && vs[first] >= 0 {
		if toZero := sampled * (vs[first] / result); toZero < durationToStart {
			durationToStart = toZero
		}
	}
	if durationToEnd >= threshold {
		durationToEnd = avg / 2
	}
	factor := (sampled + durationToStart + durationToEnd) / sampled / window
	return result * factor, true
}

// sumRate is sum(rate(counter[window])) over every scraped pod; ok is
// false when no pod has two samples in the window (an empty result).
func (q Prometheus) sumRate(counter int, window time.Duration) (float64, bool) {
	var ts, vs []float64
	sum, any := 0.0, false
	for _, r := range q.p.replicas {
		if len(r.scrapes) < 2 || r.scrapes[len(r.scrapes)-1].t <= q.now-window.Seconds() {
			continue
		}
		ts, vs = ts[:0], vs[:0]
		for _, s := range r.scrapes {
			ts = append(ts, s.t)
			vs = append(vs, s.c[counter])
		}
		if v, ok := rate(ts, vs, q.now, window.Seconds()); ok {
			sum += v
			any = true
		}
	}
	return sum, any
}

// RequestRate is sum(rate(http_requests_total[w])): responses per second.
func (q Prometheus) RequestRate(w time.Duration) (float64, bool) { return q.sumRate(cRequests, w) }

// ArrivalRate is rate(envoy_cluster_upstream_rq_total[w]) of the load
// balancer in front of the pods: the offered load, one series that does
// not come and go with pods.
func (q Prometheus) ArrivalRate(w time.Duration) (float64, bool) {
	return rate(q.p.lbTimes, q.p.lbSeries, q.now, w.Seconds())
}

// ErrorRate is sum(rate(http_requests_total{code="503"}[w])).
func (q Prometheus) ErrorRate(w time.Duration) (float64, bool) { return q.sumRate(cErrors, w) }

// CPU is sum(rate(process_cpu_seconds_total[w])): busy workers.
func (q Prometheus) CPU(w time.Duration) (float64, bool) { return q.sumRate(cCPU, w) }

// Concurrency is sum(rate(inflight_seconds_total[w])): the average number
// of requests inside the pods (in service or queued), Little's L.
func (q Prometheus) Concurrency(w time.Duration) (float64, bool) {
	return q.sumRate(cConcurrency, w)
}

// MeanLatency is sum(rate(…_duration_seconds_sum[w])) /
// sum(rate(…_duration_seconds_count[w])) over successful responses.
func (q Prometheus) MeanLatency(w time.Duration) (float64, bool) {
	s, ok1 := q.sumRate(cDurSum, w)
	all, ok2 := q.RequestRate(w)
	e, _ := q.ErrorRate(w)
	if !ok1 || !ok2 || all-e <= 0 {
		return math.NaN(), false
	}
	return s / (all - e), true
}

// BadRatio is the latency SLI's bad-event ratio over w: 1 − (responses
// within the threshold, from the histogram's bucket at the threshold) /
// (all responses, 503s included).
func (q Prometheus) BadRatio(threshold time.Duration, w time.Duration) (float64, bool) {
	k := -1
	for i, b := range latencyBuckets {
		if b == threshold.Seconds() {
			k = i
		}
	}
	if k < 0 {
		return math.NaN(), false
	}
	good, ok1 := q.sumRate(cBucket0+k, w)
	all, ok2 := q.RequestRate(w)
	if !ok1 || !ok2 || all <= 0 {
		return math.NaN(), false
	}
	return math.Max(0, 1-good/all), true
}

// Totals are the all-time request and bad-request counts of every pod
// ever scraped, as of its last scrape: sum(increase(…[since start])).
func (q Prometheus) Totals(threshold time.Duration) (all, bad float64) {
	k := -1
	for i, b := range latencyBuckets {
		if b == threshold.Seconds() {
			k = i
		}
	}
	for _, r := range q.p.replicas {
		if n := len(r.scrapes); n > 0 {
			c := r.scrapes[n-1].c
			all += c[cRequests]
			if k >= 0 {
				bad += c[cRequests] - c[cBucket0+k]
			}
		}
	}
	return all, bad
}

// Quantile is histogram_quantile(q, sum(rate(…_bucket[w]))) with
// Prometheus' linear interpolation inside a bucket.
func (q Prometheus) Quantile(phi float64, w time.Duration) (float64, bool) {
	var cum []float64
	for k := range latencyBuckets {
		v, ok := q.sumRate(cBucket0+k, w)
		if !ok {
			return math.NaN(), false
		}
		cum = append(cum, v)
	}
	all, ok1 := q.RequestRate(w)
	e, _ := q.ErrorRate(w)
	total := all - e // +Inf bucket: every successful response
	if !ok1 || total <= 0 {
		return math.NaN(), false
	}
	rank := phi * total
	lower, prev := 0.0, 0.0
	for k, b := range latencyBuckets {
		if cum[k] >= rank {
			if cum[k] == prev {
				return b, true
			}
			return lower + (b-lower)*(rank-prev)/(cum[k]-prev), true
		}
		lower, prev = b, cum[k]
	}
	// In the +Inf bucket: Prometheus returns the highest finite bound.
	return latencyBuckets[len(latencyBuckets)-1], true
}
