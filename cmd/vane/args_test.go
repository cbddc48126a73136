package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestMisspelledSubcommandFails checks that an unknown subcommand of a
// command group exits non-zero with a suggestion, and that a command
// missing its one argument says what it needs.
func TestMisspelledSubcommandFails(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rollout", "lst"}, "Did you mean this?\n\tlist"},
		{[]string{"slo", "valdate"}, "Did you mean this?\n\tvalidate"},
		{[]string{"rolout"}, "Did you mean this?\n\trollout"},
		{[]string{"rollout", "status"}, "vane rollout status needs the rollout's name"},
		{[]string{"load"}, "vane load needs the service to call"},
	} {
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetArgs(tc.args)
		err := root.ExecuteContext(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("vane %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs([]string{"rollout"})
	if err := root.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "Available Commands") {
		t.Errorf("vane rollout: error %v, output %q; want its help", err, out.String())
	}
}

// TestFlagHelpHasNoBogusValueNames checks every flag of every command:
// pflag reads `text` in a usage string as the flag's value name, which
// made `vane bench slo --help` show "--prometheus make test-tools".
func TestFlagHelpHasNoBogusValueNames(t *testing.T) {
	var out, errOut bytes.Buffer
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: usage %q has backquotes, which --help shows as the flag's value", c.CommandPath(), f.Name, f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&out, &errOut))
}
