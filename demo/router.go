package demo

import (
	"context"
	"sync"
	"time"

	"github.com/vaneproj/vane/traffic"
)

// applyRecord is one routing change the controller applied.
type applyRecord struct {
	At      time.Time // when Apply returned
	Service traffic.Service
	Routing traffic.Routing
	Applied traffic.Applied
	Err     error
}

// recordingRouter passes routing changes to the real router and records
// when each one was acknowledged, so the demo can tell when weight 0
// reached every client.
type recordingRouter struct {
	next traffic.Router
	mu   sync.Mutex
	log  []applyRecord
}

// Apply implements traffic.Router.
func (r *recordingRouter) Apply(ctx context.Context, svc traffic.Service, rt traffic.Routing) (traffic.Applied, error) {
	a, err := r.next.Apply(ctx, svc, rt)
	r.mu.Lock()
	r.log = append(r.log, applyRecord{At: time.Now(), Service: svc, Routing: rt, Applied: a, Err: err})
	r.mu.Unlock()
	return a, err
}

// since returns the records of changes that returned at or after t.
func (r *recordingRouter) since(t time.Time) []applyRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []applyRecord
	for _, a := range r.log {
		if !a.At.Before(t) {
			out = append(out, a)
		}
	}
	return out
}

// lastCanaryZero returns the last change since t that every client ACKed
// and that sends no traffic to the canary.
func (r *recordingRouter) lastCanaryZero(t time.Time) (applyRecord, bool) {
	recs := r.since(t)
	for i := len(recs) - 1; i >= 0; i-- {
		a := recs[i]
		if a.Err == nil && a.Routing.Weights.Canary == 0 && len(a.Routing.CanaryHeaders) == 0 {
			return a, true
		}
	}
	return applyRecord{}, false
}
