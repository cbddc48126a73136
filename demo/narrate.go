package demo

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/autoscale"
	"github.com/vaneproj/vane/demo/loadgen"
	"github.com/vaneproj/vane/prom"
	"github.com/vaneproj/vane/rollout"
	"github.com/vaneproj/vane/slo"
)

// narrator writes the demo's story: event lines as they happen and the
// progress of the rollout under way, either as plain lines every few
// seconds or, on a terminal (live), as a status line redrawn in place.
// Its methods are safe for concurrent use: events arrive on the rollout
// controller's goroutine.
type narrator struct {
	out   io.Writer
	live  bool
	width int // terminal columns, for the live status line
	start time.Time

	mu        sync.Mutex
	status    string // the live status line currently shown
	firing    map[string]bool
	rollbacks []time.Time
	// promotingShown is set once a promotion's first routing change was
	// told, so that its internal follow-ups are not.
	promotingShown bool

	watchCancel context.CancelFunc
	watchDone   chan struct{}
}

func newNarrator(out io.Writer, live bool, width int, start time.Time) *narrator {
	if width <= 0 {
		width = 120
	}
	return &narrator{out: out, live: live, width: width, start: start}
}

// stamp is the time since the demo started, as a line prefix.
func (n *narrator) stamp(t time.Time) string {
	return fmt.Sprintf("[%6.1fs]", t.Sub(n.start).Seconds())
}

// writeLocked writes lines above the live status line; n.mu is held.
func (n *narrator) writeLocked(s string) {
	if n.live && n.status != "" {
		fmt.Fprint(n.out, "\r\033[K")
	}
	fmt.Fprintln(n.out, s)
	if n.live && n.status != "" {
		fmt.Fprint(n.out, n.status)
	}
}

// line writes one line of narration.
func (n *narrator) line(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.writeLocked(s)
}

// setStatus replaces the live status line.
func (n *narrator) setStatus(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	// A status wider than the terminal would wrap, and the next redraw
	// would clear only its last row.
	if r := []rune(s); n.width > 1 && len(r) >= n.width {
		s = string(r[:n.width-2]) + "…"
	}
	n.status = s
	fmt.Fprint(n.out, "\r\033[K"+s)
}

func (n *narrator) clearStatus() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.live && n.status != "" {
		fmt.Fprint(n.out, "\r\033[K")
	}
	n.status = ""
}

func (n *narrator) world(w *World, o Options, tm timings, httpURL string) {
	n.line(fmt.Sprintf("%s Demo world up, everything in this process on loopback:", n.stamp(time.Now())))
	for _, v := range w.Versions() {
		app := w.Apps[v]
		what := "healthy"
		if app.ErrorRatio() > 0 || app.Latency() > 0 {
			what = fmt.Sprintf("bad: %.0f%% of calls fail (Unavailable), +%v latency", 100*app.ErrorRatio(), app.Latency())
		}
		n.line(fmt.Sprintf("    %-3s gRPC %-21s metrics %-21s %s", v, app.Addr(), app.MetricsAddr(), what))
	}
	n.line(fmt.Sprintf("    xDS server %s; users: %.0f calls/s through gRPC's xDS client to xds:///%s", w.XDS.Addr(), o.Rate, Service))
	n.line(fmt.Sprintf("    embedded Prometheus scraping every %v; Vane's web UI and API at %s/ (Prometheus API under /prometheus/)", tm.scrape, httpURL))
	n.line(fmt.Sprintf("    SLO: %.0f%% of calls succeed, calls slower than %v count as bad; plan 10%% → 30%% → 60%% → promote,", 100*Objective, LatencyThreshold))
	n.line(fmt.Sprintf("    %v of analysis after each weight, a look every %v by two sequential judges (errors, latency).", tm.analysis, tm.interval))
}

func (n *narrator) part(i int, title string) {
	n.line("")
	n.line(fmt.Sprintf("Part %d: %s", i, title))
}

