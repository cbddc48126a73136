package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vaneproj/vane/rollout"
)

// leaderAt is a Leader that names a fixed URL (or an error) and counts the
// calls.
type leaderAt struct {
	url   string
	err   error
	calls atomic.Int64
}

func (l *leaderAt) LeaderURL(context.Context) (string, bool, error) {
	l.calls.Add(1)
	return l.url, false, l.err
}

// TestFollowerForwardsCommandsToTheLeader: a follower's mutating calls
// reach the leader's API with the caller's Authorization header, which the
// leader checks; reads are answered locally.
func TestFollowerForwardsCommandsToTheLeader(t *testing.T) {
	leader := newEnv(t, "s3cret")
	at := &leaderAt{url: leader.srv.URL}
	follower := newEnvWith(t, "s3cret", func(o *Options) { o.Leader, o.ReplicaID = at, "follower-1" })

	// The token goes along and the leader checks it.
	if a := follower.do("POST", "/api/v1/rollouts", "", startBody); a.code != 401 || a.err.Code != "unauthorized" {
		t.Fatalf("no token through the follower: %d %+v; want the leader's 401", a.code, a.err)
	}
	if a := follower.do("POST", "/api/v1/rollouts", "guess", startBody); a.code != 403 {
		t.Fatalf("wrong token through the follower: %d %+v; want the leader's 403", a.code, a.err)
	}
	if _, err := leader.m.Get("checkout"); !errors.Is(err, rollout.ErrNotFound) {
		t.Fatalf("a refused call started a rollout on the leader: %v", err)
	}
	if a := follower.do("POST", "/api/v1/rollouts", "s3cret", startBody); a.code != 201 {
		t.Fatalf("start through the follower: %d %s", a.code, a.body)
	}
	if _, err := leader.m.Get("checkout"); err != nil {
		t.Fatalf("the forwarded start did not reach the leader: %v", err)
	}
	if _, err := follower.m.Get("checkout"); !errors.Is(err, rollout.ErrNotFound) {
		t.Fatalf("the follower ran the start itself: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := leader.m.Get("checkout")
		if st.Phase == rollout.Paused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader's rollout is %s, not paused", st.Phase)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := follower.do("POST", "/api/v1/rollouts/checkout/promote", "s3cret", ""); a.code != 200 {
		t.Fatalf("promote through the follower: %d %s", a.code, a.body)
	}
	if st, _ := leader.m.Get("checkout"); st.Step < 2 {
		t.Fatalf("the forwarded promote did not move the leader's rollout: step %d", st.Step)
	}

	// Autoscaler commands and reads go to the leader too (only it runs
	// the autoscalers).
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/autoscalers/checkout/pause"}, {"POST", "/api/v1/autoscalers/checkout/resume"},
		{"GET", "/api/v1/autoscalers"}, {"GET", "/api/v1/autoscalers/checkout"},
	} {
		req, _ := http.NewRequest(c.method, follower.srv.URL+c.path, nil)
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Vane-Leader"); got != leader.srv.URL {
			t.Errorf("%s %s on the follower: answered by %q, want the leader %s", c.method, c.path, got, leader.srv.URL)
		}
	}

	// Reads are local: the follower's own (empty) list, no forwarding.
	calls := at.calls.Load()
	if a := follower.do("GET", "/api/v1/rollouts", "", ""); a.code != 200 || strings.Contains(a.body, `"v2"`) {
		t.Fatalf("a read on the follower: %d %s; want its own state", a.code, a.body)
	}
	if at.calls.Load() != calls {
		t.Fatal("a rollout read asked for the leader")
	}
}

func TestForwardingFailures(t *testing.T) {
	// No leader known.
	none := newEnvWith(t, "", func(o *Options) {
		o.Leader = &leaderAt{err: errors.New("ha: no leader is known: no replica leads right now")}
	})
	if a := none.do("POST", "/api/v1/rollouts/checkout/abort", "", ""); a.code != 503 || a.err.Code != "not_running" ||
		!strings.Contains(a.err.Error, "no replica leads right now") {
		t.Fatalf("no leader: %d %+v; want 503 not_running naming the cause", a.code, a.err)
	}
	// A call already forwarded once is not forwarded again.
	loop := newEnvWith(t, "", func(o *Options) { o.Leader = &leaderAt{url: "http://127.0.0.1:1"} })
	req, _ := http.NewRequest("POST", loop.srv.URL+"/api/v1/rollouts/checkout/abort", nil)
	req.Header.Set(ForwardedHeader, "replica-a")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("a forwarded call on a follower: HTTP %d; want 503", resp.StatusCode)
	}
	// The leader does not answer.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	gone := newEnvWith(t, "", func(o *Options) { o.Leader = &leaderAt{url: "http://" + addr} })
	if a := gone.do("POST", "/api/v1/rollouts/checkout/abort", "", ""); a.code != 502 || a.err.Code != "leader_unreachable" || !strings.Contains(a.err.Error, addr) {
		t.Fatalf("leader unreachable: %d %+v; want 502 naming it", a.code, a.err)
	}
}
