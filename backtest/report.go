package backtest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vaneproj/vane/slo"
)

// Result is one policy's replay of one SLO's history.
type Result struct {
	SLO string `json:"slo"`
	// Target is the SLO's objective as a ratio (0.999).
	Target float64   `json:"target"`
	Policy Policy    `json:"policy"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Alerts []Alert   `json:"alerts"`

	Pages          int     `json:"pages"`
	Tickets        int     `json:"tickets"`
	PagesPerWeek   float64 `json:"pages_per_week"`
	TicketsPerWeek float64 `json:"tickets_per_week"`
	// Flaps counts alerts that began within FlapGap of the previous alert
	// of the same severity ending.
	Flaps int `json:"flaps"`
	// UnalertedBurn is the time the UnalertedWindow burn rate was above 1×
	// with no alert firing.
	UnalertedBurn time.Duration `json:"unalerted_burn"`
	// MaxBudgetAtPage is the most budget any page let burn before firing.
	MaxBudgetAtPage float64 `json:"max_budget_at_page"`
	// Precision and Recall of pages and tickets against the incidents
	// (nil without incidents).
	Precision *float64 `json:"precision,omitempty"`
	Recall    *float64 `json:"recall,omitempty"`
	// Coverage is the share of steps with data; Partial is set when data
	// is missing.
	Coverage float64  `json:"coverage"`
	Partial  bool     `json:"partial,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Incident is a labelled period of real trouble.
type Incident struct {
	Start, End time.Time
	Name       string
}

// Evaluate replays p over series and summarises the alerts; incidents may
// be nil.
func Evaluate(s *slo.SLO, p Policy, series *Series, incidents []Incident) (*Result, error) {
	if err := series.Validate(); err != nil {
		return nil, err
	}
	if len(p.Tiers) == 0 {
		return nil, fmt.Errorf("backtest: policy %q has no tiers", p.Name)
	}
	return evaluate(s, p, series, newWindows(series), incidents), nil
}

func evaluate(s *slo.SLO, p Policy, series *Series, w *windows, incidents []Incident) *Result {
	alerts := replay(s, p, series, w)
	n := series.Len()
	r := &Result{SLO: s.ID(), Target: s.Target(), Policy: p, From: series.Start, To: series.At(n), Alerts: alerts,
		Partial: series.Partial, Notes: series.Notes}
	if n > 0 {
		r.Coverage = float64(w.present[n]) / float64(n)
	}
	if r.Coverage < 1 {
		r.Partial = true
	}
	weeks := r.To.Sub(r.From).Hours() / (24 * 7)
	lastEnd := map[slo.Severity]time.Time{}
	firing := make([]bool, n)
	for _, a := range alerts {
		if a.Severity == slo.SeverityPage {
			r.Pages++
			r.MaxBudgetAtPage = max(r.MaxBudgetAtPage, a.BudgetSpent)
		} else {
			r.Tickets++
		}
		if e, ok := lastEnd[a.Severity]; ok && a.Start.Sub(e) < FlapGap {
			r.Flaps++
		}
		lastEnd[a.Severity] = a.End
		for i := series.Index(a.Start); i < n && series.At(i).Before(a.End); i++ {
			firing[i] = true
		}
	}
	if weeks > 0 {
		r.PagesPerWeek = float64(r.Pages) / weeks
		r.TicketsPerWeek = float64(r.Tickets) / weeks
	}
	burn := w.stats(UnalertedWindow)
	budget := s.ErrorBudget()
	for i := 0; i < n; i++ {
		if !firing[i] && burn.ratio[i]/budget > 1 {
			r.UnalertedBurn += series.Step
		}
	}
	if len(incidents) > 0 {
		tp := 0
		for _, a := range alerts {
			for _, in := range incidents {
				if a.Start.Before(in.End) && in.Start.Before(a.End) {
					tp++
					break
				}
			}
		}
		found := 0
		for _, in := range incidents {
			for _, a := range alerts {
				if a.Start.Before(in.End) && in.Start.Before(a.End) {
					found++
					break
				}
			}
		}
		rec := float64(found) / float64(len(incidents))
		r.Recall = &rec
		if len(alerts) > 0 {
			prec := float64(tp) / float64(len(alerts))
			r.Precision = &prec
		}
	}
	return r
}

// ParseIncidents reads an incidents CSV: a header with start and end
// (RFC 3339) and optionally name, then one incident per row. Errors name
// file:line and the field.
func ParseIncidents(name string, r io.Reader) ([]Incident, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:1: reading header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	si, ok1 := col["start"]
	ei, ok2 := col["end"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s:1: header %q must name the columns start and end", name, strings.Join(head, ","))
	}
	ni, hasName := col["name"]
	var out []Incident
	var errs []error
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A malformed row is reported and reading goes on; any other
			// error ends the file.
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				break
			}
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, pe.Line, err))
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(si, ei) {
			errs = append(errs, fmt.Errorf("%s:%d: %d fields, want start and end", name, line, len(rec)))
			continue
		}
		var in Incident
		if in.Start, err = time.Parse(time.RFC3339, strings.TrimSpace(rec[si])); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: start %q is not an RFC 3339 time", name, line, rec[si]))
			continue
		}
		if in.End, err = time.Parse(time.RFC3339, strings.TrimSpace(rec[ei])); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: end %q is not an RFC 3339 time", name, line, rec[ei]))
			continue
		}
		if !in.End.After(in.Start) {
			errs = append(errs, fmt.Errorf("%s:%d: end %s is not after start %s", name, line, rec[ei], rec[si]))
			continue
		}
		if hasName && ni < len(rec) {
			in.Name = rec[ni]
		}
		out = append(out, in)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no incidents after the header", name)
	}
	return out, nil
}
