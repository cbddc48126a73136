package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/viper"

	"github.com/vaneproj/vane/internal/yamlpos"
)

// EnvPrefix starts the name of every environment variable vane reads.
const EnvPrefix = "VANE"

// Keys returns the path of every scalar setting of vane.yaml that an
// environment variable or a flag can set ("http.listen",
// "prometheus.basic_auth.username", …), derived from the Config type's
// yaml tags: the fields reached through sections (mappings), not those in
// lists (services, scrape jobs) or maps (labels). Sorted.
func Keys() []string {
	var keys []string
	collectKeys(reflect.TypeFor[Config](), "", &keys)
	slices.Sort(keys)
	return keys
}

func collectKeys(t reflect.Type, path string, out *[]string) {
	fields := map[string]reflect.Type{}
	var names []string
	yamlpos.Fields(t, fields, &names)
	for _, name := range names {
		ft := fields[name]
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		switch {
		case yamlpos.Opaque(ft):
			*out = append(*out, p) // a scalar that decodes itself (a duration, a URL)
		case ft.Kind() == reflect.Struct:
			collectKeys(ft, p, out)
		case ft.Kind() == reflect.Slice, ft.Kind() == reflect.Map, ft.Kind() == reflect.Interface, ft.Kind() == reflect.Array:
		default:
			*out = append(*out, p)
		}
	}
}

// EnvName is the environment variable of a key: VANE_ and the key in upper
// case with its dots as underscores ("prometheus.basic_auth.username" is
// VANE_PROMETHEUS_BASIC_AUTH_USERNAME).
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// FlagName is the name of a key's command-line flag, for the keys that
// have one ("http.listen" is --http-listen).
func FlagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// BindEnv binds every key of Keys to its environment variable (EnvName) in
// v, so that v knows them whatever its own prefix and replacer.
func BindEnv(v *viper.Viper) error {
	var errs []error
	for _, k := range Keys() {
		if err := v.BindEnv(k, EnvName(k)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// override sets in doc every key v has a value for (an environment
// variable, a changed flag, viper's Set), before the file is decoded, so
// that the value is checked as the file's would be; a problem with it
// names the variable (or the flag) instead of a line.
func override(doc *yamlpos.Doc, v *viper.Viper) error {
	if v == nil {
		return nil
	}
	if err := BindEnv(v); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for _, k := range Keys() {
		if !v.IsSet(k) {
			continue
		}
		val := v.GetString(k)
		origin := "--" + FlagName(k)
		if e, ok := os.LookupEnv(EnvName(k)); ok && e == val {
			origin = EnvName(k)
		}
		if err := doc.Set(k, val, origin); err != nil {
			return err
		}
	}
	return nil
}

// Find returns the configuration file to use when none is named: the
// first of ./vane.yaml, $XDG_CONFIG_HOME/vane/vane.yaml (~/.config when
// unset) and /etc/vane/vane.yaml that exists.
func Find() (string, error) {
	candidates := []string{"vane.yaml"}
	if dir, err := os.UserConfigDir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "vane", "vane.yaml"))
	}
	candidates = append(candidates, filepath.Join("/etc", "vane", "vane.yaml"))
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("config: no configuration file: none of %s exists (name one with -c or VANE_CONFIG)", strings.Join(candidates, ", "))
}
