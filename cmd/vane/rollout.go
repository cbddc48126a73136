package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/analysis"
	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/rollout"
)

func newRolloutCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Start, watch and steer rollouts of a running `vane run`",
		Long:  apiClientHelp("the commands that change something"),
	}
	client := apiClientFlags(cmd, g)

	list := &cobra.Command{
		Use:   "list",
		Short: "List rollouts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var l api.RolloutList
			if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/rollouts", nil, &l); err != nil {
				return err
			}
			if jsonOut(cmd) {
				return writeJSON(g.out, l)
			}
			return printList(g.out, l.Rollouts, time.Now())
		},
	}
	addJSONFlag(list, "the API's answer, GET /api/v1/rollouts")

	var watch bool
	var interval time.Duration
	status := &cobra.Command{
		Use:   "status NAME",
		Short: "Show a rollout: step, weight, each judge's verdict and evidence, recent events",
		Args:  oneName("the rollout's name", "the service's; `vane rollout list` shows them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			if !watch {
				d, err := c.detail(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if jsonOut(cmd) {
					return writeJSON(g.out, d)
				}
				return printStatus(g.out, d, time.Now())
			}
			return watchStatus(cmd.Context(), g.out, c, args[0], interval)
		},
	}
	status.Flags().BoolVarP(&watch, "watch", "w", false, "follow the rollout until it ends (a live view on a terminal, one line per change otherwise)")
	status.Flags().DurationVar(&interval, "interval", time.Second, "refresh interval of --watch")
	addJSONFlag(status, "the API's answer, GET /api/v1/rollouts/NAME (not with --watch)")
	status.ValidArgsFunction = completeServices(client, nil)

	var version, endpoints string
	var force bool
	start := &cobra.Command{
		Use:               "start SERVICE --version V --endpoints HOST:PORT,…",
		Short:             "Start a rollout of a service's new version",
		Args:              oneName("the service to roll out", "one of vane.yaml's services"),
		ValidArgsFunction: completeServices(client, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			req := rollout.StartRequest{Service: args[0], Version: version, Force: force}
			for _, e := range strings.Split(endpoints, ",") {
				if e = strings.TrimSpace(e); e != "" {
					req.Endpoints = append(req.Endpoints, e)
				}
			}
			var st rollout.State
			if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/rollouts", req, &st); err != nil {
				return err
			}
			// The controller takes its first step at once: wait briefly for
			// it, so that a rollout frozen in Pending is not called started.
			for deadline := time.Now().Add(3 * time.Second); st.Phase == rollout.Pending && time.Now().Before(deadline); {
				d, err := c.detail(cmd.Context(), st.Name)
				if err != nil {
					break
				}
				if d.Rollout.Seq > st.Seq {
					st = d.Rollout
					if st.Phase != rollout.Pending || st.Blocked != "" {
						break
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			if st.Phase == rollout.Pending && st.Blocked != "" {
				_, err = fmt.Fprintf(g.out, "rollout %s %s → %s is frozen in Pending: %s\n"+
					"It starts by itself once the cause clears; `vane rollout abort %s` cancels it, `vane rollout start --force` overrides the error-budget gate.\n",
					st.Name, st.Original.Stable.Version, st.Original.Canary.Version, st.Reason, st.Name)
				return err
			}
			_, err = fmt.Fprintf(g.out, "rollout %s started: %s → %s, %d steps (%s); follow it with: vane rollout status %s --watch\n",
				st.Name, st.Original.Stable.Version, st.Original.Canary.Version, len(st.Plan.Steps), stepList(st.Plan), st.Name)
			return err
		},
	}
	start.Flags().StringVar(&version, "version", "", "the canary's version (required)")
	start.Flags().StringVar(&endpoints, "endpoints", "", "the canary's endpoints, comma-separated host:port (required)")
	start.Flags().BoolVar(&force, "force", false, "start even while the error-budget gate freezes deploys")
	_ = start.MarkFlagRequired("version")
	_ = start.MarkFlagRequired("endpoints")

	var full bool
	action := func(name, short string) *cobra.Command {
		c := &cobra.Command{
			Use:               name + " NAME",
			Short:             short,
			Args:              oneName("the rollout's name", "the service's; `vane rollout list` shows them"),
			ValidArgsFunction: completeRollouts(client),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := client()
				if err != nil {
					return err
				}
				path := "/api/v1/rollouts/" + args[0] + "/" + name
				if name == "promote" && full {
					path += "?full=true"
				}
				var st rollout.State
				if err := c.do(cmd.Context(), http.MethodPost, path, nil, &st); err != nil {
					return err
				}
				_, err = fmt.Fprintf(g.out, "rollout %s: %s, step %d/%d, canary %d%%: %s\n", st.Name, st.Phase, st.Step+1,
					len(st.Plan.Steps), st.Routing.Weights.Canary, st.Reason)
				return err
			},
		}
		return c
	}
	promote := action("promote", "Skip the current step (with --full: every remaining step) and move on")
	promote.Flags().BoolVar(&full, "full", false, "promote at once to 100% and make the canary stable")
	cmd.AddCommand(list, status, start, promote,
		action("abort", "Roll back: weight 0 to the canary at once"),
		action("pause", "Hold the rollout at its current step (judges keep watching)"),
		action("resume", "Continue a paused rollout"))
	return cmd
}

