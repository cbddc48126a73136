// Package config loads vane.yaml, the controller's configuration: the
// file (Find looks for it in ./, $XDG_CONFIG_HOME/vane and /etc/vane),
// then, through viper, VANE_* environment variables and command-line flags
// for every scalar setting reached through sections (Keys; the variable's
// name is derived from the key's path by EnvName). Every field has a
// documented default (see the field comments and examples/vane.yaml). The
// prometheus section takes prometheus/common's HTTPClientConfig inline.
//
// The file is decoded through internal/yamlpos, as the SLO specs are:
// unknown fields, values of the wrong type, bad durations and invalid
// values are errors naming file:line:col (or the variable or flag a value
// came from) and the field's path; nothing is applied from a file with an
// error.
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
