package backtest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vaneproj/vane/slo"
)

// Tier is an slo.Tier with an optional `for:` duration: the tier's
// condition must hold that long before it fires (Pyrra's style).
type Tier struct {
	slo.Tier
	For time.Duration `json:"for,omitempty"`
}

// Policy is a set of alert tiers with the guards that keep them quiet:
// min_events (the long window must hold that many events) and
// min_coverage (the long window must hold data over that share of its
// length).
type Policy struct {
	Name        string  `json:"name"`
	Tiers       []Tier  `json:"tiers"`
	MinEvents   float64 `json:"min_events,omitempty"`
	MinCoverage float64 `json:"min_coverage,omitempty"`
	// Source says where the policy comes from ("spec", "file:line").
	Source string `json:"source,omitempty"`
}

// String lists the policy's tiers.
func (p Policy) String() string {
	var b bytes.Buffer
	for i, t := range p.Tiers {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s/%s %gx", t.Severity, slo.FormatDuration(t.Long), slo.FormatDuration(t.Short), t.BurnRate)
		if t.For > 0 {
			fmt.Fprintf(&b, " for %s", slo.FormatDuration(t.For))
		}
	}
	if p.MinEvents > 0 {
		fmt.Fprintf(&b, "; min_events %g", p.MinEvents)
	}
	return b.String()
}

// SpecPolicy is the SLO's own policy: its tiers (or the defaults for its
// window) and min_events, exactly what the generated rules evaluate.
func SpecPolicy(s *slo.SLO) Policy {
	p := Policy{Name: "spec", MinEvents: s.Alerting.MinEvents, Source: s.Source}
	for _, t := range s.Tiers() {
		p.Tiers = append(p.Tiers, Tier{Tier: t})
	}
	return p
}

// WorkbookPolicy is the SRE Workbook's four tiers scaled to the SLO's
// window (slo.DefaultTiers), without min_events.
func WorkbookPolicy(s *slo.SLO) Policy {
	p := Policy{Name: "workbook"}
	for _, t := range slo.DefaultTiers(s.Window.Duration) {
		p.Tiers = append(p.Tiers, Tier{Tier: t})
	}
	return p
}

// pyrraTiers are Pyrra's multi-burn-rate alerts for a 28-day window: each
// tier also waits `for` before firing (github.com/pyrra-dev/pyrra,
// kubernetes/api/v1alpha1 and slo/rules.go, "burnratesFromWindow").
var pyrraTiers = [...]struct {
	sev         slo.Severity
	long, short time.Duration
	factor      float64
	forDur      time.Duration
}{
	{slo.SeverityPage, time.Hour, 5 * time.Minute, 14, 2 * time.Minute},
	{slo.SeverityPage, 6 * time.Hour, 30 * time.Minute, 7, 15 * time.Minute},
	{slo.SeverityTicket, 24 * time.Hour, 2 * time.Hour, 2, time.Hour},
	{slo.SeverityTicket, 4 * 24 * time.Hour, 6 * time.Hour, 1, 3 * time.Hour},
}

// PyrraPolicy is Pyrra's tiers with `for:`, their windows scaled from 28
// days to the SLO's window as Pyrra scales them.
func PyrraPolicy(s *slo.SLO) Policy {
	win := s.Window.Duration
	if win <= 0 {
		win = slo.DefaultWindow
	}
	const base = 28 * 24 * time.Hour
	scale := func(d time.Duration) time.Duration {
		return max(time.Minute, (time.Duration(float64(d)*float64(win)/float64(base))+time.Minute/2)/time.Minute*time.Minute)
	}
	p := Policy{Name: "pyrra"}
	for _, t := range pyrraTiers {
		long := scale(t.long)
		p.Tiers = append(p.Tiers, Tier{Tier: slo.Tier{Severity: t.sev, Long: long, Short: scale(t.short), BurnRate: t.factor,
			BudgetFraction: slo.FractionForBurnRate(t.factor, win, long)}, For: scale(t.forDur)})
	}
	return p
}

// policyFile is the YAML of --policy files.
type policyFile struct {
	Policies []struct {
		Name        string  `yaml:"name"`
		MinEvents   float64 `yaml:"min_events"`
		MinCoverage float64 `yaml:"min_coverage"`
		Tiers       []struct {
			Severity      string  `yaml:"severity"`
			Long          string  `yaml:"long"`
			Short         string  `yaml:"short"`
			BurnRate      float64 `yaml:"burn_rate"`
			BudgetPercent float64 `yaml:"budget_percent"`
			For           string  `yaml:"for"`
		} `yaml:"tiers"`
	} `yaml:"policies"`
}

