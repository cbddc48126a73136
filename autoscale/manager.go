package autoscale

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Manager runs a set of controllers, one per configured autoscaler, and
// looks them up by name for the API. It is safe for concurrent use.
type Manager struct {
	ctrls map[string]*Controller
	names []string
	mu    sync.Mutex
	run   bool
}

// NewManager returns a Manager of the controllers; names must be unique.
func NewManager(ctrls ...*Controller) (*Manager, error) {
	m := &Manager{ctrls: map[string]*Controller{}}
	for _, c := range ctrls {
		if _, dup := m.ctrls[c.Name()]; dup {
			return nil, fmt.Errorf("autoscaler %q: configured twice", c.Name())
		}
		m.ctrls[c.Name()] = c
		m.names = append(m.names, c.Name())
	}
	sort.Strings(m.names)
	return m, nil
}

// Run runs every controller until ctx ends and returns once all stopped.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.run {
		m.mu.Unlock()
		return fmt.Errorf("autoscale: %w: manager already running", ErrConflict)
	}
	m.run = true
	m.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(m.names))
	for i, n := range m.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.ctrls[n].Run(ctx); err != nil && !errors.Is(err, ctx.Err()) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	if len(m.names) == 0 {
		<-ctx.Done() // nothing to run: a component that ends early is a failure
	}
	return errors.Join(errs...)
}

// List returns every autoscaler's status, by name.
func (m *Manager) List() []Status {
	out := make([]Status, 0, len(m.names))
	for _, n := range m.names {
		out = append(out, m.ctrls[n].Status())
	}
	return out
}

// Get returns one autoscaler's status.
func (m *Manager) Get(name string) (Status, error) {
	c, err := m.lookup(name)
	if err != nil {
		return Status{}, err
	}
	return c.Status(), nil
}

// Pause pauses the named autoscaler.
func (m *Manager) Pause(name, reason string) error {
	c, err := m.lookup(name)
	if err != nil {
		return err
	}
	return c.Pause(reason)
}

// Resume resumes the named autoscaler.
func (m *Manager) Resume(name string) error {
	c, err := m.lookup(name)
	if err != nil {
		return err
	}
	return c.Resume()
}

func (m *Manager) lookup(name string) (*Controller, error) {
	c, ok := m.ctrls[name]
	if !ok {
		return nil, fmt.Errorf("autoscaler %q: %w", name, ErrNotFound)
	}
	return c, nil
}
