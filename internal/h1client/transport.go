package h1client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Transport sends HTTP/1.1 requests over pooled connections. The zero
// value is ready to use; set the fields before the first request. A
// Transport is safe for concurrent use.
type Transport struct {
	// TLSConfig returns the TLS settings for host, the host[:port] of a
	// request's URL; nil, or a nil result, means the defaults. The
	// Transport fills in ServerName and NextProtos on a copy.
	TLSConfig func(host string) (*tls.Config, error)
	// Dial opens a connection; nil means a net.Dialer with a 30 s timeout
	// (DefaultDialTimeout).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSHandshakeTimeout bounds a TLS handshake, with the server or with
	// an https proxy; zero means 10 s (DefaultTLSHandshakeTimeout).
	TLSHandshakeTimeout time.Duration
	// Proxy returns the proxy for a request, or nil for none; nil means
	// http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)
	// ResponseHeaderTimeout bounds the wait for a response's header once
	// the request is written; zero means no bound. Past it, RoundTrip
	// returns a *TimeoutError.
	ResponseHeaderTimeout time.Duration
	// QueryHeaderTimeout, if set, is ResponseHeaderTimeout for requests
	// without a body (GET, HEAD, DELETE): a server answers those at once,
	// while one that takes an upload may first have to store it.
	QueryHeaderTimeout time.Duration
	// BodyReadTimeout bounds how long a response body may send nothing:
	// a Read that waits longer fails with a *TimeoutError and closes the
	// connection. Zero means no bound.
	BodyReadTimeout time.Duration
	// BodyMinBytes, with BodyReadTimeout, bounds how slowly a response
	// body may arrive, as curl's --speed-limit with --speed-time: once
	// the reads of a body have waited BodyReadTimeout in all (the time
	// the caller spends between reads does not count), fewer than
	// BodyMinBytes bytes in that time fail the Read with a *TimeoutError
	// and close the connection; then the count starts again. Zero means
	// no such bound: only a body that sends nothing is cut.
	BodyMinBytes int64
	// BodyWriteTimeout bounds how long a write of a request may wait for
	// the server to take a byte: past it, before the answer began, the
	// request fails with a *TimeoutError and the connection is closed.
	// Zero means no bound.
	BodyWriteTimeout time.Duration
	// MaxResponseHeaderBytes bounds the bytes of a response's status line
	// and header, with those of the 1xx responses before it; zero means
	// 1 MiB (DefaultMaxResponseHeaderBytes). Past it, RoundTrip returns a
	// *LimitError.
	MaxResponseHeaderBytes int64
	// MaxIdlePerHost is how many idle connections are kept per host;
	// zero means 32.
	MaxIdlePerHost int
	// IdleTimeout closes a connection idle for this long; zero means 90 s.
	IdleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*conn
	// dialing counts, per pool, the connections Preconnect is opening.
	dialing map[string]int
}

const (
	bufSize = 64 << 10
	// writeWait is how long a response read to its end waits for the
	// writer to report that the request went out, as net/http does.
	writeWait = 50 * time.Millisecond
)

// aLongTimeAgo is a deadline in the past: it interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

var defaultDialer = &net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}

func (t *Transport) maxHeaderBytes() int64 {
	if t.MaxResponseHeaderBytes > 0 {
		return t.MaxResponseHeaderBytes
	}
	return DefaultMaxResponseHeaderBytes
}

