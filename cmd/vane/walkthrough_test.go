package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vaneproj/vane/internal/promtest"
	"github.com/vaneproj/vane/rollout"
)

// walkStep is one command of the README's walkthrough.
type walkStep struct {
	cmd       string
	wantError bool // the README shows it failing ("vane: …")
}

// readWalkthrough returns the vane.yaml and the commands between the
// README's walkthrough markers: every line of a sh block that is not a
// comment, and every "$ " line of a console block (with whether the output
// shown for it is an error).
func readWalkthrough(t *testing.T) (string, []walkStep) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "<!-- walkthrough: begin -->"), strings.Index(s, "<!-- walkthrough: end -->")
	if i < 0 || j < i {
		t.Fatal("README.md has no walkthrough markers")
	}
	var yamlText strings.Builder
	var steps []walkStep
	block := ""
	sc := bufio.NewScanner(strings.NewReader(s[i:j]))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```") && block == "":
			block = strings.TrimPrefix(line, "```")
			continue
		case strings.HasPrefix(line, "```"):
			block = ""
			continue
		}
		switch block {
		case "yaml":
			yamlText.WriteString(line + "\n")
		case "sh":
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				steps = append(steps, walkStep{cmd: l})
			}
		case "console":
			if c, ok := strings.CutPrefix(line, "$ "); ok {
				steps = append(steps, walkStep{cmd: c})
			} else if n := len(steps); n > 0 && strings.HasPrefix(line, "vane: ") {
				steps[n-1].wantError = true
			}
		}
	}
	if yamlText.Len() == 0 || len(steps) == 0 {
		t.Fatal("the README's walkthrough has no vane.yaml or no commands")
	}
	return yamlText.String(), steps
}

// TestREADMEWalkthrough runs the README's `vane run` walkthrough command by
// command, as a user would in two terminals, against the vane built from
// this tree: the bad canary is rolled back, the good one promoted, and the
// users' counts show v3 answering at the end.
func TestREADMEWalkthrough(t *testing.T) {
	yamlText, steps := readWalkthrough(t)
	dir := t.TempDir()
	binDir := filepath.Join(dir, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(buildVane(t), filepath.Join(binDir, "vane")); err != nil {
		t.Fatal(err)
	}
	// The README's loopback ports, and vane run's default HTTP and xDS
	// ports, move to free ones so the test runs next to anything else.
	ports := map[string]string{"127.0.0.1:8080": freeAddr(t), "127.0.0.1:18000": freeAddr(t)}
	addrRE := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	move := func(s string) string {
		return addrRE.ReplaceAllStringFunc(s, func(a string) string {
			if ports[a] == "" {
				ports[a] = freeAddr(t)
			}
			return ports[a]
		})
	}
	if err := os.WriteFile(filepath.Join(dir, "vane.yaml"), []byte(move(yamlText)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"VANE_HTTP_LISTEN="+ports["127.0.0.1:8080"], "VANE_XDS_LISTEN="+ports["127.0.0.1:18000"],
		"VANE_SERVER=http://"+ports["127.0.0.1:8080"])
	api := apiCaller{t: t, base: "http://" + ports["127.0.0.1:8080"]}

	type bg struct {
		cmd  *exec.Cmd
		out  *promtest.SyncBuffer
		line string
	}
	var procs []*bg
	t.Cleanup(func() {
		for i := len(procs) - 1; i >= 0; i-- {
			p := procs[i]
			_ = p.cmd.Process.Signal(syscall.SIGINT)
			done := make(chan struct{})
			go func() { _ = p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-done
			}
			t.Logf("background %q output:\n%s", p.line, tail(p.out.String(), 40))
		}
	})
	var phases []string
	for _, st := range steps {
		line := move(st.cmd)
		long := strings.HasPrefix(line, "vane sample-app") || strings.HasPrefix(line, "vane load") ||
			(strings.HasPrefix(line, "vane run") && !strings.Contains(line, "--check"))
		if long {
			p := &bg{line: line, out: &promtest.SyncBuffer{}}
			p.cmd = exec.Command("/bin/sh", "-c", "exec "+strings.TrimSuffix(line, " &"))
			p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = dir, env, p.out, p.out
			if err := p.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			procs = append(procs, p)
			t.Logf("started in the background: %s", line)
			// Wait as a user would for the command to be up.
			switch {
			case strings.HasPrefix(line, "vane run"):
				waitFor(t, 30*time.Second, "vane run ready", func() bool {
					r, err := http.Get(api.base + "/readyz")
					if err == nil {
						r.Body.Close()
					}
					return err == nil && r.StatusCode == http.StatusOK
				})
			case strings.HasPrefix(line, "vane sample-app"):
				grpcAddr := regexp.MustCompile(`--grpc (\S+)`).FindStringSubmatch(line)[1]
				waitFor(t, 10*time.Second, "sample-app on "+grpcAddr, func() bool {
					c, err := net.Dial("tcp", grpcAddr)
					if err == nil {
						c.Close()
					}
					return err == nil
				})
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		c := exec.CommandContext(ctx, "/bin/sh", "-c", line)
		c.Dir, c.Env = dir, env
		out, err := c.CombinedOutput()
		cancel()
		t.Logf("$ %s\n%s", line, out)
		var ee *exec.ExitError
		switch {
		case st.wantError && err == nil:
			t.Fatalf("%s: succeeded; the README shows it failing", line)
		case st.wantError:
		case strings.Contains(line, "--watch") && errors.As(err, &ee) && ee.ExitCode() == 2:
			// status --watch exits 2 after a rollback, as the README says.
		case err != nil:
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		if strings.Contains(line, "--watch") {
			s, _, ok := api.state("checkout")
			if !ok {
				t.Fatal("no rollout checkout after --watch")
			}
			phases = append(phases, fmt.Sprintf("%s %s→%s", s.Phase, s.Original.Stable.Version, s.Original.Canary.Version))
		}
	}
	want := []string{string(rollout.Aborted) + " v1→v2", string(rollout.Succeeded) + " v1→v3"}
	if strings.Join(phases, ", ") != strings.Join(want, ", ") {
		t.Fatalf("after each --watch the rollout was %q, want %q", phases, want)
	}
	// The users' counts: v3 answers once promoted.
	waitFor(t, 30*time.Second, "load.log shows v3 answering", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "load.log"))
		return regexp.MustCompile(`v3=\d+/[1-9]`).Match(b)
	})
	b, _ := os.ReadFile(filepath.Join(dir, "load.log"))
	t.Logf("load.log:\n%s", b)
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
