package actuator

import "errors"

// Sentinel errors, matched with errors.Is.
var (
	// ErrFight means someone else changed the target's replica count since
	// the actuator's last write: two controllers scale the same target.
	ErrFight = errors.New("actuator: scaled by someone else")
	// ErrNotFound means the scale target does not exist.
	ErrNotFound = errors.New("actuator: scale target not found")
	// ErrInvalid means a request or a configuration is invalid.
	ErrInvalid = errors.New("actuator: invalid")
	// ErrUnconfirmed means a scale change was made but reading it back
	// did not show it.
	ErrUnconfirmed = errors.New("actuator: scale not confirmed")
	// ErrBadResponse means a command or webhook answered something that
	// is not a replica count.
	ErrBadResponse = errors.New("actuator: bad response")
)

// permanent reports whether retrying err cannot help.
func permanent(err error) bool {
	return errors.Is(err, ErrFight) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid)
}

// permanentError marks an error as not worth retrying while keeping its
// text and chain.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err so that Retrying returns it at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether Retrying gives up on err at once: ErrFight,
// ErrNotFound, ErrInvalid or an error marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return permanent(err) || errors.As(err, &p)
}

// Resetter is implemented by actuators that keep state about the target
// (Kubernetes remembers its last write to detect fights). The autoscaler
// calls Reset when an operator resumes it, so that the actuator adopts the
// target as it is.
type Resetter interface {
	Reset()
}
