package canary

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// column is one judge (at one cadence) of the tables.
type column struct {
	judge   string
	cadence float64 // 0 = any
	label   string
}

var columns = []column{
	{"vane", 15, "vane"}, {"vane", 60, "vane@60s"}, {"vane", 300, "vane@300s"}, {"vane-anytime", 15, "vane-anytime"},
	{"oracle-fixed", 0, "oracle-fixed"}, {"oracle-sprt", 0, "oracle-sprt"},
	{"flagger-docs", 0, "flagger-docs"}, {"flagger-matched", 0, "flagger-matched"},
	{"argo-docs", 0, "argo-docs"}, {"argo-matched", 0, "argo-matched"},
	{"kayenta-docs", 0, "kayenta-docs"}, {"kayenta-matched", 0, "kayenta-matched"},
}

func (c column) match(r Row) bool {
	return r.Judge == c.judge && (c.cadence == 0 || r.CadenceS == c.cadence)
}

type cellKey struct {
	metric, noise        string
	rps, w, base, factor float64
}

// keyOf is r's cell; rows without a metric (from runs before latency
// cells) are error cells.
func keyOf(r Row) cellKey {
	return cellKey{metricOf(r), r.Noise, r.RPS, r.Weight, r.BaseError, r.Factor}
}

func metricOf(r Row) string {
	if r.Metric == "" {
		return MetricErrors
	}
	return r.Metric
}

// group is one metric under one noise model: the summary's and the
// targets' unit.
type group struct{ metric, noise string }

func (g group) String() string { return g.metric + " " + g.noise }

func groups() []group {
	var out []group
	for _, m := range []string{MetricErrors, MetricLatency} {
		for _, nz := range gridNoise {
			out = append(out, group{m, nz})
		}
	}
	return out
}

func (g group) has(k cellKey) bool { return k.metric == g.metric && k.noise == g.noise }

// byCell indexes rows by cell and column label.
func byCell(rows []Row) (map[cellKey]map[string]Row, []cellKey) {
	m := map[cellKey]map[string]Row{}
	var order []cellKey
	for _, r := range rows {
		for _, c := range columns {
			if !c.match(r) {
				continue
			}
			k := keyOf(r)
			if m[k] == nil {
				m[k] = map[string]Row{}
				order = append(order, k)
			}
			m[k][c.label] = r
		}
	}
	return m, order
}

func fmtRate(p float64) string { return strconv.FormatFloat(100*p, 'f', 1, 64) + "%" }

func fmtSecs(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 0, 64) + "s"
}

// WriteTable prints one line per cell with, for the headline judges, the
// rate (false rollbacks in healthy cells, detections otherwise) and the
// median time to rollback; matched peers also show their threshold.
func WriteTable(out io.Writer, rows []Row) error {
	m, order := byCell(rows)
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight)
	hdr := []string{"metric", "noise", "rps", "weight", "base", "factor"}
	for _, c := range columns {
		hdr = append(hdr, c.label)
	}
	fmt.Fprintln(tw, strings.Join(hdr, "\t")+"\t")
	for _, k := range order {
		line := []string{k.metric, k.noise, strconv.FormatFloat(k.rps, 'g', -1, 64), strconv.FormatFloat(100*k.w, 'g', -1, 64) + "%",
			strconv.FormatFloat(100*k.base, 'g', 3, 64) + "%", strconv.FormatFloat(k.factor, 'g', 3, 64)}
		for _, c := range columns {
			r, ok := m[k][c.label]
			if !ok {
				line = append(line, "")
				continue
			}
			cell := fmtRate(r.rate()) + " " + fmtSecs(r.MedianDetectS)
			if strings.HasSuffix(c.label, "-matched") && r.Threshold != nil {
				cell += " @" + strconv.FormatFloat(*r.Threshold, 'g', -1, 64)
			}
			line = append(line, cell)
		}
		fmt.Fprintln(tw, strings.Join(line, "\t")+"\t")
	}
	return tw.Flush()
}

