package actuator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/vaneproj/vane/autoscale"
)

// maxResponse bounds what is read of a command's output or a webhook's
// answer.
const maxResponse = 64 << 10

// scaleJSON is the JSON form of a scale that commands and webhooks answer:
//
//	{"desired": 3, "ready": 2}
//
// ready is optional and defaults to desired.
type scaleJSON struct {
	Desired *int64 `json:"desired"`
	Ready   *int64 `json:"ready"`
}

// ParseScale reads a replica count as a command or a webhook reports it:
// a bare count ("3", surrounding space allowed; ready = desired), the
// desired and ready counts separated by space ("3 2"), or a JSON object {"desired": 3, "ready": 2} (ready optional; other fields
// ignored). Counts are integers in 0..2147483647; ready may exceed desired
// (a target scaling down still runs the replicas it is removing).
func ParseScale(b []byte) (autoscale.Scale, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return autoscale.Scale{}, fmt.Errorf("%w: empty, want a count or {\"desired\": N, \"ready\": M}", ErrBadResponse)
	}
	if b[0] != '{' {
		f := bytes.Fields(b)
		if len(f) > 2 {
			return autoscale.Scale{}, fmt.Errorf("%w: %q is neither \"desired [ready]\" nor a JSON object", ErrBadResponse, excerpt(b))
		}
		var c [2]int32
		for i, w := range f {
			n, err := strconv.ParseInt(string(w), 10, 64)
			if err != nil {
				return autoscale.Scale{}, fmt.Errorf("%w: %q is neither \"desired [ready]\" nor a JSON object", ErrBadResponse, excerpt(b))
			}
			if c[i], err = count([]string{"desired", "ready"}[i], n); err != nil {
				return autoscale.Scale{}, err
			}
		}
		if len(f) == 1 {
			c[1] = c[0]
		}
		return autoscale.Scale{Desired: c[0], Ready: c[1]}, nil
	}
	var s scaleJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return autoscale.Scale{}, fmt.Errorf("%w: JSON %q: %w", ErrBadResponse, excerpt(b), err)
	}
	if dec.More() {
		return autoscale.Scale{}, fmt.Errorf("%w: JSON %q: data after the object", ErrBadResponse, excerpt(b))
	}
	if s.Desired == nil {
		return autoscale.Scale{}, fmt.Errorf("%w: JSON %q: no \"desired\" field", ErrBadResponse, excerpt(b))
	}
	d, err := count("desired", *s.Desired)
	if err != nil {
		return autoscale.Scale{}, err
	}
	r := d
	if s.Ready != nil {
		if r, err = count("ready", *s.Ready); err != nil {
			return autoscale.Scale{}, err
		}
	}
	return autoscale.Scale{Desired: d, Ready: r}, nil
}

func count(field string, n int64) (int32, error) {
	if n < 0 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%w: %s: %d is not a replica count", ErrBadResponse, field, n)
	}
	return int32(n), nil
}

// excerpt shortens b for an error message.
func excerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