// ParsePolicies reads a policy file:
//
//	policies:
//	  - name: quieter
//	    min_events: 100
//	    tiers:
//	      - {severity: page, long: 1h, short: 5m, burn_rate: 14.4, for: 2m}
//	      - {severity: ticket, long: 3d, short: 6h, budget_percent: 10}
//
// Tiers are written as in a vane/v1 spec's alerting.tiers (burn_rate or
// budget_percent of the window's budget), plus an optional for; errors
// name file:line.
func ParsePolicies(name string, data []byte, window time.Duration) ([]Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var f policyFile
	if err := root.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(f.Policies) == 0 {
		return nil, fmt.Errorf("%s: no policies (want a top-level `policies:` list)", name)
	}
	lines := tierLines(&root)
	if window <= 0 {
		window = slo.DefaultWindow
	}
	var out []Policy
	var errs []error
	k := 0
	for pi, fp := range f.Policies {
		if fp.Name == "" {
			errs = append(errs, fmt.Errorf("%s: policies[%d]: name is empty", name, pi))
		}
		if fp.MinEvents < 0 || fp.MinCoverage < 0 || fp.MinCoverage > 1 {
			errs = append(errs, fmt.Errorf("%s: policy %q: min_events must be ≥ 0 and min_coverage in [0, 1]", name, fp.Name))
		}
		p := Policy{Name: fp.Name, MinEvents: fp.MinEvents, MinCoverage: fp.MinCoverage}
		if len(fp.Tiers) == 0 {
			errs = append(errs, fmt.Errorf("%s: policy %q has no tiers", name, fp.Name))
		}
		for ti, ft := range fp.Tiers {
			at := fmt.Sprintf("%s: policy %q tiers[%d]", name, fp.Name, ti)
			if k < len(lines) {
				at = fmt.Sprintf("%s:%d: policy %q tiers[%d]", name, lines[k], fp.Name, ti)
			}
			k++
			if p.Source == "" {
				p.Source = at
			}
			bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(at+": "+format, a...)) }
			var t Tier
			switch slo.Severity(ft.Severity) {
			case slo.SeverityPage, slo.SeverityTicket:
				t.Severity = slo.Severity(ft.Severity)
			default:
				bad("severity %q is not page or ticket", ft.Severity)
			}
			var err error
			if t.Long, err = slo.ParseDuration(ft.Long); err != nil || t.Long <= 0 {
				bad("long %q is not a positive duration", ft.Long)
			}
			if t.Short, err = slo.ParseDuration(ft.Short); err != nil || t.Short <= 0 {
				bad("short %q is not a positive duration", ft.Short)
			} else if t.Short > t.Long {
				bad("short %s is longer than long %s", ft.Short, ft.Long)
			}
			if ft.For != "" {
				if t.For, err = slo.ParseDuration(ft.For); err != nil || t.For < 0 {
					bad("for %q is not a duration", ft.For)
				}
			}
			switch {
			case ft.BurnRate > 0 && ft.BudgetPercent > 0:
				bad("set burn_rate or budget_percent, not both")
			case ft.BurnRate > 0:
				t.BurnRate = ft.BurnRate
				t.BudgetFraction = slo.FractionForBurnRate(ft.BurnRate, window, t.Long)
			case ft.BudgetPercent > 0 && ft.BudgetPercent <= 100:
				t.BudgetFraction = ft.BudgetPercent / 100
				t.BurnRate = slo.BurnRateForFraction(t.BudgetFraction, window, t.Long)
			default:
				bad("burn_rate must be > 0 or budget_percent in (0, 100]")
			}
			p.Tiers = append(p.Tiers, t)
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// tierLines lists the line of every tier mapping in document order.
func tierLines(root *yaml.Node) []int {
	var lines []int
	var walk func(n *yaml.Node, inTiers bool)
	walk = func(n *yaml.Node, inTiers bool) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, false)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i].Value == "tiers")
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if inTiers && c.Kind == yaml.MappingNode {
					lines = append(lines, c.Line)
					continue
				}
				walk(c, false)
			}
		}
	}
	walk(root, false)
	return lines
}

// detection is how long after a step from healthy traffic to errorRatio
// the policy's first page fires (slo.DetectionTime plus the tier's for),
// and whether any page tier fires at all.
func (p Policy) detection(target, errorRatio float64, sev slo.Severity) (time.Duration, bool) {
	best, ok := time.Duration(math.MaxInt64), false
	for _, t := range p.Tiers {
		if t.Severity != sev {
			continue
		}
		if d, fires := slo.DetectionTime(t.Tier, target, errorRatio); fires {
			d += t.For
			if d < best {
				best, ok = d, true
			}
		}
	}
	return best, ok
}