// WriteSummary prints per noise model and headline judge the worst and
// mean false-rollback rate over healthy cells, the mean detection rate,
// the worst detection ratio to oracle-fixed, and the median and worst
// ratio of median times to oracle-fixed's where both roll back in most
// runs; then the targets, met or not, with the numbers.
func WriteSummary(out io.Writer, rows []Row) error {
	m, order := byCell(rows)
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tnoise\tjudge\tmax FRR\tmean FRR\tdetect\tworst detect/oracle\tmedian time/oracle\tworst time/oracle\tscenarios\t")
	for _, g := range groups() {
		for _, c := range columns {
			var maxFRR, sumFRR, nFRR, sumDet, nDet float64
			worstDet := math.Inf(1)
			var ratios []float64
			scen := 0
			for _, k := range order {
				if !g.has(k) {
					continue
				}
				r, ok := m[k][c.label]
				if !ok {
					continue
				}
				if r.FalseRollbackRate != nil {
					maxFRR = math.Max(maxFRR, *r.FalseRollbackRate)
					sumFRR += *r.FalseRollbackRate
					nFRR++
					scen++
					continue
				}
				sumDet += *r.DetectionRate
				nDet++
				o := m[k]["oracle-fixed"]
				if od := *o.DetectionRate; od >= 0.1 {
					worstDet = math.Min(worstDet, *r.DetectionRate/od)
				}
				if o.MedianDetectS != nil {
					if r.MedianDetectS != nil {
						ratios = append(ratios, *r.MedianDetectS / *o.MedianDetectS)
					} else {
						ratios = append(ratios, math.Inf(1))
					}
				}
			}
			if nFRR+nDet == 0 {
				continue
			}
			slices.Sort(ratios)
			med, worst := "-", "-"
			if len(ratios) > 0 {
				med, worst = fmtRatio(ratios[len(ratios)/2]), fmtRatio(ratios[len(ratios)-1])
			}
			wd := "-"
			if !math.IsInf(worstDet, 1) {
				wd = fmtRatio(worstDet)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", g.metric, g.noise, c.label, fmtRate(maxFRR), fmtRate(sumFRR/math.Max(1, nFRR)),
				fmtRate(sumDet/math.Max(1, nDet)), wd, med, worst, scen)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	for _, t := range Targets(rows) {
		status := "met"
		if !t.Met {
			status = "MISSED"
		}
		fmt.Fprintf(out, "%s [%s]: %s\n", t.Name, status, t.Detail)
	}
	return nil
}

func fmtRatio(x float64) string {
	if math.IsInf(x, 1) {
		return "never"
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + "x"
}

// Target is one of the targets checked on a run's rows.
type Target struct {
	Name   string
	Met    bool
	Detail string
}

// samplingSlack is the allowance, in detection rate, for the sampling error
// of a cell's runs (two standard errors of a rate near 50% over 200 runs
// is 7 points; 2 points keeps the check strict where rates are small).
const samplingSlack = 0.02

// Targets checks, per noise model, Vane (15 s looks) against the targets:
// false rollbacks ≤ 1% in every healthy cell; detection ≥ 0.9 × oracle-fixed's
// − 2 points (samplingSlack) in every regression cell; median time ≤ 1.25 × oracle-fixed's, rounded
// up to the scrape interval, wherever both roll back in most runs; and no
// peer at its matched threshold detecting more (by over 2 points) or
// sooner in any cell.
func Targets(rows []Row) []Target {
	m, order := byCell(rows)
	var out []Target
	for _, judge := range []string{"vane", "vane-anytime"} {
		for _, g := range groups() {
			var worstFRR float64
			var worstFRRCell, detMiss, timeMiss []string
			var nDet, nTime int
			peerBetter := map[string][]string{}
			for _, k := range order {
				if !g.has(k) {
					continue
				}
				v, ok := m[k][judge]
				if !ok {
					continue
				}
				name := fmt.Sprintf("%grps/%g%%/%g%%/%gx", k.rps, 100*k.w, 100*k.base, k.factor)
				if k.metric == MetricLatency {
					name = fmt.Sprintf("%grps/%g%%/p99 %gx", k.rps, 100*k.w, k.factor)
				}
				if v.FalseRollbackRate != nil {
					if *v.FalseRollbackRate > worstFRR {
						worstFRR = *v.FalseRollbackRate
					}
					if *v.FalseRollbackRate > 0.01 {
						worstFRRCell = append(worstFRRCell, fmt.Sprintf("%s %s", name, fmtRate(*v.FalseRollbackRate)))
					}
					continue
				}
				o := m[k]["oracle-fixed"]
				nDet++
				if *v.DetectionRate < 0.9**o.DetectionRate-samplingSlack {
					detMiss = append(detMiss, fmt.Sprintf("%s %s vs %s", name, fmtRate(*v.DetectionRate), fmtRate(*o.DetectionRate)))
				}
				if o.MedianDetectS != nil && v.MedianDetectS != nil {
					nTime++
					limit := math.Ceil(1.25**o.MedianDetectS/scrape.Seconds()) * scrape.Seconds()
					if *v.MedianDetectS > limit {
						timeMiss = append(timeMiss, fmt.Sprintf("%s %.0fs vs %.0fs", name, *v.MedianDetectS, *o.MedianDetectS))
					}
				}
				for _, p := range []string{"flagger-matched", "argo-matched", "kayenta-matched"} {
					r, ok := m[k][p]
					if !ok {
						continue
					}
					more := *r.DetectionRate > *v.DetectionRate+samplingSlack
					sooner := r.MedianDetectS != nil && (v.MedianDetectS == nil || *r.MedianDetectS < *v.MedianDetectS)
					if more || sooner {
						peerBetter[p] = append(peerBetter[p], fmt.Sprintf("%s %s %s vs %s %s", name, fmtRate(*r.DetectionRate), fmtSecs(r.MedianDetectS),
							fmtRate(*v.DetectionRate), fmtSecs(v.MedianDetectS)))
					}
				}
			}
			out = append(out,
				Target{fmt.Sprintf("%s %s: false rollbacks <= 1%% in every healthy cell", judge, g), len(worstFRRCell) == 0,
					fmt.Sprintf("worst %s; over 1%%: %s", fmtRate(worstFRR), list(worstFRRCell))},
				Target{fmt.Sprintf("%s %s: detection >= 0.9x oracle-fixed's (-2 points) in every cell", judge, g), len(detMiss) == 0,
					fmt.Sprintf("%d of %d cells below: %s", len(detMiss), nDet, list(detMiss))},
				Target{fmt.Sprintf("%s %s: median time <= 1.25x oracle-fixed's (rounded up to 15s) where both detect", judge, g), len(timeMiss) == 0,
					fmt.Sprintf("%d of %d cells above: %s", len(timeMiss), nTime, list(timeMiss))})
			for _, p := range []string{"flagger-matched", "argo-matched", "kayenta-matched"} {
				out = append(out, Target{fmt.Sprintf("%s %s: %s never detects more or sooner", judge, g, p), len(peerBetter[p]) == 0,
					fmt.Sprintf("%d cells: %s", len(peerBetter[p]), list(peerBetter[p]))})
			}
		}
	}
	return out
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 6 {
		return strings.Join(s[:6], "; ") + fmt.Sprintf("; and %d more", len(s)-6)
	}
	return strings.Join(s, "; ")
}

// WriteCSV writes the rows as CSV with a header line.
func WriteCSV(out io.Writer, rows []Row) error {
	w := csv.NewWriter(out)
	_ = w.Write([]string{"judge", "metric", "threshold", "noise", "cadence_s", "rps", "weight", "base_error", "factor", "false_rollback_rate", "detection_rate",
		"median_detect_s", "p90_detect_s", "excess_bad_requests", "runs"})
	opt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range rows {
		_ = w.Write([]string{r.Judge, r.Metric, opt(r.Threshold), r.Noise, g(r.CadenceS), g(r.RPS), g(r.Weight), g(r.BaseError), g(r.Factor),
			opt(r.FalseRollbackRate), opt(r.DetectionRate), opt(r.MedianDetectS), opt(r.P90DetectS), g(r.ExcessBadRequests), strconv.Itoa(r.Runs)})
	}
	w.Flush()
	return w.Error()
}