// RoundTrip sends req and returns its response, as an http.RoundTripper
// does: the body of req is closed, and the caller closes the response's.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	u := req.URL
	if u == nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		closeBody(req)
		return nil, fmt.Errorf("h1client: unsupported URL %q", u.Redacted())
	}
	proxy, err := t.proxyFor(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	key := connKey(u, proxy)
	for try := 0; ; try++ {
		c, err := t.get(req.Context(), key)
		reused := c != nil
		if err == nil && c == nil {
			c, err = t.dialConn(req.Context(), u, proxy)
		}
		if err != nil {
			closeBody(req)
			return nil, err
		}
		c.key = key
		resp, err := t.exchange(c, req, proxy != nil && u.Scheme == "http")
		if err == nil {
			return resp, nil
		}
		// A reused connection the server closed while it idled fails
		// before any answer: send once more on a new one, when sending
		// again is safe (nothing was sent, or the method is idempotent)
		// and the body can be had again.
		var nr *noResponse
		if !errors.As(err, &nr) {
			return nil, err
		}
		if !reused || try > 0 || req.Context().Err() != nil || !(nr.unwritten || idempotent(req)) || !replayable(req) {
			return nil, nr.err
		}
		if req, err = rewound(req); err != nil {
			return nil, err
		}
	}
}

// connKey names the pool of connections to u's scheme and host, through
// proxy if it is set.
func connKey(u, proxy *url.URL) string {
	key := u.Scheme + "://" + canonicalAddr(u)
	if proxy != nil {
		key += " via " + proxy.Redacted()
	}
	return key
}

// canonicalAddr is u's host:port, with the scheme's port if u names none.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func idempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewound is req with a fresh body, to send it again.
func rewound(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = body
	return &r, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// noResponse is an exchange that ended before any byte of a response
// arrived; unwritten is true when no byte of the request went out.
type noResponse struct {
	err       error
	unwritten bool
}

func (e *noResponse) Error() string { return e.err.Error() }
func (e *noResponse) Unwrap() error { return e.err }

// exchange writes req on c while it reads the response.
func (t *Transport) exchange(c *conn, req *http.Request, proxyForm bool) (*http.Response, error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, c.cancel)
	c.written, c.read, c.writeErr = 0, 0, nil
	c.headersRead, c.reqFailed, c.writeStalled = false, false, false
	c.bodyWait, c.sendWait = 0, t.BodyWriteTimeout
	wr := req
	if proxyForm {
		wr = withProxyAuth(req, c.proxyAuth())
	}
	wr, sent := withRecordingBody(wr)
	writeDone := make(chan error, 1)
	go func() {
		var err error
		if proxyForm {
			err = wr.WriteProxy(c.bw)
		} else {
			err = wr.Write(c.bw)
		}
		if err == nil {
			err = c.bw.Flush()
		}
		c.requestWritten(err, t.headerTimeout(req))
		writeDone <- err
	}()
	resp, err := c.readHeader(req, t.maxHeaderBytes())
	if err != nil {
		stop()
		c.cancel() // a write that fails from here on is not the request's fault
		c.Close()
		werr := endWrite(req, writeDone)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, new(*LimitError)):
			return nil, err
		case c.isWriteStalled():
			return nil, &TimeoutError{Host: req.URL.Host, What: WaitWrite, Wait: t.BodyWriteTimeout, Err: werr}
		case c.requestFailed():
			if sent != nil && sent.err != nil {
				werr = sent.err // what Request.Write returns hides it
			}
			return nil, fmt.Errorf("h1client: sending request: %w", werr)
		case isTimeout(err) && werr == nil:
			return nil, &TimeoutError{Host: req.URL.Host, What: WaitHeader, Wait: t.headerTimeout(req), Err: err}
		case c.read == 0 && !isTimeout(err):
			return nil, &noResponse{err: err, unwritten: c.written == 0}
		}
		return nil, err
	}
	c.headerArrived(t.BodyReadTimeout, t.BodyMinBytes)
	b := &body{t: t, c: c, resp: resp, req: req, writeDone: writeDone, stop: stop}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	b.rc = resp.Body
	resp.Body = b
	return resp, nil
}

// recordingBody is a request's body that keeps the error of its Read.
type recordingBody struct {
	io.ReadCloser
	err error
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// withRecordingBody is req with its body, if it has one, in a
// recordingBody.
func withRecordingBody(req *http.Request) (*http.Request, *recordingBody) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	b := &recordingBody{ReadCloser: req.Body}
	r := *req
	r.Body = b
	return &r, b
}

