package slo

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// corpusReport makes TestCorpus report disagreements instead of failing,
// to measure agreement on any revision.
var corpusReport = flag.Bool("corpus.report", false, "TestCorpus: log disagreements with Sloth instead of failing")

// corpusAllTiers runs every distinct tier suite of the corpus (minutes).
var corpusAllTiers = flag.Bool("corpus.all-tiers", false, "TestCorpus: run the generated tier suites of every distinct objective, not only the lowest")

// corpusDifferences are the files on which Vane deliberately disagrees with
// Sloth v0.16 beyond the general rules in deliberate (each is listed in the
// README's compatibility section), with the reason. The key is the file's
// path in testdata/corpus.
var corpusDifferences = map[string]string{
	"sloth/examples__contrib-denominator-corrected.yaml":                   "Sloth's denominator_corrected_rules plugin replaces the SLI rules with its own; Vane refuses it by id",
	"sloth/test__validate_with_duplicates__bad-prom-multi-duplicates.yaml": "two SLOs with the same service and name in one file: sloth validate rejects them too, sloth generate writes both",
	"sloth/examples__victoria-metrics.yml":                                 "replaces Sloth's plugin chain for VictoriaMetrics (overridePrevious, validate_victoria_metrics); Vane writes Prometheus rules and refuses it",
}

// deliberate says why Vane's answer on r differs from Sloth's by design, or "".
func deliberate(t *testing.T, r *corpusResult) string {
	if why := corpusDifferences[r.entry.file]; why != "" {
		return why
	}
	data, err := os.ReadFile(filepath.Join("testdata", "corpus", r.entry.file))
	if err != nil {
		t.Fatal(err)
	}
	if !r.slothOK && r.vaneErr == nil && openSLOv1Only(data) {
		return "OpenSLO v1, which Sloth v0.16 does not read"
	}
	if r.slothOK && r.vaneErr != nil && strings.Contains(r.vaneErr.Error(), "unknown field") {
		if _, _, err := (LoadOptions{Lenient: true}).Load(File{Name: r.entry.file, Data: data}); err == nil {
			return "unknown fields, which Sloth ignores: Vane is strict by default and loads the file with --lenient"
		}
	}
	return ""
}

// openSLOv1Only reports whether every document of data is OpenSLO v1.
func openSLOv1Only(data []byte) bool {
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "- "))
		if v, ok := strings.CutPrefix(l, "apiVersion:"); ok {
			n++
			if v = strings.Trim(strings.TrimSpace(v), `"'`); v != "openslo/v1" && v != "openslo.com/v1" {
				return false
			}
		}
	}
	return n > 0
}

// corpusEntry is one file of the public spec corpus (testdata/corpus).
type corpusEntry struct {
	file, repo, path, commit, licence string
}