// event narrates one rollout event (called by the rollout controller).
func (n *narrator) event(e rollout.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e.Type == rollout.EvRollback {
		n.rollbacks = append(n.rollbacks, e.At)
	}
	kind := strings.ToUpper(string(e.Type))
	switch e.Type {
	case rollout.EvAnalysis, rollout.EvInconclusive:
		head := fmt.Sprintf("%s %s at canary %d%% (step %d)", n.stamp(e.At), kind, e.Weight, e.Step+1)
		if e.Type != rollout.EvAnalysis {
			head += ": " + e.Reason
		}
		n.writeLocked(head)
	case rollout.EvRollback:
		n.writeLocked(fmt.Sprintf("%s %s at step %d: weight 0 first; the judges' evidence:", n.stamp(e.At), kind, e.Step+1))
	case rollout.EvApplied:
		if e.Phase == rollout.Promoting {
			// A promotion is four routing changes (move all calls to the
			// canary's cluster, relabel it stable, drop the canary); users see
			// only the first. The later ones are internal.
			if e.Weight == 100 && !n.promotingShown {
				n.promotingShown = true
				n.writeLocked(fmt.Sprintf("%s %s all calls go to the new version; every proxy ACKed", n.stamp(e.At), kind))
			}
			return
		}
		n.promotingShown = false
		n.writeLocked(fmt.Sprintf("%s %s %s", n.stamp(e.At), kind, e.Reason))
		return
	default:
		reason := e.Reason
		if e.Type == rollout.EvStep {
			reason = strings.TrimPrefix(reason, "step ")
		}
		n.writeLocked(fmt.Sprintf("%s %s %s", n.stamp(e.At), kind, reason))
		return
	}
	for _, r := range e.Evidence {
		n.writeLocked("           " + describeResult(r))
	}
}

// autoscaleEvent narrates one autoscaler event with the users' rate at
// that moment.
func (n *narrator) autoscaleEvent(e autoscale.Event, rate float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e.Type {
	case "scaled":
		dir := "UP"
		if e.To < e.From {
			dir = "DOWN"
		}
		n.writeLocked(fmt.Sprintf("%s SCALE %s %d → %d (users at %.0f calls/s): %s", n.stamp(e.At), dir, e.From, e.To, rate, e.Reason))
	case "hold":
		n.writeLocked(fmt.Sprintf("%s HOLD at %d (users at %.0f calls/s): %s", n.stamp(e.At), e.From, rate, e.Reason))
	case "started":
		return
	default:
		n.writeLocked(fmt.Sprintf("%s %s %d → %d: %s", n.stamp(e.At), strings.ToUpper(e.Type), e.From, e.To, e.Reason))
	}
}

// autoscaleResult narrates the third part's outcome.
func (n *narrator) autoscaleResult(p Part) {
	a := p.Autoscale
	if a == nil {
		return
	}
	verdict := "SCALED UP AND BACK DOWN"
	if p.Outcome != ScaledUpAndDown {
		verdict = "DID NOT SCALE UP AND BACK DOWN"
	}
	n.line(fmt.Sprintf("  → %s in %v: %d → %d → %d replicas (%d scale-ups, %d scale-downs) for a peak of %.0f calls/s",
		verdict, p.Duration.Round(10*time.Millisecond), a.Initial, a.Peak, a.Final, a.ScaleUps, a.ScaleDowns, a.PeakRate))
	n.line(fmt.Sprintf("    SLO violation minutes: %.2f (one-second windows with more than %.0f%% bad calls); bad calls users got: %d of %d (%d failed, %d slower than %v)",
		a.ViolationMinutes, 100*(1-Objective), p.Bad, p.Calls, a.Failed, a.Slow, LatencyThreshold))
	n.line(fmt.Sprintf("    replica-minutes: %.2f (static provisioning for the peak, %d replicas throughout: %.2f)",
		a.ReplicaMinutes, a.Peak, a.StaticReplicaMinutes))
}

// rollbackAt returns the first rollback decision at or after t.
func (n *narrator) rollbackAt(t time.Time) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.rollbacks {
		if !r.Before(t) {
			return r
		}
	}
	return time.Time{}
}