// endWrite waits for the writer of req to return, once its connection is
// closed; closing the body ends a Read of it that has stalled.
func endWrite(req *http.Request, writeDone <-chan error) error {
	select {
	case err := <-writeDone:
		return err
	default:
		closeBody(req)
		return <-writeDone
	}
}

// readHeader reads the header of the response to req, skipping 1xx
// responses, as net/http's Transport does: limit bounds the bytes of all
// their status lines and headers together; past it, the error is a
// *LimitError.
func (c *conn) readHeader(req *http.Request, limit int64) (*http.Response, error) {
	c.readLimit = limit
	resp, err := skip1xx(c.br, req)
	if err != nil && c.readLimit <= 0 {
		return nil, &LimitError{Host: req.URL.Host, What: "response header", Limit: limit, Err: err}
	}
	return resp, err
}

// skip1xx reads the response to req, skipping 1xx ones.
func skip1xx(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// body is a response body that gives its connection back to the pool once
// it is read to its end, or closes it.
type body struct {
	t         *Transport
	c         *conn
	resp      *http.Response
	req       *http.Request
	rc        io.ReadCloser
	writeDone chan error
	stop      func() bool
	once      sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.finish(true)
	case err != nil:
		err = b.readError(err)
		b.finish(false)
	}
	return n, err
}

// readError says why a Read of the body failed: the request's context
// ended, the server sent nothing for BodyReadTimeout or too little
// (BodyMinBytes), or more than a bound of the chunked encoding allows.
func (b *body) readError(err error) error {
	host := b.req.URL.Host
	if ctxErr := b.req.Context().Err(); ctxErr != nil && b.c.isCanceled() {
		return ctxErr
	}
	if errors.Is(err, errSlowBody) {
		return &TimeoutError{Host: host, What: WaitBody, Wait: b.c.bodyWait, Min: b.c.bodyMin, Err: err}
	}
	if isTimeout(err) && b.c.bodyWait > 0 {
		return &TimeoutError{Host: host, What: WaitBody, Wait: b.c.bodyWait, Err: err}
	}
	if le := bodyLimit(host, err); le != nil {
		return le
	}
	return err
}

func (b *body) Close() error {
	b.finish(false)
	return nil
}

// finish releases the connection: back to the pool when the response was
// read to its end, the request written and neither asked to close it;
// closed otherwise.
func (b *body) finish(atEOF bool) {
	b.once.Do(func() {
		reuse := b.stop() && atEOF && !b.resp.Close && !b.req.Close
		written, err := b.written(reuse)
		if !written { // the server answered before it read the whole request
			reuse = false
			b.c.Close()
			endWrite(b.req, b.writeDone)
		}
		reuse = reuse && err == nil
		if reuse {
			b.c.bodyWait = 0
			b.t.put(b.c)
		} else {
			b.c.Close()
		}
	})
}

// written reports whether the writer has returned, and its error; when
// wait is set it gives the writer a little time, as a response can be read
// to its end before the writer has reported the last byte of the request.
func (b *body) written(wait bool) (bool, error) {
	select {
	case err := <-b.writeDone:
		return true, err
	default:
	}
	if !wait {
		return false, nil
	}
	timer := time.NewTimer(writeWait)
	defer timer.Stop()
	select {
	case err := <-b.writeDone:
		return true, err
	case <-timer.C:
		return false, nil
	}
}

// headerTimeout is the bound on the wait for req's response header.
func (t *Transport) headerTimeout(req *http.Request) time.Duration {
	if t.QueryHeaderTimeout > 0 && (req.Body == nil || req.Body == http.NoBody) {
		return t.QueryHeaderTimeout
	}
	return t.ResponseHeaderTimeout
}