func (c *apiClient) do(ctx context.Context, method, path string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is `vane run` up? see --server)", method, c.server+path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e api.Error
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			hint := ""
			switch {
			case resp.StatusCode == http.StatusUnauthorized && c.token == "":
				hint = "; pass the token file with --token-file FILE (env VANE_TOKEN_FILE)"
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
				hint = "; check that --token-file holds the token of vane run's http.token_file"
			}
			return fmt.Errorf("%s (HTTP %d %s)%s", e.Error, resp.StatusCode, e.Code, hint)
		}
		return fmt.Errorf("%s %s: HTTP %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			return fmt.Errorf("%s %s: bad answer: %w", method, path, err)
		}
	}
	return nil
}

func (c *apiClient) detail(ctx context.Context, name string) (api.RolloutDetail, error) {
	var d api.RolloutDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/rollouts/"+name+"?events=8", nil, &d)
	return d, err
}

func stepList(p rollout.Plan) string {
	parts := make([]string, 0, len(p.Steps))
	for _, s := range p.Steps {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " → ")
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func printList(w io.Writer, rs []rollout.State, now time.Time) error {
	if len(rs) == 0 {
		_, err := fmt.Fprintln(w, "no rollouts")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPHASE\tSTEP\tCANARY\tSTABLE\tWEIGHT\tAGE\tREASON")
	for _, s := range rs {
		reason := s.Reason
		if s.ApplyError != "" && !s.Phase.Terminal() {
			reason = s.ApplyError // e.g. "waiting for a proxy": what holds the rollout now
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%d%%\t%s\t%s\n", s.Name, s.Phase, s.Step+1, len(s.Plan.Steps),
			s.Original.Canary.Version, s.Service.Stable.Version, s.Routing.Weights.Canary, age(now.Sub(s.Created)), reason)
	}
	return tw.Flush()
}

func bar(pct, width int) string {
	n := pct * width / 100
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func evidence(r analysis.Result) string {
	keys := make([]string, 0, len(r.Evidence))
	for k := range r.Evidence {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, r.Evidence[k]))
	}
	return strings.Join(parts, " ")
}

func printStatus(w io.Writer, d api.RolloutDetail, now time.Time) error {
	s := d.Rollout
	var b strings.Builder
	fmt.Fprintf(&b, "Rollout %s: %s → %s (%s)\n", s.Name, s.Original.Stable.Version, s.Original.Canary.Version, s.Plan.Strategy)
	fmt.Fprintf(&b, "Phase:    %s\n", s.Phase)
	if s.StepStarted.IsZero() {
		fmt.Fprintf(&b, "Step:     %d/%d %s (not started)\n", s.Step+1, len(s.Plan.Steps), s.CurrentStep())
	} else {
		fmt.Fprintf(&b, "Step:     %d/%d %s (for %s)\n", s.Step+1, len(s.Plan.Steps), s.CurrentStep(), age(now.Sub(s.StepStarted)))
	}
	fmt.Fprintf(&b, "Progress: %s %d/%d steps\n", bar(100*progressSteps(s)/max(1, len(s.Plan.Steps)), 30), progressSteps(s), len(s.Plan.Steps))
	applied := "ACKed by every proxy"
	switch {
	case s.Phase == rollout.Pending:
		applied = "no traffic moved yet"
	case !s.Applied:
		applied = "waiting for ACKs"
	}
	if s.ApplyError != "" {
		applied = s.ApplyError
	}
	if s.Phase == rollout.Succeeded {
		fmt.Fprintf(&b, "Weight:   %s %s is the stable version (%s)\n", bar(100, 30), s.Service.Stable.Version, applied)
	} else {
		fmt.Fprintf(&b, "Weight:   %s canary %d%% (%s)\n", bar(s.Routing.Weights.Canary, 30), s.Routing.Weights.Canary, applied)
	}
	if len(s.Routing.CanaryHeaders) > 0 {
		fmt.Fprintf(&b, "Headers:  %s\n", s.Routing)
	}
	if s.Drift != "" {
		fmt.Fprintf(&b, "Drift:    %s\n", s.Drift)
	}
	if !s.AnalysisStarted.IsZero() {
		fmt.Fprintf(&b, "Analysis: running for %s, %s of it conclusive (the window counts only conclusive looking)\n",
			age(now.Sub(s.AnalysisStarted)), model.Duration(time.Duration(s.Conclusive).Round(time.Second)))
	}
	if looks := lookIntervals(s.Plan.Analysis); looks != "" {
		fmt.Fprintf(&b, "Looks:    %s\n", looks)
	}
	if s.Blocked != "" {
		fmt.Fprintf(&b, "Blocked:  %s\n", s.Blocked)
	}
	if len(s.Results) > 0 {
		fmt.Fprintln(&b, "Judges:")
		for _, r := range s.Results {
			fmt.Fprintf(&b, "  %-14s %-12s %s\n", r.Judge, r.Verdict, r.Reason)
			if ev := evidence(r); ev != "" {
				fmt.Fprintf(&b, "  %-14s %-12s %s\n", "", "", ev)
			}
		}
	}
	fmt.Fprintf(&b, "Reason:   %s\n", s.Reason)
	if len(d.Events) > 0 {
		fmt.Fprintln(&b, "Events:")
		for _, e := range d.Events {
			fmt.Fprintf(&b, "  %s  %-12s %s\n", e.At.Local().Format("15:04:05"), e.Type, e.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// lookIntervals describes when the judges look: the controller's look
// interval and each judge's effective interval (its own, else
// analysis.interval).
func lookIntervals(a rollout.Analysis) string {
	specs := a.Specs()
	if len(specs) == 0 {
		return ""
	}
	parts := make([]string, 0, len(specs))
	for _, sp := range specs {
		c := sp.WithDefaults().Common()
		parts = append(parts, fmt.Sprintf("%s every %s", c.Name, c.Interval))
	}
	return fmt.Sprintf("every %s (%s)", model.Duration(a.LookInterval()), strings.Join(parts, ", "))
}

func progressSteps(s rollout.State) int {
	if s.Phase == rollout.Succeeded {
		return len(s.Plan.Steps)
	}
	return s.Step
}

func writesToTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// watchStatus follows a rollout until it ends: a redrawn view on a
// terminal, one line per change otherwise.
func watchStatus(ctx context.Context, w io.Writer, c *apiClient, name string, interval time.Duration) error {
	tty := writesToTerminal(w)
	var last string
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d, err := c.detail(ctx, name)
		if err != nil {
			return err
		}
		s := d.Rollout
		if tty {
			fmt.Fprint(w, "\033[H\033[2J")
			if err := printStatus(w, d, time.Now()); err != nil {
				return err
			}
		} else {
			verdicts := make([]string, 0, len(s.Results))
			for _, r := range s.Results {
				verdicts = append(verdicts, r.Judge+"="+r.Verdict.String())
			}
			line := fmt.Sprintf("%s %s step %d/%d canary %d%% [%s] %s", s.Name, s.Phase,
				s.Step+1, len(s.Plan.Steps), s.Routing.Weights.Canary, strings.Join(verdicts, " "), s.Reason)
			if line != last { // one line per change of what the line shows
				fmt.Fprintf(w, "%s %s\n", time.Now().Format(time.RFC3339), line)
				last = line
			}
		}
		if s.Phase.Terminal() {
			if s.Phase == rollout.Aborted {
				return exitError{code: 2}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}
