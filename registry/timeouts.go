package registry

import (
	"errors"
	"net"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
)

// Timeouts bound how long a registry may keep a Client waiting. A zero
// field means its default. They apply to skiff's own transport, not to a
// Client.Transport set by the caller.
type Timeouts struct {
	// Connect bounds opening a TCP connection; zero means 30 s.
	Connect time.Duration
	// Handshake bounds a TLS handshake; zero means 10 s.
	Handshake time.Duration
	// Header bounds the wait for the response header of a request without
	// a body (a GET, HEAD or DELETE) once it is sent; zero means 30 s.
	Header time.Duration
	// UploadHeader bounds the same wait for a request with a body (an
	// upload, a manifest PUT); zero means 2 minutes, which a registry
	// committing a large upload to slow storage may need before it
	// answers.
	UploadHeader time.Duration
	// Body bounds how long a body may stall; zero means
	// DefaultBodyTimeout. A response body that sends nothing for this long
	// is cut: a blob continues from where it stopped with a Range request
	// (one of its resumes), and a manifest, token or listing is asked for
	// again, as the retry policy allows a failed request. A request body
	// the registry takes nothing of for this long fails the request.
	Body time.Duration
}

// DefaultBodyTimeout is how long a response body may send nothing before
// its connection is cut. TCP on a lossy link backs off its
// retransmissions from 200 ms, doubling: seven losses in a row of one
// segment take 25.4 s, which 30 s rides through. A longer silence is a
// flow that a NAT or a server dropped, and cutting it costs one Range
// request.
const DefaultBodyTimeout = 30 * time.Second

func (t Timeouts) connect() time.Duration   { return cmpOr(t.Connect, 30*time.Second) }
func (t Timeouts) handshake() time.Duration { return cmpOr(t.Handshake, 10*time.Second) }
func (t Timeouts) header() time.Duration    { return cmpOr(t.Header, 30*time.Second) }
func (t Timeouts) upload() time.Duration    { return cmpOr(t.UploadHeader, 2*time.Minute) }
func (t Timeouts) body() time.Duration      { return cmpOr(t.Body, DefaultBodyTimeout) }

// neverAnswered reports a server that did not accept a connection,
// finish a TLS handshake, take a request or send a response header
// within its bound.
// Such a request is not retried: a retry would wait as long again, and
// the bound is already what the user allows.
func neverAnswered(err error) bool {
	var te *h1client.TimeoutError
	if errors.As(err, &te) {
		return te.What != h1client.WaitBody
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" && oe.Timeout()
}
