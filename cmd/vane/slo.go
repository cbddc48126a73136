package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/slo"
)

const lenientHelp = "ignore unknown fields (another tool's extra keys) with a warning instead of failing"

// newSLOCmd groups the SLO spec commands.
func newSLOCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "slo",
		Short: "Validate SLO specs and generate Prometheus burn-rate rules",
	}
	cmd.AddCommand(newSLOValidateCmd(g), newSLOGenerateCmd(g))
	return cmd
}

// loadSpecs loads the SLO specs named by -f and the arguments (see
// specPaths) with opts, writes each warning to warnOut, and returns them
// with the paths read; every line of an error is prefixed like the first.
func loadSpecs(cmd *cobra.Command, warnOut io.Writer, flagged, args []string, opts slo.LoadOptions) ([]*slo.SLO, []string, error) {
	paths, err := specPaths(flagged, args)
	if err != nil {
		return nil, nil, err
	}
	files, err := readSpecFiles(paths, cmd.InOrStdin())
	if err != nil {
		return nil, nil, err
	}
	slos, warns, err := opts.Load(files...)
	for _, w := range warns {
		fmt.Fprintln(warnOut, "vane: warning:", w)
	}
	if err != nil {
		return nil, nil, prefixedError{err}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	return slos, names, nil
}

// prefixedError prints a joined error with "vane: " before every line but
// the first (main prints the first line's).
type prefixedError struct{ err error }

func (e prefixedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), "\n", "\nvane: ")
}

func (e prefixedError) Unwrap() error { return e.err }

func newSLOValidateCmd(g *globals) *cobra.Command {
	var (
		files   []string
		lenient bool
	)
	cmd := &cobra.Command{
		Use:   "validate -f FILE|DIR|- [FILE…]",
		Short: "Check SLO specs; every error names file, line and field",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			slos, paths, err := loadSpecs(cmd, g.errOut, files, args, slo.LoadOptions{Lenient: lenient})
			if err != nil {
				return err
			}
			if jsonOut(cmd) {
				return writeJSON(g.out, validateJSON(slos, paths))
			}
			for _, s := range slos {
				tiers := s.Tiers()
				fmt.Fprintf(g.out, "%s: SLO %s/%s (%s): %s%% over %s, %d alert tiers\n",
					s.Source, s.Service, s.Name, s.Format, fmt.Sprint(s.Objective), s.Window, len(tiers))
				for _, t := range tiers {
					d, _ := slo.DetectionTime(t, s.Target(), 1)
					fmt.Fprintf(g.out, "  %-6s %5s/%-4s burn rate %-5s (%s%% of budget) 100%%-outage detection %v\n",
						t.Severity, slo.FormatDuration(t.Long), slo.FormatDuration(t.Short),
						fmt.Sprint(t.BurnRate), fmt.Sprint(t.BudgetFraction*100), d)
				}
			}
			fmt.Fprintf(g.out, "%d SLOs valid in %d files\n", len(slos), len(paths))
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "SLO spec file (Sloth prometheus/v1 or sloth.slok.dev/v1, vane/v1, OpenSLO v1 or v1alpha), directory of them, or - (stdin); repeatable, and more files may follow as arguments")
	addJSONFlag(cmd, "the valid SLOs and their alert tiers (errors still go to stderr with exit status 1)")
	cmd.Flags().BoolVar(&lenient, "lenient", false, lenientHelp)
	return cmd
}

