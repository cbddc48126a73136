package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/slo"
)

// newSLOCmd groups the SLO spec commands.
func newSLOCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "slo",
		Short: "Validate SLO specs and generate Prometheus burn-rate rules",
	}
	cmd.AddCommand(newSLOValidateCmd(g), newSLOGenerateCmd(g))
	return cmd
}

// readSpecs reads the spec files named on the command line.
func readSpecs(paths []string) ([]slo.File, error) {
	if len(paths) == 0 {
		return nil, errors.New("no spec files: pass -f FILE (repeatable)")
	}
	files := make([]slo.File, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading spec: %w", err)
		}
		files = append(files, slo.File{Name: p, Data: b})
	}
	return files, nil
}

func loadSpecs(paths []string) ([]*slo.SLO, error) {
	files, err := readSpecs(paths)
	if err != nil {
		return nil, err
	}
	return slo.Load(files...)
}

func newSLOValidateCmd(g *globals) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "validate -f FILE...",
		Short: "Check SLO specs; every error names file, line and field",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			slos, err := loadSpecs(files)
			if err != nil {
				return err
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
			fmt.Fprintf(g.out, "%d SLOs valid in %d files\n", len(slos), len(files))
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "SLO spec file (Sloth prometheus/v1, vane/v1, OpenSLO v1); repeatable")
	return cmd
}

func newSLOGenerateCmd(g *globals) *cobra.Command {
	var (
		files    []string
		output   string
		testsDir string
		maxRaw   string
		runbooks string
	)
	cmd := &cobra.Command{
		Use:   "generate -f FILE... [-o rules.yaml] [--tests DIR]",
		Short: "Write Prometheus recording and multi-window multi-burn-rate alert rules",
		Long: `Write Prometheus rule groups for the SLOs: recording rules for every window
the alert tiers need, metadata, budget remaining, and one page and one ticket
alert per SLO. With --tests DIR, also write promtool rule unit tests that
prove each tier's detection and reset times (run: promtool test rules DIR/*.test.yaml).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			slos, err := loadSpecs(files)
			if err != nil {
				return err
			}
			opts := slo.GenerateOptions{Sources: files, RunbookBaseURL: runbooks}
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
	f.StringArrayVarP(&files, "file", "f", nil, "SLO spec file; repeatable")
	f.StringVarP(&output, "output", "o", "", "rule file to write (default: standard output)")
	f.StringVar(&testsDir, "tests", "", "also write promtool rule unit tests for every SLO into this directory")
	f.StringVar(&maxRaw, "max-raw-window", "", "longest window computed from raw series (default 6h); longer ones sum recorded 5m rates")
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
