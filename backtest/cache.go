package backtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/vaneproj/vane/slo"
)

// Cache keeps fetched series on disk, one JSON file per SLO, URL, query,
// range and step, so that a second backtest of the same range does not
// query again.
type Cache struct {
	Dir string
}

// Key names the cached series of s fetched from url with o.
func (c Cache) Key(url string, s *slo.SLO, o FetchOptions) string {
	o, _ = o.withDefaults()
	e, t := s.SLI.Queries(o.RateWindow)
	h := sha256.Sum256([]byte(fmt.Sprintf("v1\x00%s\x00%s\x00%s\x00%d\x00%d\x00%d\x00%d", url, e, t,
		o.From.UnixMilli(), o.To.UnixMilli(), o.Step, o.RateWindow)))
	return s.ID() + "-" + hex.EncodeToString(h[:8]) + ".json"
}

// cached is the file format: NaN does not survive JSON, so gaps are null.
type cached struct {
	Start   time.Time  `json:"start"`
	Step    string     `json:"step"`
	Errors  []*float64 `json:"errors"`
	Totals  []*float64 `json:"totals,omitempty"`
	Partial bool       `json:"partial,omitempty"`
	Notes   []string   `json:"notes,omitempty"`
}

// Load reads a cached series; ok=false when there is none.
func (c Cache) Load(key string) (*Series, bool, error) {
	b, err := os.ReadFile(filepath.Join(c.Dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("backtest: reading cache: %w", err)
	}
	var f cached
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, false, fmt.Errorf("backtest: cache file %s: %w (delete it or use --no-cache)", filepath.Join(c.Dir, key), err)
	}
	step, err := time.ParseDuration(f.Step)
	if err != nil {
		return nil, false, fmt.Errorf("backtest: cache file %s: step: %w", filepath.Join(c.Dir, key), err)
	}
	s := &Series{Start: f.Start, Step: step, Errors: fromPtrs(f.Errors), Partial: f.Partial, Notes: f.Notes}
	if f.Totals != nil {
		s.Totals = fromPtrs(f.Totals)
	}
	return s, true, nil
}

// Store writes a series atomically.
func (c Cache) Store(key string, s *Series) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("backtest: cache: %w", err)
	}
	f := cached{Start: s.Start, Step: s.Step.String(), Errors: toPtrs(s.Errors), Partial: s.Partial, Notes: s.Notes}
	if s.Totals != nil {
		f.Totals = toPtrs(s.Totals)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("backtest: cache: %w", err)
	}
	tmp, err := os.CreateTemp(c.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("backtest: cache: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("backtest: cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("backtest: cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(c.Dir, key)); err != nil {
		return fmt.Errorf("backtest: cache: %w", err)
	}
	return nil
}

func toPtrs(v []float64) []*float64 {
	out := make([]*float64, len(v))
	for i := range v {
		if !math.IsNaN(v[i]) {
			out[i] = &v[i]
		}
	}
	return out
}

func fromPtrs(v []*float64) []float64 {
	out := make([]float64, len(v))
	for i, p := range v {
		if p == nil {
			out[i] = math.NaN()
		} else {
			out[i] = *p
		}
	}
	return out
}
