package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks each bad flag is refused with an error naming it,
// before anything is compiled or written.
func TestBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"a platform that is not Linux": {[]string{"-platforms", "linux/amd64,darwin/arm64"}, `-platforms: platform "darwin/arm64": the image runs on linux only`},
		"a platform without an arch":   {[]string{"-platforms", "linux"}, `-platforms: platform "linux": want os/arch`},
		"a platform twice":             {[]string{"-platforms", "linux/amd64,linux/arm64,linux/amd64"}, `ociimage: platform linux/amd64 given twice`},
		"an unknown arch":              {[]string{"-platforms", "linux/amd64,linux/amd65"}, `ociimage: platform linux/amd65: the go command cannot build for it`},
		"a bad SOURCE_DATE_EPOCH":      {[]string{"-source-date-epoch", "yesterday"}, `-source-date-epoch "yesterday": want a Unix time in seconds`},
		"a negative SOURCE_DATE_EPOCH": {[]string{"-source-date-epoch", "-1"}, `-source-date-epoch "-1": want a Unix time in seconds`},
		"a version with a space":       {[]string{"-version", "v1 beta"}, `ociimage: version "v1 beta": want letters, digits and . _ + -`},
		"a bad tag":                    {[]string{"-tag", "Vane:UPPER/x:y"}, `ociimage: tag "Vane:UPPER/x:y"`},
		"a bad push reference":         {[]string{"-push", "registry.example.com/Vane:v1"}, `ociimage: push reference "registry.example.com/Vane:v1"`},
		"an argument":                  {[]string{"extra"}, `unexpected arguments ["extra"]`},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image")
			err := run(t.Context(), append([]string{"-out", out}, c.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("vane-image %q: %v, want an error containing %q", c.args, err, c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("vane-image %q wrote %s (%v)", c.args, out, err)
			}
		})
	}
}
