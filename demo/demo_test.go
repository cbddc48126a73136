package demo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vaneproj/vane/rollout"
)

// TestRunRollsBackTheBadCanaryAndPromotesTheGoodOne runs the whole demo
// with --fast timings against the real components and checks what it
// measured.
func TestRunRollsBackTheBadCanaryAndPromotesTheGoodOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	sum, err := Run(ctx, Options{Fast: true, Out: &out,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Parts) != 3 {
		t.Fatalf("%d parts, want 3", len(sum.Parts))
	}
	bad, good, scale := sum.Parts[0], sum.Parts[1], sum.Parts[2]

	if bad.Canary != "v2" || bad.Outcome != RolledBack || bad.Phase != rollout.Aborted {
		t.Errorf("part 1: canary %s ended %s (%s), want v2 rolled back", bad.Canary, bad.Outcome, bad.Phase)
	}
	if bad.CanaryCalls == 0 || bad.CanaryBad == 0 || bad.FirstBad.IsZero() {
		t.Errorf("part 1: users got %d bad calls of %d from v2, first at %v", bad.CanaryBad, bad.CanaryCalls, bad.FirstBad)
	}
	if bad.WeightZero.IsZero() || bad.RollbackDecided.IsZero() || bad.WeightZero.Before(bad.RollbackDecided.Add(-time.Second)) {
		t.Errorf("part 1: rollback decided at %v, weight 0 at %v", bad.RollbackDecided, bad.WeightZero)
	}
	if bad.TimeToRollback <= 0 || bad.TimeToRollback != bad.WeightZero.Sub(bad.FirstBad) {
		t.Errorf("part 1: time to rollback %v, want weight 0 (%v) − first bad call (%v)", bad.TimeToRollback, bad.WeightZero, bad.FirstBad)
	}
	if bad.Bad < bad.CanaryBad || bad.MaxWeight != 10 {
		t.Errorf("part 1: %d bad calls in all, %d from v2; max weight %d%%, want the first step's 10%%", bad.Bad, bad.CanaryBad, bad.MaxWeight)
	}
	for _, j := range bad.Judges {
		if j.Judge == "errors" || j.Judge == "latency" {
			continue
		}
		t.Errorf("part 1: unexpected judge %q", j.Judge)
	}

	if good.Canary != "v3" || good.Stable != "v1" || good.Outcome != Promoted || good.Phase != rollout.Succeeded {
		t.Errorf("part 2: canary %s over %s ended %s (%s), want v3 promoted over v1", good.Canary, good.Stable, good.Outcome, good.Phase)
	}
	if good.MaxWeight != 60 || good.CanaryCalls == 0 || good.TimeToRollback != 0 {
		t.Errorf("part 2: max weight %d%%, v3 answered %d calls, time to rollback %v", good.MaxWeight, good.CanaryCalls, good.TimeToRollback)
	}
	if scale.Outcome != NotAvailable {
		t.Errorf("part 3: %s, want %s", scale.Outcome, NotAvailable)
	}
	if sum.Wall <= 0 || !strings.HasPrefix(sum.HTTP, "http://127.0.0.1:") {
		t.Errorf("wall %v, http %q", sum.Wall, sum.HTTP)
	}
	for _, want := range []string{"ROLLBACK", "ROLLED BACK", "time from the first bad call", "PROMOTED", "autoscaler is not there yet", "Summary", "Wall time"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("narration lacks %q", want)
		}
	}
}
