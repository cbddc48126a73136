package ociimage

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDockerfileMatchesImage checks deploy/container/Dockerfile declares
// what Image builds: a static, trimmed binary at /vane and a /tmp anyone
// may write, on scratch, with the same user, ports, entrypoint, command
// and labels.
func TestDockerfileMatchesImage(t *testing.T) {
	const path = "../../deploy/container/Dockerfile"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	if len(stages) != 2 {
		t.Fatalf("%s has %d stages, want a build stage and the image", path, len(stages))
	}
	build, final := stages[0], stages[1]
	if got := build.get("FROM"); !strings.HasPrefix(got, "--platform=$BUILDPLATFORM golang:") {
		t.Errorf("%s: the build stage is FROM %q, want golang on the build platform", path, got)
	}
	run := build.get("RUN")
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "-trimpath", "-buildvcs=false", `-ldflags "-s -w -X main.version=${VERSION}"`, "-o /out/vane ./cmd/vane", "mkdir -m 1777 /out/tmp"} {
		if !strings.Contains(run, want) {
			t.Errorf("%s: the build stage's RUN %q lacks %q", path, run, want)
		}
	}
	if got := final.get("FROM"); got != "scratch" {
		t.Errorf("%s: the image is FROM %q, want scratch", path, got)
	}
	if got := final.get("COPY"); got != "--from=build /out/ /" {
		t.Errorf("%s: COPY %q, want the build stage's /out/ (vane, tmp) at /", path, got)
	}
	if got := final.get("USER"); got != User {
		t.Errorf("%s: USER %q, want %q", path, got, User)
	}
	var ports []string
	for _, p := range strings.Fields(final.get("EXPOSE")) {
		ports = append(ports, p+"/tcp")
	}
	if !slices.Equal(ports, ExposedPorts()) {
		t.Errorf("%s: EXPOSE %q, want %q", path, ports, ExposedPorts())
	}
	for inst, want := range map[string][]string{"ENTRYPOINT": Entrypoint(), "CMD": Cmd()} {
		var got []string
		if err := json.Unmarshal([]byte(final.get(inst)), &got); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %s %s (%v), want %q", path, inst, final.get(inst), err, want)
		}
	}
	labels := parseLabels(t, final.get("LABEL"))
	want := Labels(Metadata{Created: time.Unix(0, 0)})
	want["org.opencontainers.image.version"] = "${VERSION}"
	want["org.opencontainers.image.revision"] = "${REVISION}"
	want["org.opencontainers.image.created"] = "${CREATED}"
	if !maps.Equal(labels, want) {
		t.Errorf("%s: LABEL %v, want %v", path, labels, want)
	}
}

// stage is one stage of a Dockerfile: its instructions, upper case, and
// their arguments, continuation lines joined.
type stage [][2]string

// get returns the arguments of the stage's only instruction inst.
func (s stage) get(inst string) string {
	var args []string
	for _, in := range s {
		if in[0] == inst {
			args = append(args, in[1])
		}
	}
	if len(args) != 1 {
		return strings.Join(args, " | ")
	}
	return args[0]
}

func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var stages []stage
	var cur string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur += strings.TrimSpace(rest) + " "
			continue
		}
		cur += line
		inst, args, _ := strings.Cut(cur, " ")
		inst = strings.ToUpper(inst)
		cur = ""
		switch {
		case inst == "FROM":
			stages = append(stages, nil)
		case len(stages) == 0:
			continue // ARG before the first FROM
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], [2]string{inst, strings.TrimSpace(args)})
	}
	return stages
}

// parseLabels reads LABEL's key="value" pairs.
func parseLabels(t *testing.T, s string) map[string]string {
	t.Helper()
	labels := make(map[string]string)
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		key, rest, ok := strings.Cut(s, `="`)
		end := strings.Index(rest, `"`)
		if !ok || end < 0 {
			t.Fatalf("LABEL: cannot read %q", s)
		}
		labels[key] = rest[:end]
		s = rest[end+1:]
	}
	return labels
}

func TestParsePlatform(t *testing.T) {
	for in, want := range map[string]string{
		"linux/amd64":   "linux/amd64",
		" linux/arm64 ": "linux/arm64",
		"linux":         `platform "linux": want os/arch, e.g. linux/amd64`,
		"linux/arm/v7":  `platform "linux/arm/v7": want os/arch, e.g. linux/amd64`,
		"darwin/arm64":  `platform "darwin/arm64": the image runs on linux only`,
		"/amd64":        `platform "/amd64": want os/arch, e.g. linux/amd64`,
	} {
		p, err := ParsePlatform(in)
		got := p.String()
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("ParsePlatform(%q) = %q, want %q", in, got, want)
		}
	}
}
