package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecFilesFromGlobDirAndStdin checks what a shell passes for
// "-f examples/slos/*.yaml" (one -f, then arguments), a directory, and "-".
func TestSpecFilesFromGlobDirAndStdin(t *testing.T) {
	ex := filepath.Join("..", "..", "examples", "slos")
	glob, _ := filepath.Glob(filepath.Join(ex, "*.yaml"))
	for name, args := range map[string][]string{
		"glob": append([]string{"slo", "validate", "-f"}, glob...),
		"dir":  {"slo", "validate", "-f", ex},
	} {
		out, _, err := runVane(t, args...)
		if err != nil || !strings.Contains(out, "4 SLOs valid in 3 files") {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
	spec, err := os.ReadFile(filepath.Join(ex, "native-api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetIn(bytes.NewReader(spec))
	root.SetArgs([]string{"slo", "generate", "-f", "-"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "api-availability") {
		t.Errorf("generate -f -: %v\n%.300s", err, out.String())
	}
	empty := t.TempDir()
	if _, _, err := runVane(t, "slo", "validate", "-f", empty); err == nil || !strings.Contains(err.Error(), "has no .yaml") {
		t.Errorf("empty directory: %v", err)
	}
}