func readCorpusManifest(t *testing.T) []corpusEntry {
	t.Helper()
	f, err := os.Open("testdata/corpus/MANIFEST.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue // header
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 5 {
			t.Fatalf("MANIFEST.tsv: bad line %q", sc.Text())
		}
		out = append(out, corpusEntry{c[0], c[1], c[2], c[3], c[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// corpusResult is what Sloth and Vane made of one corpus file.
type corpusResult struct {
	entry     corpusEntry
	slothOK   bool
	slothErr  string
	slothOut  []byte
	vaneSLOs  []*SLO
	vaneErr   error
	vaneRules string // rule file path, when Vane accepted the file
}

// TestCorpus runs Sloth v0.16 and Vane on every file of a corpus of public
// SLO specs (Sloth's examples and test fixtures, OpenSLO's examples and
// SDK fixtures; sources and licences in testdata/corpus/MANIFEST.tsv) and
// checks that Vane accepts what Sloth accepts and rejects what Sloth
// rejects (but for the deliberate differences in corpusDifferences), that
// Vane's rules pass promtool check rules and its generated rule tests pass
// promtool test rules, and that Vane's SLIs read the same series over the
// same ranges as Sloth's.
func TestCorpus(t *testing.T) {
	sloth := tool(t, "sloth")
	promtool := tool(t, "promtool")
	entries := readCorpusManifest(t)
	dir := t.TempDir()
	for _, d := range []string{"sloth", "vane", "tests"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	results := make([]*corpusResult, len(entries))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, e := range entries {
		r := &corpusResult{entry: e}
		results[i] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(dir, "sloth", fmt.Sprintf("%03d.yaml", i))
			cmd := exec.Command(sloth, "generate", "-i", filepath.Join("testdata", "corpus", e.file), "-o", out)
			msg, err := cmd.CombinedOutput()
			r.slothOK = err == nil
			if err != nil {
				r.slothErr = lastLine(string(msg))
			} else {
				r.slothOut, _ = os.ReadFile(out)
			}
		}()
		r.vaneSLOs, r.vaneErr = Load(readFile(t, filepath.Join("testdata", "corpus", e.file)))
	}
	wg.Wait()

	agree, slothOK, vaneOK, deliberateN := 0, 0, 0, 0
	var ruleFiles []string
	for i, r := range results {
		if r.slothOK {
			slothOK++
		}
		if r.vaneErr == nil {
			vaneOK++
		}
		vane := r.vaneErr == nil
		switch {
		case vane == r.slothOK:
			agree++
		case deliberate(t, r) != "":
			deliberateN++
			t.Logf("%s: deliberate difference (Sloth accepts: %v, Vane accepts: %v): %s", r.entry.file, r.slothOK, vane, deliberate(t, r))
		default:
			msg := fmt.Sprintf("%s: Sloth accepts: %v (%s), Vane accepts: %v (%v)", r.entry.file, r.slothOK, r.slothErr, vane, firstLine(r.vaneErr))
			if *corpusReport {
				t.Log("disagreement: " + msg)
			} else {
				t.Error(msg)
			}
		}
		if vane && len(r.vaneSLOs) > 0 {
			r.vaneRules = filepath.Join(dir, "vane", fmt.Sprintf("%03d.yaml", i))
			writeRules(t, r.vaneRules, r.vaneSLOs, GenerateOptions{Sources: []string{r.entry.file}})
			ruleFiles = append(ruleFiles, r.vaneRules)
		}
	}
	t.Logf("corpus: %d files; Sloth v0.16 accepts %d, Vane accepts %d; they agree on %d of %d (%.0f%%); %d deliberate differences; %d other disagreements",
		len(results), slothOK, vaneOK, agree, len(results), 100*float64(agree)/float64(len(results)), deliberateN, len(results)-agree-deliberateN)

	// The rules of every accepted file, in one promtool call.
	if len(ruleFiles) > 0 {
		run(t, dir, promtool, append([]string{"check", "rules"}, ruleFiles...)...)
	}

	// Same SLI series as Sloth, for the SLOs both generate.
	compared := 0
	for _, r := range results {
		if !r.slothOK || r.vaneErr != nil {
			continue
		}
		sl := slothSLIs(t, r.slothOut)
		for _, s := range r.vaneSLOs {
			want, ok := sl[s.Service+"/"+s.Name]
			if !ok {
				continue
			}
			e, tq := s.SLI.Queries(time.Hour)
			got := selectorsOf(t, e, tq)
			if !equalStrings(got, want) {
				t.Errorf("%s: SLO %s/%s reads other series than Sloth's 1h SLI:\nVane:  %v\nSloth: %v", r.entry.file, s.Service, s.Name, got, want)
			}
			compared++
		}
	}
	t.Logf("SLI queries compared with Sloth's: %d SLOs", compared)

	// Generated rule tests (as vane slo generate --tests writes them), in
	// one promtool call. The outage test (which checks the page alert's
	// labels and annotations, rendered) runs for every distinct alert of
	// the corpus. Tier suites replay up to days of history (about half a
	// minute for the page tiers, over a minute for the ticket tiers): by
	// default only the page tiers of the lowest objective run here, the
	// case whose tiers need the longest detection times (the 99.9% tiers
	// run in TestPromtoolTierSuites); -corpus.all-tiers runs every distinct
	// set.
	var testFiles []string
	seenTiers, seenAlert := map[string]bool{}, map[string]bool{}
	var lowest *SLO
	n := 0
	for _, r := range results {
		if r.vaneErr != nil {
			continue
		}
		for _, s := range r.vaneSLOs {
			n++
			base := fmt.Sprintf("slo%03d", n)
			if s.Alerting.Name != "" && !s.Alerting.PageAlert.Disable && (lowest == nil || s.Objective < lowest.Objective) {
				lowest = s
			}
			outage := OutageTwin(s)
			pt := OutageTests(outage, base+".outage.rules.yaml")
			if len(pt.Tests) == 0 {
				continue
			}
			exp := expAlert(outage, SeverityPage, tiersOf(outage, SeverityPage))
			key := fmt.Sprintf("%v|%v|%v|%v|%v", s.Objective, s.Window, s.Tiers(), exp.ExpLabels, exp.ExpAnnotations)
			if seenAlert[key] {
				continue
			}
			seenAlert[key] = true
			writeRules(t, filepath.Join(dir, "tests", base+".outage.rules.yaml"), []*SLO{outage}, GenerateOptions{PlainAnnotations: true})
			writeTests(t, filepath.Join(dir, "tests", base+".outage.test.yaml"), pt)
			testFiles = append(testFiles, base+".outage.test.yaml")
			if *corpusAllTiers {
				testFiles = append(testFiles, tierSuiteFiles(t, dir, base, s, seenTiers, false)...)
			}
		}
	}
	if lowest != nil && !*corpusAllTiers {
		t.Logf("tier suite of the lowest objective: %s/%s at %v%%", lowest.Service, lowest.Name, lowest.Objective)
		testFiles = append(testFiles, tierSuiteFiles(t, dir, "lowest", lowest, seenTiers, true)...)
	}
	if len(testFiles) > 0 {
		start := time.Now()
		cmd := exec.Command(promtool, append([]string{"test", "rules"}, testFiles...)...)
		cmd.Dir = filepath.Join(dir, "tests")
		out, err := cmd.CombinedOutput()
		failed := strings.Count(string(out), "FAILED")
		t.Logf("promtool test rules: %d files for %d SLOs (%d distinct alerts, %d tier suites), %d failed, in %v",
			len(testFiles), n, len(seenAlert), len(seenTiers), failed, time.Since(start).Round(time.Millisecond))
		if err != nil {
			if *corpusReport {
				t.Logf("generated rule tests fail:\n%s", tail(string(out), 40))
			} else {
				t.Errorf("generated rule tests fail: %v\n%s", err, tail(string(out), 80))
			}
		}
	}
}

// tierSuiteFiles writes the tier suites of s (once per distinct objective,
// window and tiers) and returns their file names; pageOnly keeps the page
// tiers' suite (evaluated every minute) only.
func tierSuiteFiles(t *testing.T, dir, base string, s *SLO, seen map[string]bool, pageOnly bool) []string {
	key := fmt.Sprintf("%v|%v|%v|%v|%v", s.Objective, s.Window, s.Tiers(), s.Alerting.PageAlert.Disable, s.Alerting.TicketAlert.Disable)
	if seen[key] || s.Alerting.Name == "" {
		return nil
	}
	seen[key] = true
	twin := TestTwin(s)
	writeRules(t, filepath.Join(dir, "tests", base+".rules.yaml"), []*SLO{twin}, GenerateOptions{PlainAnnotations: true})
	suites, _ := TierTests(twin, base+".rules.yaml")
	var names []string
	for j, pt := range suites {
		if len(pt.Tests) == 0 || pageOnly && pt.EvaluationInterval != "1m" {
			continue
		}
		name := fmt.Sprintf("%s.tiers%d.test.yaml", base, j)
		writeTests(t, filepath.Join(dir, "tests", name), pt)
		names = append(names, name)
	}
	return names
}

// slothSLIs maps "service/slo" to the series Sloth's 1h SLI rule reads.
func slothSLIs(t *testing.T, out []byte) map[string][]string {
	t.Helper()
	type rule struct {
		Record string            `yaml:"record"`
		Expr   string            `yaml:"expr"`
		Labels map[string]string `yaml:"labels"`
	}
	type group struct {
		Rules []rule `yaml:"rules"`
	}
	m := map[string][]string{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var doc struct {
			Groups []group `yaml:"groups"`
			Spec   struct {
				Groups []group `yaml:"groups"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			break // io.EOF, or not YAML rules: nothing to compare
		}
		for _, g := range append(doc.Groups, doc.Spec.Groups...) {
			for _, r := range g.Rules {
				if r.Record == "slo:sli_error:ratio_rate1h" {
					m[r.Labels["sloth_service"]+"/"+r.Labels["sloth_slo"]] = selectorsOf(t, r.Expr)
				}
			}
		}
	}
	return m
}

// selectorsOf lists the series selectors of PromQL expressions with their
// ranges, matchers sorted, without duplicates.
func selectorsOf(t *testing.T, queries ...string) []string {
	t.Helper()
	set := map[string]bool{}
	for _, q := range queries {
		if strings.TrimSpace(q) == "" {
			continue
		}
		expr, err := promqlParser.ParseExpr(q)
		if err != nil {
			t.Fatalf("parsing %q: %v", q, err)
		}
		parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
			rng := ""
			var vs *parser.VectorSelector
			switch x := n.(type) {
			case *parser.MatrixSelector:
				vs, _ = x.VectorSelector.(*parser.VectorSelector)
				rng = "[" + FormatDuration(x.Range) + "]"
			case *parser.VectorSelector:
				if len(path) > 0 {
					if _, inMatrix := path[len(path)-1].(*parser.MatrixSelector); inMatrix {
						return nil
					}
				}
				vs = x
			}
			if vs == nil {
				return nil
			}
			var ms []string
			for _, m := range vs.LabelMatchers {
				ms = append(ms, m.String())
			}
			sort.Strings(ms)
			set["{"+strings.Join(ms, ",")+"}"+rng] = true
			return nil
		})
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.SplitN(err.Error(), "\n", 2)[0]
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
