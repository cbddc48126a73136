package actuator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/vaneproj/vane/autoscale"
)

// Kinded is implemented by actuators that name their kind (kubernetes,
// exec, http, local); Retrying uses it as the metrics' actuator label.
type Kinded interface {
	Kind() string
}

// RetryOptions configure Retrying. Zero fields take the defaults named on
// them.
type RetryOptions struct {
	// Name names the scale target in errors and logs (e.g. the service).
	Name string
	// Attempts bounds the attempts per call, the first included; default 5.
	Attempts int
	// Initial is the first backoff; default 200ms. Each retry doubles it
	// (with ±50% jitter) up to Max, default 5s.
	Initial, Max time.Duration
	// NoConfirm turns off the read-back after SetScale (only for targets
	// that cannot report their scale at once).
	NoConfirm bool
	// Metrics receives attempts, retries and durations; nil counts nothing.
	Metrics *Metrics
	// Logger receives a line per retry; nil discards.
	Logger *slog.Logger
}

// retrying is the Actuator Retrying returns.
type retrying struct {
	next autoscale.Actuator
	kind string
	o    RetryOptions
	log  *slog.Logger
}

// Retrying wraps a so that transient failures are retried with exponential
// backoff and jitter, up to o.Attempts attempts and while ctx lasts;
// permanent ones (see IsPermanent) are returned at once. The error of a
// call that gave up names the attempts made and wraps the last failure.
//
// Unless o.NoConfirm, SetScale(n) then reads the scale back (retrying the
// read as well) and fails with an error wrapping ErrUnconfirmed when the
// target does not report Desired == n: the caller never assumes a scale
// that was not confirmed.
func Retrying(a autoscale.Actuator, o RetryOptions) autoscale.Actuator {
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Initial <= 0 {
		o.Initial = 200 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 5 * time.Second
	}
	if o.Max < o.Initial {
		o.Max = o.Initial
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	kind := "other"
	if k, ok := a.(Kinded); ok {
		kind = k.Kind()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &retrying{next: a, kind: kind, o: o, log: log.With("actuator", kind, "target", o.Name)}
}

// Kind implements Kinded.
func (r *retrying) Kind() string { return r.kind }

// Reset implements Resetter: it resets the wrapped actuator if it keeps
// state.
func (r *retrying) Reset() {
	if rs, ok := r.next.(Resetter); ok {
		rs.Reset()
	}
}

// Unwrap returns the wrapped actuator.
func (r *retrying) Unwrap() autoscale.Actuator { return r.next }

// GetScale implements autoscale.Actuator.
func (r *retrying) GetScale(ctx context.Context) (autoscale.Scale, error) {
	var s autoscale.Scale
	err := r.do(ctx, "get", func(ctx context.Context) error {
		var err error
		s, err = r.next.GetScale(ctx)
		return err
	})
	return s, err
}

// SetScale implements autoscale.Actuator.
func (r *retrying) SetScale(ctx context.Context, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("%s: set scale: %w: %d replicas", r.o.Name, ErrInvalid, replicas)
	}
	if err := r.do(ctx, "set", func(ctx context.Context) error { return r.next.SetScale(ctx, replicas) }); err != nil {
		return err
	}
	if r.o.NoConfirm {
		return nil
	}
	s, err := r.GetScale(ctx)
	if err != nil {
		return fmt.Errorf("%s: set scale to %d: %w: reading it back failed: %w", r.o.Name, replicas, ErrUnconfirmed, err)
	}
	if s.Desired != replicas {
		return fmt.Errorf("%s: set scale to %d: %w: the target reports %d desired replicas", r.o.Name, replicas, ErrUnconfirmed, s.Desired)
	}
	return nil
}

// do runs f until it succeeds, fails permanently, runs out of attempts or
// ctx ends.
func (r *retrying) do(ctx context.Context, op string, f func(context.Context) error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = r.o.Initial
	b.MaxInterval = r.o.Max
	b.RandomizationFactor = 0.5
	b.Multiplier = 2
	b.Reset()
	var last error
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := f(ctx)
		r.o.Metrics.duration.WithLabelValues(r.kind, op).Observe(time.Since(start).Seconds())
		if err == nil {
			r.o.Metrics.attempts.WithLabelValues(r.kind, op, "ok").Inc()
			return nil
		}
		r.o.Metrics.attempts.WithLabelValues(r.kind, op, "error").Inc()
		last = err
		if IsPermanent(err) {
			return err
		}
		if attempt >= r.o.Attempts {
			return fmt.Errorf("%s: %s scale: gave up after %d attempts: %w", r.o.Name, op, attempt, last)
		}
		wait := b.NextBackOff()
		r.log.Warn("Actuator call failed; retrying", "op", op, "attempt", attempt, "wait", wait, "err", err)
		r.o.Metrics.retries.WithLabelValues(r.kind, op).Inc()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %s scale: stopped after %d attempts (%w): %w", r.o.Name, op, attempt, context.Cause(ctx), last)
		case <-t.C:
		}
	}
}
