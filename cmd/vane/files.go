package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vaneproj/vane/slo"
)

// stdinName names standard input ("-") in messages.
const stdinName = "<stdin>"

// specPaths is what -f names: the -f values and the arguments after them
// (the shell expands "-f dir/*.yaml" into one -f and more arguments), each
// a file, "-" for standard input, or a directory standing for its *.yaml,
// *.yml and *.json files (not recursive), in name order. A path named twice
// is read once.
func specPaths(flagged, args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range slices.Concat(flagged, args) {
		if p == "-" {
			add(p)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("-f %s: %w", p, err)
		}
		n := 0
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
				continue
			}
			add(filepath.Join(p, e.Name()))
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("-f %s: the directory has no .yaml, .yml or .json file", p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no spec files: pass -f FILE, -f DIR or -f - (standard input); repeatable")
	}
	return out, nil
}

// readSpecFiles reads paths from specPaths; "-" reads stdin.
func readSpecFiles(paths []string, stdin io.Reader) ([]slo.File, error) {
	files := make([]slo.File, 0, len(paths))
	for _, p := range paths {
		var b []byte
		var err error
		name := p
		if p == "-" {
			name = stdinName
			b, err = io.ReadAll(stdin)
		} else {
			b, err = os.ReadFile(p)
		}
		if err != nil {
			return nil, fmt.Errorf("reading spec %s: %w", name, err)
		}
		files = append(files, slo.File{Name: name, Data: b})
	}
	return files, nil
}
