package backtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vaneproj/vane/slo"
)

// WriteTable prints one line per SLO and policy.
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLO\tPOLICY\tPAGES/WK\tTICKETS/WK\tMAX DETECT\tMAX BUDGET@PAGE\tFLAPS\tUNALERTED BURN\tPRECISION\tRECALL\tCOVERAGE")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.SLO, r.Policy.Name, r.PagesPerWeek, r.TicketsPerWeek,
			fmtDur(r.maxDetection()), pct(r.MaxBudgetAtPage), r.Flaps, fmtDur(r.UnalertedBurn), optPct(r.Precision), optPct(r.Recall), coverage(r))
	}
	return tw.Flush()
}

func (r *Result) maxDetection() time.Duration {
	var d time.Duration
	for _, a := range r.Alerts {
		if a.Severity == slo.SeverityPage {
			d = max(d, a.Detection)
		}
	}
	return d
}

func coverage(r *Result) string {
	s := pct(r.Coverage)
	if r.Partial {
		s += " (partial)"
	}
	return s
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	return slo.FormatDuration(d.Round(time.Second))
}

func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func optPct(p *float64) string {
	if p == nil {
		return "-"
	}
	return pct(*p)
}

// WriteMarkdown writes report.md: the summary table, then each alert.
func WriteMarkdown(w io.Writer, results []*Result, plots map[string]string) error {
	var b strings.Builder
	b.WriteString("# SLO backtest\n\n")
	if len(results) > 0 {
		fmt.Fprintf(&b, "Range %s to %s.\n\n", results[0].From.UTC().Format(time.RFC3339), results[0].To.UTC().Format(time.RFC3339))
	}
	b.WriteString("| SLO | Policy | Pages/week | Tickets/week | Max detection | Max budget at page | Flaps | Unalerted burn >1× | Precision | Recall | Coverage |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %s | %s | %d | %s | %s | %s | %s |\n", r.SLO, r.Policy.Name, r.PagesPerWeek, r.TicketsPerWeek,
			fmtDur(r.maxDetection()), pct(r.MaxBudgetAtPage), r.Flaps, fmtDur(r.UnalertedBurn), optPct(r.Precision), optPct(r.Recall), coverage(r))
	}
	for _, r := range results {
		fmt.Fprintf(&b, "\n## %s, policy %s\n\n%s\n\n", r.SLO, r.Policy.Name, r.Policy.String())
		if img, ok := plots[r.SLO+"/"+r.Policy.Name]; ok {
			fmt.Fprintf(&b, "![%s %s](%s)\n\n", r.SLO, r.Policy.Name, img)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- note: %s\n", n)
		}
		if len(r.Alerts) == 0 {
			b.WriteString("No alerts.\n")
			continue
		}
		b.WriteString("| Severity | Start | End | Detection | Budget spent before firing | Reset | Peak burn | Tiers |\n|---|---|---|---|---|---|---|---|\n")
		for _, a := range r.Alerts {
			end := a.End.UTC().Format(time.RFC3339)
			if a.Open {
				end += " (still firing)"
			}
			part := ""
			if a.Partial {
				part = " (partial window)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.1f× | %s%s |\n", a.Severity, a.Start.UTC().Format(time.RFC3339), end,
				fmtDur(a.Detection), pct(a.BudgetSpent), fmtDur(a.Reset), a.PeakBurn, strings.Join(a.Tiers, ", "), part)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCSV writes one row per alert (and one row with empty alert columns
// for a policy that raised none).
func WriteCSV(w io.Writer, results []*Result) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"slo", "policy", "severity", "start", "end", "open", "detection_s", "budget_spent", "reset_s", "peak_burn", "tiers", "partial"})
	for _, r := range results {
		if len(r.Alerts) == 0 {
			_ = cw.Write([]string{r.SLO, r.Policy.Name, "", "", "", "", "", "", "", "", "", strconv.FormatBool(r.Partial)})
		}
		for _, a := range r.Alerts {
			_ = cw.Write([]string{r.SLO, r.Policy.Name, string(a.Severity), a.Start.UTC().Format(time.RFC3339), a.End.UTC().Format(time.RFC3339),
				strconv.FormatBool(a.Open), strconv.FormatFloat(a.Detection.Seconds(), 'f', -1, 64), strconv.FormatFloat(a.BudgetSpent, 'g', 6, 64),
				strconv.FormatFloat(a.Reset.Seconds(), 'f', -1, 64), strconv.FormatFloat(a.PeakBurn, 'g', 6, 64), strings.Join(a.Tiers, " "),
				strconv.FormatBool(a.Partial || r.Partial)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the results as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
