package backtest

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vaneproj/vane/slo"
)

// Constraints are what a tuned policy must meet on the replayed history.
// Zero fields are not constrained.
type Constraints struct {
	// MaxPagesPerWeek bounds the pages per week of the replay.
	MaxPagesPerWeek float64
	// DetectBurn and DetectWithin: a step from healthy traffic to a burn
	// of DetectBurn× must page within DetectWithin (slo.DetectionTime of
	// the fastest page tier, plus its for).
	DetectBurn   float64
	DetectWithin time.Duration
	// MaxBudgetAtPage bounds the budget any replayed page let burn before
	// it fired (0.05 = 5%).
	MaxBudgetAtPage float64
}

var detectRE = regexp.MustCompile(`^\s*([0-9.]+)\s*x\s*[-: =]*\s*(?:within)?\s*[-: =]*\s*(\S+)\s*$`)

// ParseDetect reads "10x-within 1h", "10x within 1h" or "10x:1h".
func ParseDetect(s string) (burn float64, within time.Duration, err error) {
	m := detectRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("--detect %q: want BURNx-within DURATION, e.g. 10x-within 1h", s)
	}
	if burn, err = strconv.ParseFloat(m[1], 64); err != nil || !(burn > 0) {
		return 0, 0, fmt.Errorf("--detect %q: burn %q is not a positive number", s, m[1])
	}
	if within, err = slo.ParseDuration(m[2]); err != nil || within <= 0 {
		return 0, 0, fmt.Errorf("--detect %q: %q is not a positive duration", s, m[2])
	}
	return burn, within, nil
}

// Candidate is one policy scored on the history.
type Candidate struct {
	Policy          Policy        `json:"policy"`
	PagesPerWeek    float64       `json:"pages_per_week"`
	TicketsPerWeek  float64       `json:"tickets_per_week"`
	Detect          time.Duration `json:"detect"` // at the constraint's burn (10× by default); -1: never pages
	MaxBudgetAtPage float64       `json:"max_budget_at_page"`
	UnalertedBurn   time.Duration `json:"unalerted_burn"`
	Recall          *float64      `json:"recall,omitempty"`
	// Violations lists the constraints the policy breaks.
	Violations []string `json:"violations,omitempty"`
}

// TuneResult is a search's outcome.
type TuneResult struct {
	SLO      string      `json:"slo"`
	Searched int         `json:"searched"`
	Feasible int         `json:"feasible"`
	Current  Candidate   `json:"current"`
	Pareto   []Candidate `json:"pareto"`
	// Chosen is the feasible policy with the fewest pages per week, then
	// the fastest detection; nil when no candidate meets the constraints.
	Chosen *Candidate `json:"chosen,omitempty"`
}

// The search grid on a 30-day window; windows scale with the SLO's window
// as slo.DefaultTiers scales them.
var (
	tuneFastLongs = []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour}
	tuneFastBurns = []float64{6, 10, 14.4, 20, 30, 45}
	tuneSlowLongs = []time.Duration{3 * time.Hour, 6 * time.Hour, 12 * time.Hour}
	tuneSlowBurns = []float64{2, 3, 4, 6, 8}
	tuneMinEvents = []float64{0, 100, 1000, 10000}
)

// Candidates builds the search grid for s: two page tiers (a fast one and
// a slower one, each over a range of long windows and burn factors) with
// the current policy's ticket tiers, over a range of min_events. Short
// windows are 1/12 of the long ones, as in the Workbook.
func Candidates(s *slo.SLO, current Policy) []Policy {
	win := s.Window.Duration
	if win <= 0 {
		win = slo.DefaultWindow
	}
	scale := func(d time.Duration) (long, short time.Duration) {
		long = d
		if win != slo.DefaultWindow {
			long = max(10*time.Minute, (time.Duration(float64(d)*float64(win)/float64(slo.DefaultWindow))+time.Minute/2)/time.Minute*time.Minute)
		}
		short = max(5*time.Minute, (long/12+time.Minute/2)/time.Minute*time.Minute)
		return long, short
	}
	var tickets []Tier
	for _, t := range current.Tiers {
		if t.Severity == slo.SeverityTicket {
			tickets = append(tickets, t)
		}
	}
	minEvents := tuneMinEvents
	if s.SLI.Kind == slo.SLIRaw {
		minEvents = []float64{0}
	}
	tier := func(d time.Duration, burn float64) Tier {
		l, sh := scale(d)
		return Tier{Tier: slo.Tier{Severity: slo.SeverityPage, Long: l, Short: sh, BurnRate: burn, BudgetFraction: slo.FractionForBurnRate(burn, win, l)}}
	}
	var out []Policy
	for _, fl := range tuneFastLongs {
		for _, fb := range tuneFastBurns {
			for _, sl := range tuneSlowLongs {
				for _, sb := range tuneSlowBurns {
					if sb >= fb {
						continue
					}
					for _, me := range minEvents {
						p := Policy{Name: fmt.Sprintf("%s@%g+%s@%g/min%g", slo.FormatDuration(fl), fb, slo.FormatDuration(sl), sb, me), MinEvents: me}
						p.Tiers = append(p.Tiers, tier(fl, fb), tier(sl, sb))
						p.Tiers = append(p.Tiers, tickets...)
						out = append(out, p)
					}
				}
			}
		}
	}
	return out
}

