package prom

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/prometheus/scrape"
)

// TargetDown is a scrape target of the embedded Prometheus whose last
// scrape failed.
type TargetDown struct {
	// Job is the scrape job's name.
	Job string
	// URL is the scraped URL.
	URL string
	// Error is the last scrape's error.
	Error string
}

func (t TargetDown) String() string {
	return fmt.Sprintf("scrape target %s (job %s) is down: %s", t.URL, t.Job, t.Error)
}

// DownTargets lists the scrape targets whose last scrape failed, by job and
// URL. Targets not scraped yet are not listed.
func (e *Embedded) DownTargets() []TargetDown {
	var out []TargetDown
	for job, ts := range e.scrape.TargetsActive() {
		for _, t := range ts {
			if t.Health() != scrape.HealthBad {
				continue
			}
			msg := "scrape failed"
			if err := t.LastError(); err != nil {
				msg = err.Error()
			}
			out = append(out, TargetDown{Job: job, URL: t.URL().String(), Error: msg})
		}
	}
	slices.SortFunc(out, func(a, b TargetDown) int {
		if a.Job != b.Job {
			return compareStrings(a.Job, b.Job)
		}
		return compareStrings(a.URL, b.URL)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// downWarnings are the warnings an empty query result carries: why the
// data may be missing. At most three targets are named.
func (e *Embedded) downWarnings() []string {
	down := e.DownTargets()
	var out []string
	for i, t := range down {
		if i == 3 {
			out = append(out, fmt.Sprintf("and %d more scrape targets are down", len(down)-3))
			break
		}
		out = append(out, t.String())
	}
	return out
}

// watchTargets logs, at warn level, each scrape target that goes down (with
// the scrape error) and, at info level, each that comes back, checking once
// per scrape interval until ctx ends.
func (e *Embedded) watchTargets(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	down := map[string]string{} // job and URL -> error
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := map[string]string{}
		for _, d := range e.DownTargets() {
			key := d.Job + " " + d.URL
			now[key] = d.Error
			if _, was := down[key]; !was {
				e.o.logger.Warn("Scrape target down: judges and SLOs reading its series get no data", "job", d.Job, "target", d.URL, "err", d.Error)
			}
		}
		for key := range down {
			if _, still := now[key]; !still {
				e.o.logger.Info("Scrape target up again", "target", key)
			}
		}
		down = now
	}
}
