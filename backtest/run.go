package backtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vaneproj/vane/slo"
)

// PolicySource is a policy file's name and content.
type PolicySource struct {
	Name string
	Data []byte
}

// Run is one backtest: fetch (or read from the cache) each SLO's history,
// replay every policy and keep the results. It is what `vane backtest`
// runs; its I/O is the querier, the cache directory and Progress.
type Run struct {
	SLOs      []*slo.SLO
	Querier   Querier
	URL       string
	Fetch     FetchOptions
	Policies  []PolicySource
	Incidents []Incident
	Cache     Cache
	NoCache   bool
	// Progress receives a progress line per chunk (nil: none).
	Progress io.Writer
}

// Report is a backtest's outcome.
type Report struct {
	Results []*Result
	Series  map[string]*Series
	// Plots are PNGs by SLO ID and policy name, filled by WriteDir.
	plots map[string]string
}

// Policies returns the policies replayed for s: the spec's own, the SRE
// Workbook's, Pyrra's and those of the policy files.
func Policies(s *slo.SLO, files []PolicySource) ([]Policy, error) {
	ps := []Policy{SpecPolicy(s), WorkbookPolicy(s), PyrraPolicy(s)}
	for _, f := range files {
		more, err := ParsePolicies(f.Name, f.Data, s.Window.Duration)
		if err != nil {
			return nil, err
		}
		ps = append(ps, more...)
	}
	return ps, nil
}

// Do fetches and replays.
func (r *Run) Do(ctx context.Context) (*Report, error) {
	rep := &Report{Series: map[string]*Series{}}
	for _, s := range r.SLOs {
		policies, err := Policies(s, r.Policies)
		if err != nil {
			return nil, err
		}
		ser, err := r.series(ctx, s)
		if err != nil {
			return nil, err
		}
		rep.Series[s.ID()] = ser
		w := newWindows(ser)
		for _, p := range policies {
			rep.Results = append(rep.Results, evaluate(s, p, ser, w, r.Incidents))
		}
	}
	return rep, nil
}

func (r *Run) series(ctx context.Context, s *slo.SLO) (*Series, error) {
	key := r.Cache.Key(r.URL, s, r.Fetch)
	if !r.NoCache && r.Cache.Dir != "" {
		ser, ok, err := r.Cache.Load(key)
		if err != nil {
			return nil, err
		}
		if ok {
			if r.Progress != nil {
				fmt.Fprintf(r.Progress, "%s: read from cache %s\n", s.ID(), filepath.Join(r.Cache.Dir, key))
			}
			return ser, nil
		}
	}
	o := r.Fetch
	if r.Progress != nil {
		o.Progress = func(done, total int) {
			bar := strings.Repeat("#", 20*done/total) + strings.Repeat(".", 20-20*done/total)
			fmt.Fprintf(r.Progress, "\r%s: fetching [%s] %d/%d chunks", s.ID(), bar, done, total)
			if done == total {
				fmt.Fprintln(r.Progress)
			}
		}
	}
	ser, err := Fetch(ctx, r.Querier, s, o)
	if err != nil {
		if r.Progress != nil {
			fmt.Fprintln(r.Progress)
		}
		return nil, err
	}
	if r.Cache.Dir != "" {
		if err := r.Cache.Store(key, ser); err != nil {
			return nil, err
		}
	}
	return ser, nil
}

// Files lists what WriteDir writes.
func (rep *Report) Files(dir string) []string {
	out := []string{filepath.Join(dir, "report.md"), filepath.Join(dir, "alerts.csv"), filepath.Join(dir, "results.json")}
	for _, p := range sortedValues(rep.plots) {
		out = append(out, filepath.Join(dir, p))
	}
	return out
}

// WriteDir writes report.md, alerts.csv, results.json and a PNG per SLO
// and policy into dir.
func (rep *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("backtest: --out: %w", err)
	}
	rep.plots = map[string]string{}
	for _, r := range rep.Results {
		ser := rep.Series[r.SLO]
		if ser == nil {
			continue
		}
		var b bytes.Buffer
		if err := Plot(&b, r, ser); err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%s.png", r.SLO, sanitize(r.Policy.Name))
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("backtest: %w", err)
		}
		rep.plots[r.SLO+"/"+r.Policy.Name] = name
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.md", func(w io.Writer) error { return WriteMarkdown(w, rep.Results, rep.plots) }},
		{"alerts.csv", func(w io.Writer) error { return WriteCSV(w, rep.Results) }},
		{"results.json", func(w io.Writer) error { return WriteJSON(w, rep.Results) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("backtest: %w", err)
		}
	}
	return nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
