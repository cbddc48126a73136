package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// DefaultMaxSampleAge is the least default Spec.MaxSampleAge.
const DefaultMaxSampleAge = 30 * time.Second

// ErrStale is returned (wrapped) when the newest sample of a series a query
// reads is older than the spec's MaxSampleAge.
var ErrStale = errors.New("analysis: stale data")

// FreshnessQueries returns, for each distinct series selector that query
// reads, the PromQL query of the time of its newest sample:
// max(timestamp(selector)). An instant query's own result carries the
// evaluation time, not the samples' time, so only timestamp() applied to
// the selector itself tells how old the data is. Selectors with an offset
// or an @ modifier read the past on purpose and are left out.
func FreshnessQueries(query string) ([]string, error) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(query)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	var out []string
	seen := map[string]bool{}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0 {
			return nil
		}
		sel := &parser.VectorSelector{Name: vs.Name, LabelMatchers: vs.LabelMatchers}
		q := "max(timestamp(" + sel.String() + "))"
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
		return nil
	})
	return out, nil
}

// fresh checks that no series the queries read has its newest sample
// older than the spec's MaxSampleAge at now; a selector without series is
// left to the query itself (no data is Inconclusive there).
func (b *base) fresh(ctx context.Context, q Querier, now time.Time, queries ...string) error {
	maxAge := time.Duration(b.spec.MaxSampleAge)
	if maxAge <= 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, query := range queries {
		fqs, ok := b.freshQ[query]
		if !ok {
			var err error
			if fqs, err = FreshnessQueries(query); err != nil {
				return err
			}
			if b.freshQ == nil {
				b.freshQ = map[string][]string{}
			}
			b.freshQ[query] = fqs
		}
		for _, fq := range fqs {
			if seen[fq] {
				continue
			}
			seen[fq] = true
			qctx, cancel := context.WithTimeout(ctx, time.Duration(b.spec.Timeout))
			vec, err := q.Query(qctx, fq, now)
			cancel()
			if err != nil {
				return fmt.Errorf("query %s failed: %w", fq, err)
			}
			if len(vec.Samples) == 0 || math.IsNaN(vec.Samples[0].Value) {
				continue
			}
			sec, frac := math.Modf(vec.Samples[0].Value)
			newest := time.Unix(int64(sec), int64(frac*1e9))
			if age := now.Sub(newest); age > maxAge {
				return fmt.Errorf("%w: the newest sample read by %s is %s old, older than max_sample_age %s "+
					"(Prometheus back from an outage, or a target no longer scraped?)",
					ErrStale, fq, age.Round(100*time.Millisecond), b.spec.MaxSampleAge)
			}
		}
	}
	return nil
}

// renderAll renders each template for each version over window (zero: the
// spec's).
func (b *base) renderAll(qts []*QueryTemplate, versions []string, window time.Duration) ([]string, error) {
	var out []string
	for _, ver := range versions {
		for _, qt := range qts {
			if qt == nil {
				continue
			}
			q, err := b.render(qt, ver, window)
			if err != nil {
				return nil, err
			}
			out = append(out, q)
		}
	}
	return out, nil
}
