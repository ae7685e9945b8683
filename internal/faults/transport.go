package faults

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"syscall"

	"github.com/skiffoci/skiff/internal/h1client"
)

// ErrReset is the error a Rule fails with unless it sets Err: a connection
// reset by peer, as the net package reports it, so that
// errors.Is(err, syscall.ECONNRESET) holds.
var ErrReset error = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}

// Rule is a failure to inject.
type Rule struct {
	// Match selects the requests the rule applies to; nil matches all.
	Match func(*http.Request) bool
	// Times is how many matching requests it applies to; 0 means all.
	Times int
	// Reset fails the round trip before response headers arrive. The
	// request is not sent.
	Reset bool
	// CutAfter, when positive, ends the response body after that many
	// bytes with Err (io.ErrUnexpectedEOF when Err is nil).
	CutAfter int64
	// Err is the error to fail with; ErrReset for Reset and
	// io.ErrUnexpectedEOF for CutAfter when nil.
	Err error
}

// Transport is an http.RoundTripper that applies Rules to the requests it
// passes to Base (skiff's own HTTP/1.1 client, internal/h1client, when
// nil). It is safe for
// concurrent use; the zero value passes everything through.
type Transport struct {
	Base http.RoundTripper

	mu    sync.Mutex
	rules []*armed
	trips int
}

// defaultClient sends the requests of Transports without a Base.
var defaultClient = &h1client.Transport{}

type armed struct {
	Rule
	used int
}

// Add arms r. Each round trip consumes at most one rule: the first added
// that matches and has uses left.
func (t *Transport) Add(r Rule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = append(t.rules, &armed{Rule: r})
}

// Reset disarms every rule; the round trip count stays.
func (t *Transport) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = nil
}

// RoundTrips returns how many round trips were attempted, failed ones
// included.
func (t *Transport) RoundTrips() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.trips
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rule := t.take(req)
	if rule != nil && rule.Reset {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errOr(rule.Err, ErrReset)
	}
	var resp *http.Response
	var err error
	if t.Base != nil {
		resp, err = t.Base.RoundTrip(req)
	} else {
		resp, err = defaultClient.RoundTrip(req)
	}
	if err != nil || rule == nil || rule.CutAfter <= 0 {
		return resp, err
	}
	resp.Body = &cutBody{rc: resp.Body, left: rule.CutAfter, err: errOr(rule.Err, io.ErrUnexpectedEOF)}
	return resp, nil
}

func (t *Transport) take(req *http.Request) *Rule {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.trips++
	for _, a := range t.rules {
		if (a.Times > 0 && a.used >= a.Times) || (a.Match != nil && !a.Match(req)) {
			continue
		}
		a.used++
		r := a.Rule
		return &r
	}
	return nil
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// cutBody yields left bytes of rc, then err.
type cutBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if errors.Is(err, io.EOF) && b.left > 0 {
		return n, io.EOF // the body was shorter than the cut
	}
	if err == nil && b.left <= 0 {
		return n, b.err
	}
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }

// Route returns a matcher for requests with method ("" for any) whose
// URL path matches the regular expression pattern.
func Route(method, pattern string) func(*http.Request) bool {
	re := regexp.MustCompile(pattern)
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && re.MatchString(r.URL.Path)
	}
}