// Tune scores current and every candidate on series and returns the
// Pareto front (pages per week, detection, unalerted burn) of the feasible
// ones. A candidate that breaks a constraint on this history is never
// chosen or listed.
func Tune(s *slo.SLO, series *Series, current Policy, candidates []Policy, c Constraints, incidents []Incident) (*TuneResult, error) {
	if err := series.Validate(); err != nil {
		return nil, err
	}
	w := newWindows(series)
	res := &TuneResult{SLO: s.ID(), Searched: len(candidates)}
	res.Current = score(s, current, series, w, c, incidents)
	var feasible []Candidate
	if len(res.Current.Violations) == 0 {
		// The current policy competes: a tune never proposes a policy
		// worse than a current one that meets the constraints.
		feasible = append(feasible, res.Current)
	}
	for _, p := range candidates {
		cand := score(s, p, series, w, c, incidents)
		if len(cand.Violations) == 0 {
			feasible = append(feasible, cand)
		}
	}
	res.Feasible = len(feasible)
	sort.SliceStable(feasible, func(i, j int) bool { return better(feasible[i], feasible[j]) })
	for i, a := range feasible {
		dominated := false
		for j, b := range feasible {
			if i != j && dominates(b, a) {
				dominated = true
				break
			}
		}
		if !dominated && !sameScore(res.Pareto, a) {
			res.Pareto = append(res.Pareto, a)
		}
	}
	if len(res.Pareto) > 0 {
		ch := res.Pareto[0]
		res.Chosen = &ch
	}
	return res, nil
}

func detectKey(d time.Duration) time.Duration {
	if d < 0 {
		return math.MaxInt64
	}
	return d
}

func better(a, b Candidate) bool {
	if a.PagesPerWeek != b.PagesPerWeek {
		return a.PagesPerWeek < b.PagesPerWeek
	}
	if detectKey(a.Detect) != detectKey(b.Detect) {
		return detectKey(a.Detect) < detectKey(b.Detect)
	}
	if a.UnalertedBurn != b.UnalertedBurn {
		return a.UnalertedBurn < b.UnalertedBurn
	}
	return a.Policy.MinEvents < b.Policy.MinEvents
}

// sameScore: a scores exactly as a policy already on the front (which,
// sorted first, is the simpler one: fewer min_events).
func sameScore(front []Candidate, a Candidate) bool {
	for _, b := range front {
		if b.PagesPerWeek == a.PagesPerWeek && b.Detect == a.Detect && b.UnalertedBurn == a.UnalertedBurn {
			return true
		}
	}
	return false
}

// dominates: a is no worse than b on every objective and better on one.
func dominates(a, b Candidate) bool {
	ad, bd := detectKey(a.Detect), detectKey(b.Detect)
	if a.PagesPerWeek > b.PagesPerWeek || ad > bd || a.UnalertedBurn > b.UnalertedBurn {
		return false
	}
	return a.PagesPerWeek < b.PagesPerWeek || ad < bd || a.UnalertedBurn < b.UnalertedBurn
}

