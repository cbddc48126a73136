package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/api"
	"github.com/vaneproj/vane/autoscale"
)

func newAutoscaleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "autoscale",
		Short: "List, watch, pause and resume the autoscalers of a running `vane run`",
		Long:  apiClientHelp("pause and resume"),
	}
	client := apiClientFlags(cmd, g)
	list := &cobra.Command{
		Use:   "list",
		Short: "List autoscalers: current, desired, min/max, state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var l api.AutoscalerList
			if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/autoscalers", nil, &l); err != nil {
				return err
			}
			return printAutoscalers(g.out, l.Autoscalers)
		},
	}
	var watch bool
	var interval time.Duration
	status := &cobra.Command{
		Use:               "status NAME",
		ValidArgsFunction: completeServices(client, autoscaled),
		Short:             "Show an autoscaler: each recommender's recommendation and reason, the decision, recent events",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			get := func() (autoscale.Status, error) {
				var s autoscale.Status
				err := c.do(cmd.Context(), http.MethodGet, "/api/v1/autoscalers/"+args[0], nil, &s)
				return s, err
			}
			if !watch {
				s, err := get()
				if err != nil {
					return err
				}
				return printAutoscaler(g.out, s)
			}
			return watchAutoscaler(cmd.Context(), g.out, get, interval)
		},
	}
	status.Flags().BoolVarP(&watch, "watch", "w", false, "follow the autoscaler (a live view on a terminal, one line per change otherwise) until interrupted")
	status.Flags().DurationVar(&interval, "interval", time.Second, "refresh interval of --watch")
	var reason string
	pause := &cobra.Command{
		Use:               "pause NAME",
		ValidArgsFunction: completeServices(client, autoscaled),
		Short:             "Freeze an autoscaler's scaling (during an incident); it stays paused across restarts",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var s autoscale.Status
			if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/autoscalers/"+args[0]+"/pause", api.PauseRequest{Reason: reason}, &s); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.out, "%s paused at %d replicas: %s\n", s.Name, s.Current, s.Reason)
			return err
		},
	}
	pause.Flags().StringVar(&reason, "reason", "", "why (shown in status and events)")
	resume := &cobra.Command{
		Use:               "resume NAME",
		ValidArgsFunction: completeServices(client, autoscaled),
		Short:             "Resume a paused autoscaler, or one stopped because someone else changed the count (it adopts the current count)",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			var s autoscale.Status
			if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/autoscalers/"+args[0]+"/resume", nil, &s); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.out, "%s resumed\n", s.Name)
			return err
		},
	}
	cmd.AddCommand(list, status, pause, resume)
	return cmd
}

func autoscalerState(s autoscale.Status) string {
	switch {
	case s.Paused:
		return "paused"
	case s.Fight != "":
		return "stopped (fight)"
	case s.Error != "":
		return "error"
	case s.Last != nil && s.Last.Action == autoscale.ActionHold:
		return "holding"
	}
	return "active"
}

func printAutoscalers(w io.Writer, ss []autoscale.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCURRENT\tREADY\tDESIRED\tMIN\tMAX\tSTATE\tLAST DECISION")
	for _, s := range ss {
		last := ""
		if s.Last != nil {
			last = string(s.Last.Action)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.Current, s.Ready, s.Desired, s.Min, s.Max, autoscalerState(s), last)
	}
	return tw.Flush()
}

func printAutoscaler(w io.Writer, s autoscale.Status) error {
	fmt.Fprintf(w, "Autoscaler %s: %s\n", s.Name, autoscalerState(s))
	fmt.Fprintf(w, "Replicas:   %d current, %d ready, %d desired (min %d, max %d)\n", s.Current, s.Ready, s.Desired, s.Min, s.Max)
	if s.Paused {
		fmt.Fprintf(w, "Paused:     %s\n", s.Reason)
	}
	if s.Fight != "" {
		fmt.Fprintf(w, "Stopped:    %s (resume to adopt the current count)\n", s.Fight)
	}
	if s.Error != "" {
		fmt.Fprintf(w, "Error:      %s\n", s.Error)
	}
	if s.Last != nil {
		fmt.Fprintf(w, "Decision:   %s to %d: %s\n", s.Last.Action, s.Last.Desired, s.Last.Reason)
		if sp := s.Last.Split; sp != nil {
			fmt.Fprintf(w, "Split:      stable %d, canary %d\n", sp.Stable, sp.Canary)
		}
	}
	fmt.Fprintln(w, "Recommenders:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range s.Recommendations {
		n := "-"
		if r.Valid {
			n = fmt.Sprint(r.Replicas)
		}
		note := ""
		switch {
		case r.Superseded:
			note = " (superseded by slo)"
		case r.Urgent:
			note = " (urgent)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", r.Recommender, n, r.Reason, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Recent) > 0 {
		fmt.Fprintln(w, "Recent events:")
		for _, e := range s.Recent {
			fmt.Fprintf(w, "  %s  %-14s %d→%d  %s\n", e.At.Format(time.RFC3339), e.Type, e.From, e.To, e.Reason)
		}
	}
	return nil
}

// watchAutoscaler follows an autoscaler until ctx ends.
func watchAutoscaler(ctx context.Context, w io.Writer, get func() (autoscale.Status, error), interval time.Duration) error {
	tty := writesToTerminal(w)
	var last string
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s, err := get()
		if err != nil {
			return err
		}
		if tty {
			fmt.Fprint(w, "\033[H\033[2J")
			if err := printAutoscaler(w, s); err != nil {
				return err
			}
		} else {
			reason := ""
			if s.Last != nil {
				reason = s.Last.Reason
			}
			line := fmt.Sprintf("%s %s current %d desired %d: %s", s.Name, autoscalerState(s), s.Current, s.Desired, reason)
			if line != last {
				fmt.Fprintf(w, "%s %s\n", time.Now().Format(time.RFC3339), line)
				last = line
			}
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