// describeResult is one judge's verdict with its key evidence.
func describeResult(r analysis.Result) string {
	s := fmt.Sprintf("%s: %s — %s", r.Judge, r.Verdict, r.Reason)
	if strings.HasPrefix(r.Reason, "too few canary requests") {
		// The test does not act before then, whatever the evidence says.
		return s + "; the judge decides nothing before that"
	}
	var ev []string
	if p, ok := r.Evidence["p_value"]; ok && !math.IsNaN(p) {
		ev = append(ev, fmt.Sprintf("p=%.3g", p))
	}
	if f, ok := r.Evidence["fail_progress"]; ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
		ev = append(ev, fmt.Sprintf("evidence against the canary at %.0f%% of the rollback threshold", 100*math.Max(0, math.Min(1, f))))
	}
	if len(ev) > 0 {
		s += " (" + strings.Join(ev, ", ") + ")"
	}
	return s
}

// watch shows the progress of the rollout of canary until unwatch.
func (n *narrator) watch(w *World, mgr *rollout.Manager, slos *slo.Evaluator, tm timings) {
	ctx, cancel := context.WithCancel(context.Background())
	n.watchCancel, n.watchDone = cancel, make(chan struct{})
	every := tm.progress
	if n.live {
		every = 250 * time.Millisecond
	}
	go func() {
		defer close(n.watchDone)
		t := time.NewTicker(every)
		defer t.Stop()
		prev := w.Load.Stats()
		// Rates on the live line are over the last second or so; the SLO
		// burn rates are read at most once a second.
		var burn string
		var burnAt time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cur := w.Load.Stats()
			d := cur.Sub(prev)
			over := cur.At.Sub(prev.At)
			if !n.live || over >= time.Second {
				prev = cur
			}
			now := time.Now()
			if now.Sub(burnAt) >= time.Second {
				burn, burnAt = sloBurnRates(ctx, slos, now), now
			}
			n.alerts(w.Prom.Alerts())
			st, err := mgr.Get(Service)
			if err != nil {
				continue
			}
			line := n.progressLine(st, d.ByVersion, over, burn)
			if n.live {
				n.setStatus(line)
			} else {
				n.line(line)
			}
		}
	}()
}

// alerts narrates alerts of the embedded Prometheus that started firing.
func (n *narrator) alerts(as []prom.Alert) {
	for _, a := range as {
		if a.State != "firing" {
			continue
		}
		key := a.Name + "/" + a.Labels["severity"] + "/" + a.FiredAt.String()
		n.mu.Lock()
		seen := n.firing[key]
		if n.firing == nil {
			n.firing = map[string]bool{}
		}
		n.firing[key] = true
		if !seen {
			// Stamped when shown, so that the lines' times never go back;
			// the alert's own start is in the text.
			n.writeLocked(fmt.Sprintf("%s ALERT %s firing since %.1fs (severity %s, value %.3g): %s", n.stamp(time.Now()), a.Name,
				a.FiredAt.Sub(n.start).Seconds(), a.Labels["severity"], a.Value, a.Annotations["summary"]))
			if a.GeneratorURL != "" {
				n.writeLocked("    graph " + a.GeneratorURL)
			}
		}
		n.mu.Unlock()
	}
}

func (n *narrator) unwatch() {
	if n.watchCancel != nil {
		n.watchCancel()
		<-n.watchDone
		n.watchCancel = nil
	}
	n.clearStatus()
}