func newSLOGenerateCmd(g *globals) *cobra.Command {
	var (
		files    []string
		output   string
		testsDir string
		maxRaw   string
		lenient  bool
		runbooks string
	)
	cmd := &cobra.Command{
		Use:   "generate -f FILE|DIR|- [FILE…] [-o rules.yaml] [--tests DIR]",
		Short: "Write Prometheus recording and multi-window multi-burn-rate alert rules",
		Long: `Write Prometheus rule groups for the SLOs: recording rules for every window
the alert tiers need, metadata, budget remaining, and one page and one ticket
alert per SLO. With --tests DIR, also write promtool rule unit tests that
prove each tier's detection and reset times (run: promtool test rules DIR/*.test.yaml).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			slos, paths, err := loadSpecs(cmd, g.errOut, files, args, slo.LoadOptions{Lenient: lenient})
			if err != nil {
				return err
			}
			opts := slo.GenerateOptions{Sources: paths, RunbookBaseURL: runbooks}
			if maxRaw != "" {
				d, err := slo.ParseDuration(maxRaw)
				if err != nil {
					return fmt.Errorf("--max-raw-window: %w", err)
				}
				opts.MaxRawWindow = d
			}
			var buf bytes.Buffer
			if err := slo.GenerateRules(&buf, slos, opts); err != nil {
				return err
			}
			if output == "" || output == "-" {
				if _, err := g.out.Write(buf.Bytes()); err != nil {
					return err
				}
			} else if err := writeFileAtomic(output, buf.Bytes()); err != nil {
				return err
			} else {
				fmt.Fprintf(g.errOut, "wrote %s: %d rule groups for %d SLOs\n", output, len(slos), len(slos))
			}
			if testsDir != "" {
				return writeSLOTests(g, testsDir, slos, opts)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&files, "file", "f", nil, "SLO spec file (any format validate takes), directory of them, or - (stdin); repeatable, and more files may follow as arguments")
	f.StringVarP(&output, "output", "o", "", "rule file to write (default: standard output)")
	f.StringVar(&testsDir, "tests", "", "also write promtool rule unit tests for every SLO into this directory")
	f.StringVar(&maxRaw, "max-raw-window", "", "longest window computed from raw series (default 6h); longer ones sum recorded 5m rates")
	f.BoolVar(&lenient, "lenient", false, lenientHelp)
	f.StringVar(&runbooks, "runbook-url", "", "base URL of the runbooks of vane dashboards generate (e.g. http://vane:8080/runbooks): alerts without a runbook_url of their own link to <base>/<service>-<slo>.md")
	return cmd
}

// writeSLOTests writes, per SLO, its test twin's rules and promtool tests.
func writeSLOTests(g *globals, dir string, slos []*slo.SLO, opts slo.GenerateOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--tests: %w", err)
	}
	n := 0
	for _, s := range slos {
		twin := slo.TestTwin(s)
		rulesName := s.ID() + ".rules.yaml"
		var rb bytes.Buffer
		o := opts
		o.PlainAnnotations = true
		if err := slo.GenerateRules(&rb, []*slo.SLO{twin}, o); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, rulesName), rb.Bytes()); err != nil {
			return err
		}
		suites, _ := slo.TierTests(twin, rulesName)
		outageRules := s.ID() + ".outage.rules.yaml"
		var ob bytes.Buffer
		outage := slo.OutageTwin(s)
		if err := slo.GenerateRules(&ob, []*slo.SLO{outage}, o); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, outageRules), ob.Bytes()); err != nil {
			return err
		}
		suites = append(suites, slo.OutageTests(outage, outageRules))
		for i, pt := range suites {
			if len(pt.Tests) == 0 {
				continue // e.g. no page alert: no outage test
			}
			var tb bytes.Buffer
			if err := slo.WriteTests(&tb, pt); err != nil {
				return err
			}
			if err := writeFileAtomic(filepath.Join(dir, fmt.Sprintf("%s.%d.test.yaml", s.ID(), i)), tb.Bytes()); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Fprintf(g.errOut, "wrote %d promtool test files to %s (run: promtool test rules %s/*.test.yaml)\n", n, dir, dir)
	return nil
}

// writeFileAtomic writes through a temporary file so that a failure leaves
// the previous file intact.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// sloJSON is one SLO of `vane slo validate --json`.
type sloJSON struct {
	Source    string     `json:"source"`
	Service   string     `json:"service"`
	Name      string     `json:"name"`
	Format    string     `json:"format"`
	Objective float64    `json:"objective"`
	Window    string     `json:"window"`
	Tiers     []tierJSON `json:"tiers"`
}

// tierJSON is one alert tier; durations in seconds.
type tierJSON struct {
	Severity              string   `json:"severity"`
	LongWindowSeconds     float64  `json:"long_window_seconds"`
	ShortWindowSeconds    float64  `json:"short_window_seconds"`
	BurnRate              float64  `json:"burn_rate"`
	BudgetFraction        float64  `json:"budget_fraction"`
	OutageDetectionSecond *float64 `json:"full_outage_detection_seconds"`
}

func validateJSON(slos []*slo.SLO, paths []string) any {
	out := struct {
		Files []string  `json:"files"`
		SLOs  []sloJSON `json:"slos"`
	}{Files: paths, SLOs: []sloJSON{}}
	for _, s := range slos {
		j := sloJSON{Source: s.Source, Service: s.Service, Name: s.Name, Format: string(s.Format),
			Objective: s.Objective, Window: fmt.Sprint(s.Window), Tiers: []tierJSON{}}
		for _, t := range s.Tiers() {
			tj := tierJSON{Severity: string(t.Severity), LongWindowSeconds: t.Long.Seconds(), ShortWindowSeconds: t.Short.Seconds(),
				BurnRate: t.BurnRate, BudgetFraction: t.BudgetFraction}
			if d, ok := slo.DetectionTime(t, s.Target(), 1); ok {
				sec := d.Seconds()
				tj.OutageDetectionSecond = &sec
			}
			j.Tiers = append(j.Tiers, tj)
		}
		out.SLOs = append(out.SLOs, j)
	}
	return out
}