func score(s *slo.SLO, p Policy, series *Series, w *windows, c Constraints, incidents []Incident) Candidate {
	r := evaluate(s, p, series, w, incidents)
	burn := c.DetectBurn
	if burn <= 0 {
		burn = 10
	}
	cand := Candidate{Policy: p, PagesPerWeek: r.PagesPerWeek, TicketsPerWeek: r.TicketsPerWeek, MaxBudgetAtPage: r.MaxBudgetAtPage,
		UnalertedBurn: r.UnalertedBurn, Recall: r.Recall, Detect: -1}
	ratio := math.Min(1, burn*s.ErrorBudget())
	if d, ok := p.detection(s.Target(), ratio, slo.SeverityPage); ok {
		cand.Detect = d
	}
	if c.MaxPagesPerWeek > 0 && r.PagesPerWeek > c.MaxPagesPerWeek {
		cand.Violations = append(cand.Violations, fmt.Sprintf("%.2f pages/week > %g", r.PagesPerWeek, c.MaxPagesPerWeek))
	}
	if c.DetectWithin > 0 && (cand.Detect < 0 || cand.Detect > c.DetectWithin) {
		cand.Violations = append(cand.Violations, fmt.Sprintf("a %gx burn pages after %s > %s", burn, fmtDetect(cand.Detect), slo.FormatDuration(c.DetectWithin)))
	}
	if c.MaxBudgetAtPage > 0 && r.MaxBudgetAtPage > c.MaxBudgetAtPage {
		cand.Violations = append(cand.Violations, fmt.Sprintf("%s of budget spent before a page > %s", pct(r.MaxBudgetAtPage), pct(c.MaxBudgetAtPage)))
	}
	return cand
}

func fmtDetect(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmtDur(d)
}

// WriteTuneTable prints the current policy and the Pareto front (at most
// limit rows), the chosen one marked.
func WriteTuneTable(b *strings.Builder, r *TuneResult, limit int) {
	fmt.Fprintf(b, "%s: %d candidate policies searched, %d meet the constraints\n", r.SLO, r.Searched, r.Feasible)
	fmt.Fprintf(b, "  %-34s %9s %10s %11s %10s %9s  %s\n", "POLICY", "PAGES/WK", "TICKETS/WK", "DETECT", "BUDGET@PG", "UNALERTED", "NOTE")
	row := func(c Candidate, note string) {
		fmt.Fprintf(b, "  %-34s %9.2f %10.2f %11s %10s %9s  %s\n", c.Policy.Name, c.PagesPerWeek, c.TicketsPerWeek, fmtDetect(c.Detect),
			pct(c.MaxBudgetAtPage), fmtDur(c.UnalertedBurn), note)
	}
	note := "current"
	if len(r.Current.Violations) > 0 {
		note += ": breaks " + strings.Join(r.Current.Violations, "; ")
	}
	row(r.Current, note)
	for i, c := range r.Pareto {
		if i >= limit {
			fmt.Fprintf(b, "  … %d more on the Pareto front\n", len(r.Pareto)-limit)
			break
		}
		n := ""
		if i == 0 {
			n = "chosen"
		}
		row(c, n)
	}
	if r.Chosen == nil {
		b.WriteString("  no candidate meets the constraints on this history; nothing is proposed\n")
	}
}

// TiersYAML renders a policy as a vane/v1 spec's alerting block.
func TiersYAML(p Policy) string {
	var b strings.Builder
	b.WriteString("alerting:\n")
	if p.MinEvents > 0 {
		fmt.Fprintf(&b, "  min_events: %g\n", p.MinEvents)
	}
	b.WriteString("  tiers:\n")
	for _, t := range p.Tiers {
		fmt.Fprintf(&b, "    - {severity: %s, long: %s, short: %s, burn_rate: %g}\n", t.Severity, slo.FormatDuration(t.Long), slo.FormatDuration(t.Short), t.BurnRate)
	}
	return b.String()
}

// Diff is a unified-style line diff of two alerting blocks, labelled with
// the spec's source.
func Diff(source string, from, to Policy) string {
	a := strings.Split(strings.TrimSuffix(TiersYAML(from), "\n"), "\n")
	b := strings.Split(strings.TrimSuffix(TiersYAML(to), "\n"), "\n")
	// Longest common subsequence, small inputs.
	n, m := len(a), len(b)
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s (alerting, current)\n+++ %s (alerting, tuned)\n", source, source)
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out.WriteString(" " + a[i] + "\n")
			i++
			j++
		case i < n && (j == m || l[i+1][j] >= l[i][j+1]):
			out.WriteString("-" + a[i] + "\n")
			i++
		default:
			out.WriteString("+" + b[j] + "\n")
			j++
		}
	}
	return out.String()
}
