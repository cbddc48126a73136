package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// oneName is cobra.ExactArgs(1) with a message that says what the one
// argument is and where to find one, e.g. "vane rollout status needs the
// rollout's name (the service's; `vane rollout list` shows them)".
func oneName(what, where string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 1:
			return nil
		case len(args) == 0:
			return fmt.Errorf("%s needs %s (%s); usage: %s", cmd.CommandPath(), what, where, cmd.UseLine())
		default:
			return fmt.Errorf("%s takes one argument, %s, not %d: %q", cmd.CommandPath(), what, len(args), args)
		}
	}
}

// rejectUnknownSubcommands makes every command group under root (a command
// with subcommands and no action of its own, such as "vane rollout") fail on
// an unknown subcommand with cobra's "did you mean" suggestions, instead of
// printing its help and exiting 0. Without arguments it still prints help.
func rejectUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		rejectUnknownSubcommands(c)
		if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
			continue
		}
		c.Args = cobra.ArbitraryArgs
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?"
				for _, x := range s {
					msg += "\n\t" + x
				}
			}
			return fmt.Errorf("%s\n\nRun '%s --help' for usage", msg, cmd.CommandPath())
		}
	}
}
