// Command synthgen writes the seeded synthetic SLI history that backtest's
// examples and README use: the request and error counters of one service
// as OpenMetrics (for `promtool tsdb create-blocks-from openmetrics`) and
// its injected incidents as the CSV `vane backtest --incidents` reads.
//
//	go run ./backtest/synthgen -seed 7 -days 30 -end 2026-11-30T00:00:00Z \
//	    -om history.om -incidents incidents.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/vaneproj/vane/backtest"
	"github.com/vaneproj/vane/slo"
)

func main() {
	seed := flag.Uint64("seed", 7, "random seed")
	days := flag.Int("days", 30, "days of history")
	endS := flag.String("end", "", "end of the history (RFC 3339; default this hour)")
	om := flag.String("om", "history.om", "OpenMetrics output")
	inc := flag.String("incidents", "incidents.csv", "incidents CSV output")
	flag.Parse()
	end := time.Now().UTC().Truncate(time.Hour)
	if *endS != "" {
		t, err := time.Parse(time.RFC3339, *endS)
		if err != nil {
			fmt.Fprintf(os.Stderr, "synthgen: -end %q: %v\n", *endS, err)
			os.Exit(2)
		}
		end = t
	}
	if err := run(*seed, *days, end, *om, *inc); err != nil {
		fmt.Fprintln(os.Stderr, "synthgen:", err)
		os.Exit(1)
	}
}

func run(seed uint64, days int, end time.Time, omPath, incPath string) error {
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	c, incs := backtest.Synth(backtest.SynthOptions{Start: start, Days: days, Seed: seed})
	f, err := os.Create(omPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, m := range []struct {
		name string
		v    []float64
	}{{slo.TestErrorsMetric, c.Errors}, {slo.TestRequestsMetric, c.Requests}} {
		fmt.Fprintf(w, "# TYPE %s counter\n", m.name[:len(m.name)-len("_total")])
		for i, v := range m.v {
			ts := c.Start.Add(time.Duration(i) * c.Interval).Unix()
			fmt.Fprintf(w, "%s{service=\"checkout\"} %s %d\n", m.name, strconv.FormatFloat(v, 'f', -1, 64), ts)
		}
	}
	w.WriteString("# EOF\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	g, err := os.Create(incPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(g, "start,end,name")
	for i, in := range incs {
		fmt.Fprintf(g, "%s,%s,incident %d (%g%% errors)\n", in.Start.UTC().Format(time.RFC3339), in.End.UTC().Format(time.RFC3339), i+1, in.Ratio*100)
	}
	return g.Close()
}