// progressLine is one look at the rollout: step, weight, what users got
// from each version since the last line, the judges' verdicts and the
// canary's burn rate.
func (n *narrator) progressLine(st rollout.State, byVersion map[string]loadgen.VersionStats, over time.Duration, burn string) string {
	now := time.Now()
	var b strings.Builder
	if st.Phase == rollout.Promoting || st.Phase == rollout.Succeeded {
		fmt.Fprintf(&b, "%s   %s %d/%d (%s), all calls to %s |", n.stamp(now), st.Phase, st.Step+1, len(st.Plan.Steps), st.CurrentStep(), st.Original.Canary.Version)
	} else {
		fmt.Fprintf(&b, "%s   %s %d/%d (%s), canary %d%% |", n.stamp(now), st.Phase, st.Step+1, len(st.Plan.Steps), st.CurrentStep(), st.Routing.Weights.Canary)
	}
	vs := make([]string, 0, len(byVersion))
	for v := range byVersion {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	for _, v := range vs {
		s := byVersion[v]
		fmt.Fprintf(&b, " %s %.0f/s", v, float64(s.Total())/over.Seconds())
		if s.Bad() > 0 {
			fmt.Fprintf(&b, " (%d bad)", s.Bad())
		}
	}
	// Verdicts before burn rates: a narrow terminal cuts the line's end.
	if len(st.Results) > 0 {
		b.WriteString(" | ")
		for i, r := range st.Results {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s=%s", r.Judge, r.Verdict)
		}
	}
	if burn != "" {
		b.WriteString(" | " + burn)
	}
	return b.String()
}

func (n *narrator) partResult(p Part) {
	switch p.Outcome {
	case RolledBack:
		n.line(fmt.Sprintf("  → %s ROLLED BACK after %v: %s", p.Canary, p.Duration.Round(10*time.Millisecond), p.Reason))
		if p.TimeToRollback > 0 {
			n.line(fmt.Sprintf("    time from the first bad call users got from %s to weight 0 ACKed by every xDS client: %v",
				p.Canary, p.TimeToRollback.Round(time.Millisecond)))
		}
		n.line(fmt.Sprintf("    bad calls users got: %d of %d (%d of the %d calls %s answered)", p.Bad, p.Calls, p.CanaryBad, p.CanaryCalls, p.Canary))
		if p.CanaryServedAfterZero > 0 {
			n.line(fmt.Sprintf("    %s still answered a call sent %v after weight 0 was ACKed", p.Canary, p.CanaryServedAfterZero.Round(time.Millisecond)))
		} else {
			n.line(fmt.Sprintf("    %s answered no call sent after weight 0 was ACKed", p.Canary))
		}
	case Promoted:
		n.line(fmt.Sprintf("  → %s PROMOTED after %v (%d steps, up to %d%% before promotion): %s", p.Canary, p.Duration.Round(10*time.Millisecond), p.Steps, p.MaxWeight, p.Reason))
		n.line(fmt.Sprintf("    bad calls users got: %d of %d (%d of the %d calls %s answered)", p.Bad, p.Calls, p.CanaryBad, p.CanaryCalls, p.Canary))
	default:
		n.line(fmt.Sprintf("  → %s ended %s (%s): %s", p.Canary, p.Outcome, p.Phase, p.Reason))
	}
}

func (n *narrator) summary(s Summary) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.writeLocked("")
	n.writeLocked("Summary")
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  part\tcanary\texpected\toutcome\ttook\tmax step weight\ttime to rollback\tcalls\tbad calls\tcanary bad")
	for i, p := range s.Parts {
		canary, took, maxW, ttr, calls, bad, cbad := "-", "-", "-", "-", "-", "-", "-"
		if p.Canary != "" {
			canary = p.Stable + " → " + p.Canary
			took = p.Duration.Round(10 * time.Millisecond).String()
			maxW = fmt.Sprintf("%d%%", p.MaxWeight)
			calls, bad, cbad = fmt.Sprint(p.Calls), fmt.Sprint(p.Bad), fmt.Sprintf("%d/%d", p.CanaryBad, p.CanaryCalls)
		}
		if p.TimeToRollback > 0 {
			ttr = p.TimeToRollback.Round(time.Millisecond).String()
		}
		if p.Autoscale != nil {
			took = p.Duration.Round(10 * time.Millisecond).String()
			calls, bad = fmt.Sprint(p.Calls), fmt.Sprint(p.Bad)
		}
		fmt.Fprintf(tw, "  %d %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, p.Title, canary, p.Expected, p.Outcome, took, maxW, ttr, calls, bad, cbad)
	}
	tw.Flush()
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		n.writeLocked(l)
	}
	for i, p := range s.Parts {
		if a := p.Autoscale; a != nil {
			n.writeLocked(fmt.Sprintf("  part %d: replicas %d → %d → %d, SLO violation minutes %.2f, replica-minutes %.2f (static for the peak: %.2f)",
				i+1, a.Initial, a.Peak, a.Final, a.ViolationMinutes, a.ReplicaMinutes, a.StaticReplicaMinutes))
		}
	}
	n.writeLocked(fmt.Sprintf("Wall time %v.", s.Wall.Round(10*time.Millisecond)))
}

// stop ends any live display.
func (n *narrator) stop() { n.unwatch() }
