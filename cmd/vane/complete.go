package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaneproj/vane/api"
)

// completeServices completes a service's name from the running
// controller's GET /api/v1/services, keeping the services keep accepts
// (nil: all); nothing when the controller is not reachable within a second.
func completeServices(client func() (*apiClient, error), keep func(api.Service) bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := client()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c.http.Timeout = time.Second
		var l api.ServiceList
		if err := c.do(context.Background(), http.MethodGet, "/api/v1/services", nil, &l); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, s := range l.Services {
			if strings.HasPrefix(s.Name, toComplete) && (keep == nil || keep(s)) {
				out = append(out, cobra.CompletionWithDesc(s.Name, serviceDesc(s)))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// serviceDesc describes a service in a completion: its versions and its
// rollout's phase.
func serviceDesc(s api.Service) string {
	d := s.Stable
	if s.Canary != "" {
		d += " → " + s.Canary
	}
	if s.Phase != "" {
		d += ", " + string(s.Phase)
	} else {
		d += ", no rollout yet"
	}
	if s.Autoscaler {
		d += ", autoscaled"
	}
	return d
}

// autoscaled keeps the services that have an autoscaler.
func autoscaled(s api.Service) bool { return s.Autoscaler }
