package prom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// ErrorKind classifies a failed query. It is the label of the
// vane_prom_query_errors_total metric and decides whether a query is retried.
type ErrorKind string

// The error kinds. Retryable ones are Timeout, Server and Network.
const (
	// KindTimeout: the attempt ran past its timeout, or the server reported a
	// query timeout.
	KindTimeout ErrorKind = "timeout"
	// KindCanceled: the caller's context was cancelled or ran out, or the
	// server cancelled the query.
	KindCanceled ErrorKind = "canceled"
	// KindServer: a 5xx answer.
	KindServer ErrorKind = "server"
	// KindNetwork: the server could not be reached (connection refused,
	// reset, DNS).
	KindNetwork ErrorKind = "network"
	// KindBadQuery: the server rejected the query (HTTP 400 bad_data or 422
	// execution error). Retrying cannot help.
	KindBadQuery ErrorKind = "bad_query"
	// KindClient: another 4xx answer, such as 401 or 403 from a proxy.
	KindClient ErrorKind = "client"
	// KindBadResponse: the answer could not be decoded, or holds a type the
	// caller did not ask for.
	KindBadResponse ErrorKind = "bad_response"
)

// errorKinds returns the values of ErrorKind.
func errorKinds() []ErrorKind {
	return []ErrorKind{KindTimeout, KindCanceled, KindServer, KindNetwork, KindBadQuery, KindClient, KindBadResponse}
}

// Retryable reports whether a query that failed with this kind may succeed
// when tried again.
func (k ErrorKind) Retryable() bool {
	switch k {
	case KindTimeout, KindServer, KindNetwork:
		return true
	}
	return false
}

// QueryError is the error every Querier in this package returns. It names
// the query and the endpoint, and wraps the cause.
type QueryError struct {
	Kind ErrorKind
	// Source names the endpoint: the server URL, or "embedded".
	Source string
	Query  string
	// Attempts is how many times the query was sent (1 without retries).
	Attempts int
	Err      error
}

// Error implements error.
func (e *QueryError) Error() string {
	s := fmt.Sprintf("prom: query %q on %s: %s", e.Query, e.Source, e.Kind)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *QueryError) Unwrap() error { return e.Err }

// KindOf returns the kind of a query error, or "" for a nil error or one
// that does not come from this package.
func KindOf(err error) ErrorKind {
	var qe *QueryError
	if errors.As(err, &qe) {
		return qe.Kind
	}
	return ""
}

// classify maps a failed attempt to its kind. parent is the caller's
// context: when it is done, nothing is retried, whatever the cause.
func classify(parent context.Context, err error) ErrorKind {
	if parent.Err() != nil {
		return KindCanceled
	}
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case v1.ErrServer:
			return KindServer
		case v1.ErrTimeout:
			return KindTimeout
		case v1.ErrCanceled:
			return KindCanceled
		case v1.ErrBadData, v1.ErrExec:
			return KindBadQuery
		case v1.ErrClient:
			return KindClient
		default:
			return KindBadResponse
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	if errors.Is(err, context.Canceled) {
		return KindCanceled
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return KindTimeout
	}
	var opErr *net.OpError
	var urlErr *url.Error
	if errors.As(err, &opErr) || errors.As(err, &urlErr) {
		return KindNetwork
	}
	return KindBadResponse
}
