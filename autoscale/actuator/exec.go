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
	"time"

	"github.com/vaneproj/vane/autoscale"
)

// Exec is an actuator that runs commands: Set is run with the count as its
// last argument and in VANE_REPLICAS; Get prints the desired count and,
// optionally, the ready count ("5" or "5 4") on stdout.
type Exec struct {
	spec autoscale.ExecSpec
}

var _ autoscale.Actuator = (*Exec)(nil)

// NewExec checks the spec (both commands are required; the timeout
// defaults to 30s).
func NewExec(spec autoscale.ExecSpec) (*Exec, error) {
	if len(spec.Set) == 0 || len(spec.Get) == 0 {
		return nil, errors.New("actuator exec: set and get commands are required")
	}
	if spec.Timeout <= 0 {
		spec.Timeout = 30 * time.Second
	}
	return &Exec{spec: spec}, nil
}

func (e *Exec) run(ctx context.Context, argv []string, env ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.spec.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		if msg != "" {
			return nil, fmt.Errorf("actuator exec: %s: %w: %s", argv[0], err, msg)
		}
		return nil, fmt.Errorf("actuator exec: %s: %w", argv[0], err)
	}
	return out.Bytes(), nil
}

// GetScale runs Get and parses "desired [ready]".
func (e *Exec) GetScale(ctx context.Context) (autoscale.Scale, error) {
	out, err := e.run(ctx, e.spec.Get)
	if err != nil {
		return autoscale.Scale{}, err
	}
	f := strings.Fields(string(out))
	if len(f) == 0 || len(f) > 2 {
		return autoscale.Scale{}, fmt.Errorf("actuator exec: %s printed %q; want \"desired [ready]\"", e.spec.Get[0], strings.TrimSpace(string(out)))
	}
	var n [2]int64
	for i, s := range f {
		if n[i], err = strconv.ParseInt(s, 10, 32); err != nil || n[i] < 0 {
			return autoscale.Scale{}, fmt.Errorf("actuator exec: %s printed %q: not a count", e.spec.Get[0], s)
		}
	}
	sc := autoscale.Scale{Desired: int32(n[0]), Ready: int32(n[0])}
	if len(f) == 2 {
		sc.Ready = int32(n[1])
	}
	return sc, nil
}

// SetScale runs Set with the count.
func (e *Exec) SetScale(ctx context.Context, replicas int32) error {
	n := strconv.Itoa(int(replicas))
	argv := append(append([]string(nil), e.spec.Set...), n)
	_, err := e.run(ctx, argv, "VANE_REPLICAS="+n)
	return err
}
