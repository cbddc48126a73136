// Package config loads vane.yaml, the controller's configuration: the
// file, then VANE_* environment variables and command-line flags through
// viper for the top-level scalar settings. Every field has a documented
// default (see the field comments and examples/vane.yaml). Unknown fields,
// bad durations and invalid values are errors naming file:line and the
// field's path; nothing is applied from a file with an error.
//
// config imports the model packages (rollout, traffic, analysis, slo) to
// decode and validate their sections; it does no other I/O than reading
// the configuration and SLO files and must not import xds, prom, api or
// cmd.
//
// Usage:
//
//	cfg, err := config.Load("vane.yaml", v) // v: the command's viper, or nil
//	for _, s := range cfg.Services { … s.ServiceConfig() … }
package config
