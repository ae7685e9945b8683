package h1client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Bounds of a Transport whose fields leave them zero, and those it
// inherits from net/http's chunked reader.
const (
	// DefaultMaxResponseHeaderBytes bounds a response's status line and
	// header, together with those of the 1xx responses before it: net/http's
	// Server allows requests as much (its Transport allows 10 MiB).
	DefaultMaxResponseHeaderBytes = 1 << 20
	// DefaultTLSHandshakeTimeout is net/http's DefaultTransport's.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultDialTimeout bounds opening a connection when Dial is nil, as
	// net/http's DefaultTransport does.
	DefaultDialTimeout = 30 * time.Second

	// maxChunkLine is net/http's bound on a chunk-size line.
	maxChunkLine = 4096
	// maxChunkOverhead is how far net/http lets chunk-size lines and
	// their extensions outgrow the data (16 bytes and twice the data of
	// each chunk are allowed).
	maxChunkOverhead = 16 << 10
)

// LimitError reports a response that sent more than a bound of the
// Transport allows: too large a header, chunk-size line, chunked overhead
// or trailer. The connection it came on is closed, never reused.
type LimitError struct {
	Host  string // the host[:port] that sent it (the proxy's, for a tunnel)
	What  string // what was too large, such as "response header"
	Limit int64  // the bound, in bytes
	Err   error  // the error that stopped the read, if any
}

// Error names the host, what was too large and the bound.
func (e *LimitError) Error() string {
	return fmt.Sprintf("h1client: %s from %s exceeds %s", e.What, e.Host, sizeText(e.Limit))
}

// Unwrap returns Err.
func (e *LimitError) Unwrap() error { return e.Err }

// TimeoutError reports a server that kept the Transport waiting longer than
// a bound: a TLS handshake, a request it took nothing of, a response
// header, or a response body that sent nothing, or too little
// (BodyMinBytes). The connection is closed. It is a net.Error whose
// Timeout method reports true.
type TimeoutError struct {
	Host string        // the host[:port] that did not answer
	What string        // one of the Wait constants
	Wait time.Duration // the bound
	// Min, for a response body that sent too little rather than nothing,
	// is the bytes each Wait of waiting had to bring; zero otherwise.
	Min int64
	Err error // the error the read or handshake returned
}

// Error names the host, what did not arrive and the bound.
func (e *TimeoutError) Error() string {
	switch {
	case e.What == WaitBody && e.Min > 0:
		return fmt.Sprintf("h1client: %s sent less than %s of the response body in %v", e.Host, sizeText(e.Min), e.Wait)
	case e.What == WaitBody:
		return fmt.Sprintf("h1client: %s sent nothing of the response body for %v", e.Host, e.Wait)
	case e.What == WaitWrite:
		return fmt.Sprintf("h1client: %s took nothing of the request for %v", e.Host, e.Wait)
	}
	return fmt.Sprintf("h1client: no %s from %s within %v", e.What, e.Host, e.Wait)
}

// Unwrap returns Err.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout reports true: this is a timeout.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true, as every timeout of package net does.
func (e *TimeoutError) Temporary() bool { return true }

// The waits a TimeoutError names in its What field.
const (
	WaitHandshake = "TLS handshake"
	WaitWrite     = "request"
	WaitHeader    = "response header"
	WaitBody      = "response body"
)

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// errHeaderLimit is what a connection's reads return once a response
// header has used up its bound.
var errHeaderLimit = errors.New("response header bound reached")

// bodyLimit turns an error of net/http's chunked reader that reports a
// bound into a *LimitError naming host, or returns nil. net/http's errors
// for the trailer and the overhead are not exported: their text is all
// there is to tell them by (h1client's tests fail if it changes).
func bodyLimit(host string, err error) error {
	what, limit := "", int64(0)
	switch msg := err.Error(); {
	case errors.Is(err, http.ErrLineTooLong):
		what, limit = "chunk-size line", maxChunkLine
	case strings.Contains(msg, "suspiciously long trailer"):
		what, limit = "trailer", bufSize
	case strings.Contains(msg, "too much non-data"):
		what, limit = "chunked encoding overhead", maxChunkOverhead
	default:
		return nil
	}
	return &LimitError{Host: host, What: what, Limit: limit, Err: err}
}
