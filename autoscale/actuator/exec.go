package actuator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vaneproj/vane/autoscale"
)

// ReplicasPlaceholder is replaced by the desired count in every argument
// of an exec actuator's set command.
const ReplicasPlaceholder = "{replicas}"

// ExecConfig configures an exec actuator.
type ExecConfig struct {
	// Set is the command that asks for a replica count, as an argument
	// vector (no shell): every ReplicasPlaceholder in it is replaced by the
	// count, or, when there is none, the count is added as the last
	// argument; it is also in the environment as VANE_REPLICAS. It must
	// exit 0 once the change is made.
	Set []string
	// Get is the command that reads the current count back. Its standard
	// output is a count ("3"), "desired ready" ("3 2") or JSON
	// {"desired": 3, "ready": 2}.
	// When Get is empty, the set command's own output (same format) is the
	// count read back: GetScale reports what the last set command printed,
	// and fails with ErrUnconfirmed before one has run.
	Get []string
	// Dir is the commands' working directory; empty means Vane's.
	Dir string
	// Env is added to Vane's environment for the commands ("KEY=value").
	Env []string
	// Timeout bounds each command; default 30s.
	Timeout time.Duration
}

// Validate reports every problem with the configuration.
func (c ExecConfig) Validate() error {
	var errs []error
	if len(c.Set) == 0 || c.Set[0] == "" {
		errs = append(errs, errors.New("set: empty command"))
	}
	if len(c.Get) > 0 && c.Get[0] == "" {
		errs = append(errs, errors.New("get: empty command name"))
	}
	for i, e := range c.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf("env[%d]: %q is not KEY=value", i, e))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %v is negative", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: exec actuator: %w", ErrInvalid, err)
	}
	return nil
}

// Exec scales by running commands (a script, a cloud CLI, an orchestrator's
// client).
type Exec struct {
	cfg ExecConfig

	mu   sync.Mutex
	last *autoscale.Scale // the set command's output, when there is no get command
}

// NewExec checks cfg and returns the actuator.
func NewExec(cfg ExecConfig) (*Exec, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Exec{cfg: cfg}, nil
}

// Kind implements Kinded.
func (e *Exec) Kind() string { return "exec" }

// GetScale implements autoscale.Actuator: it runs the get command, or
// reports what the last set command printed when there is none.
func (e *Exec) GetScale(ctx context.Context) (autoscale.Scale, error) {
	if len(e.cfg.Get) == 0 {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.last == nil {
			return autoscale.Scale{}, fmt.Errorf("exec actuator: %w: no get command, and no set command has reported a count yet", ErrUnconfirmed)
		}
		return *e.last, nil
	}
	out, err := e.run(ctx, "get", e.cfg.Get, nil)
	if err != nil {
		return autoscale.Scale{}, err
	}
	s, err := ParseScale(out)
	if err != nil {
		return autoscale.Scale{}, fmt.Errorf("exec actuator: get command %s: %w", e.cfg.Get[0], err)
	}
	return s, nil
}

// SetScale implements autoscale.Actuator: it runs the set command with
// the count.
func (e *Exec) SetScale(ctx context.Context, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("exec actuator: %w: %d replicas", ErrInvalid, replicas)
	}
	n := strconv.Itoa(int(replicas))
	args := make([]string, len(e.cfg.Set))
	placed := false
	for i, a := range e.cfg.Set {
		args[i] = strings.ReplaceAll(a, ReplicasPlaceholder, n)
		placed = placed || args[i] != a
	}
	if !placed {
		args = append(args, n)
	}
	out, err := e.run(ctx, "set", args, []string{"VANE_REPLICAS=" + n})
	if err != nil {
		return err
	}
	if len(e.cfg.Get) > 0 {
		return nil
	}
	s, err := ParseScale(out)
	if err != nil {
		return fmt.Errorf("exec actuator: set command %s (no get command, so its output is the count): %w", args[0], err)
	}
	e.mu.Lock()
	e.last = &s
	e.mu.Unlock()
	return nil
}

// run runs argv and returns its standard output.
func (e *Exec) run(ctx context.Context, what string, argv, env []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = e.cfg.Dir
	cmd.Env = append(append(os.Environ(), e.cfg.Env...), env...)
	cmd.WaitDelay = time.Second
	var stdout, stderr limitedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission):
		return nil, Permanent(fmt.Errorf("exec actuator: %s command %s: %w", what, argv[0], err))
	case ctx.Err() != nil && err != nil:
		return nil, fmt.Errorf("exec actuator: %s command %s: %w (after %v)", what, argv[0], ctx.Err(), e.cfg.Timeout)
	case err != nil:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "no output on stderr"
		}
		return nil, fmt.Errorf("exec actuator: %s command %s: %w: %s", what, argv[0], err, msg)
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps the first maxResponse bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxResponse - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// execConfig is the ExecConfig of a vane.yaml exec actuator.
func execConfig(spec autoscale.ExecSpec) ExecConfig {
	return ExecConfig{Set: spec.Set, Get: spec.Get, Timeout: spec.Timeout}
}
