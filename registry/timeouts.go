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
	// BodyMinBytes is the least a response body must bring in each Body
	// of waiting for it; zero means DefaultBodyMinBytes. A body that
	// brings less, but sends something, is cut as a stalled one is, so
	// that a server dripping a byte at a time cannot keep a request
	// going for ever. 1 leaves only the bound on silence.
	BodyMinBytes int64
}

// DefaultBodyTimeout is how long a response body may send nothing before
// its connection is cut. TCP on a lossy link backs off its
// retransmissions from 200 ms, doubling: seven losses in a row of one
// segment take 25.4 s, which 30 s rides through. A longer silence is a
// flow that a NAT or a server dropped, and cutting it costs one Range
// request.
const DefaultBodyTimeout = 30 * time.Second

// DefaultBodyMinBytes is the least a response body must bring in each
// Timeouts.Body of waiting for it (as curl's --speed-limit per
// --speed-time): 4 KiB in 30 s, about 137 bytes a second, a link of
// 1.1 kbit/s, which a GPRS link shared by eight transfers still beats
// several times over. A body of N bytes then takes at most N/4 KiB
// windows at the least rate: a 64 KiB error body 8 minutes, a 1 MiB
// token 2 hours, a 4 MiB manifest 8.5 hours; a blob cut for it continues
// with a Range request, one of its resumes.
const DefaultBodyMinBytes = 4 << 10

func (t Timeouts) connect() time.Duration   { return cmpOr(t.Connect, 30*time.Second) }
func (t Timeouts) handshake() time.Duration { return cmpOr(t.Handshake, 10*time.Second) }
func (t Timeouts) header() time.Duration    { return cmpOr(t.Header, 30*time.Second) }
func (t Timeouts) upload() time.Duration    { return cmpOr(t.UploadHeader, 2*time.Minute) }
func (t Timeouts) body() time.Duration      { return cmpOr(t.Body, DefaultBodyTimeout) }
func (t Timeouts) bodyMin() int64           { return cmpOr(t.BodyMinBytes, DefaultBodyMinBytes) }

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
