package promtest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vaneproj/vane/analysis"
)

// WriteOpenMetrics writes series (each with a __name__ label and points in
// time order) as OpenMetrics text with timestamps, the input of
// `promtool tsdb create-blocks-from openmetrics`.
func WriteOpenMetrics(w io.Writer, series []analysis.Series) error {
	sorted := append([]analysis.Series(nil), series...)
	// A metric family's lines must be contiguous.
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Labels["__name__"] < sorted[j].Labels["__name__"] })
	bw := bufio.NewWriter(w)
	for _, s := range sorted {
		name := s.Labels["__name__"]
		if name == "" {
			return fmt.Errorf("promtest: series %v has no __name__", s.Labels)
		}
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			if k != "__name__" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var ls strings.Builder
		for i, k := range keys {
			if i > 0 {
				ls.WriteByte(',')
			}
			ls.WriteString(k + "=" + strconv.Quote(s.Labels[k]))
		}
		for _, p := range s.Points {
			val := strconv.FormatFloat(p.V, 'g', -1, 64)
			switch {
			case math.IsInf(p.V, 1):
				val = "+Inf"
			case math.IsInf(p.V, -1):
				val = "-Inf"
			}
			ts := strconv.FormatFloat(float64(p.T.UnixMilli())/1000, 'f', 3, 64)
			if _, err := fmt.Fprintf(bw, "%s{%s} %s %s\n", name, ls.String(), val, ts); err != nil {
				return err
			}
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// Backfill writes series into TSDB blocks in dataDir with promtool, as
// `promtool tsdb create-blocks-from openmetrics` does for users importing
// history. Start a Server on dataDir afterwards to query them.
func Backfill(t testing.TB, dataDir string, series []analysis.Series) {
	t.Helper()
	promtool := Tool(t, "promtool")
	in := filepath.Join(t.TempDir(), "backfill.om")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteOpenMetrics(f, series); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", in, dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("promtest: promtool backfill: %v\n%s", err, out)
	}
}
