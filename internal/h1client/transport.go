// Package h1client sends HTTP/1.1 requests: the client every request of
// skiff goes through, as h1server is the server of its servers.
//
// It exists for size. A program in which anything calls an
// http.RoundTripper's RoundTrip through the interface links net/http's
// whole Transport with its HTTP/2 client, about 600 KiB, because
// http.DefaultTransport is always made. skiff speaks HTTP/1.1 to
// registries (a connection per blob in flight moves blobs faster than
// HTTP/2's flow-controlled streams), so it sends requests with this small
// transport and never calls RoundTrip through an interface.
//
// What it does: a pool of keep-alive connections per scheme, host and
// proxy (idle ones watched, so that one the server closed is dropped
// before it is reused); TLS with per-host settings; proxies from
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY (CONNECT tunnels for https, with the
// proxy URL's user as Proxy-Authorization); the request written while the
// response is read, so an early answer such as 401 or 413 to an upload is
// seen; 1xx responses skipped; a response-header timeout that starts once
// the request is written; the request's context cancelling a dial, a
// handshake or a body read at once; one retry on a fresh connection when
// a reused one turns out to be closed before it answered. Do follows
// redirects as net/http's Client does.
package h1client

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
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
	// Dial opens a connection; nil means a net.Dialer with a 30 s timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy returns the proxy for a request, or nil for none; nil means
	// http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)
	// ResponseHeaderTimeout bounds the wait for a response's header once
	// the request is written; zero means no bound.
	ResponseHeaderTimeout time.Duration
	// MaxIdlePerHost is how many idle connections are kept per host;
	// zero means 32.
	MaxIdlePerHost int
	// IdleTimeout closes a connection idle for this long; zero means 90 s.
	IdleTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*conn
}

const (
	bufSize          = 64 << 10
	handshakeTimeout = 10 * time.Second
)

// aLongTimeAgo is a deadline in the past: it interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

var defaultDialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

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
	key := u.Scheme + "://" + canonicalAddr(u)
	if proxy != nil {
		key += " via " + proxy.Redacted()
	}
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

// CloseIdleConnections closes the connections no request is using.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.Close()
		}
	}
}

func (t *Transport) proxyFor(req *http.Request) (*url.URL, error) {
	find := t.Proxy
	if find == nil {
		find = http.ProxyFromEnvironment
	}
	p, err := find(req)
	if err != nil || p == nil {
		return nil, err
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return nil, fmt.Errorf("h1client: proxy %s: only http and https proxies are supported", p.Redacted())
	}
	return p, nil
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

// conn is one connection and its buffers.
type conn struct {
	net.Conn
	key     string
	br      *bufio.Reader
	bw      *bufio.Writer
	written int64 // bytes written for the current request
	read    int64 // bytes read for the current response
	// proxyUser is the user of the http proxy requests go through in
	// absolute form, or nil.
	proxyUser *url.Userinfo

	mu          sync.Mutex
	canceled    bool // the request's context ended: never reused
	headersRead bool // the response header of the current request arrived

	taken    bool          // guarded by Transport.mu: out of the idle pool
	idleDone chan struct{} // closed when the idle watcher returns
	idleErr  error         // what ended the idle watcher
}

func newConn(nc net.Conn) *conn {
	c := &conn{Conn: nc}
	c.br = bufio.NewReaderSize(countingReader{c}, bufSize)
	c.bw = bufio.NewWriterSize(countingWriter{c}, bufSize)
	return c
}

type countingReader struct{ c *conn }

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.c.Conn.Read(p)
	r.c.read += int64(n)
	return n, err
}

type countingWriter struct{ c *conn }

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.c.Conn.Write(p)
	w.c.written += int64(n)
	return n, err
}

// cancel interrupts every read and write of c for good.
func (c *conn) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.canceled = true
	c.Conn.SetDeadline(aLongTimeAgo)
}

func (c *conn) isCanceled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.canceled
}

// requestWritten starts the response-header timeout, unless the header is in.
func (c *conn) requestWritten(timeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if timeout > 0 && !c.headersRead && !c.canceled {
		c.Conn.SetReadDeadline(time.Now().Add(timeout))
	}
}

// headerArrived ends the response-header timeout.
func (c *conn) headerArrived() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headersRead = true
	if !c.canceled {
		c.Conn.SetReadDeadline(time.Time{})
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
	c.written, c.read, c.headersRead = 0, 0, false
	wr := req
	if proxyForm {
		wr = withProxyAuth(req, c.proxyAuth())
	}
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
		if err == nil {
			c.requestWritten(t.ResponseHeaderTimeout)
		}
		writeDone <- err
	}()
	resp, err := readResponse(c.br, req)
	if err != nil {
		stop()
		c.Close()
		werr := <-writeDone
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case isTimeout(err) && werr == nil:
			return nil, fmt.Errorf("h1client: no response header within %v: %w", t.ResponseHeaderTimeout, err)
		case c.read == 0 && !isTimeout(err):
			return nil, &noResponse{err: err, unwritten: c.written == 0}
		}
		return nil, err
	}
	c.headerArrived()
	b := &body{t: t, c: c, resp: resp, req: req, writeDone: writeDone, stop: stop}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	b.rc = resp.Body
	resp.Body = b
	return resp, nil
}

// readResponse reads the response to req, skipping 1xx ones.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
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
		if ctxErr := b.req.Context().Err(); ctxErr != nil && b.c.isCanceled() {
			err = ctxErr
		}
		b.finish(false)
	}
	return n, err
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
		select {
		case err := <-b.writeDone:
			reuse = reuse && err == nil
		default: // the server answered before it read the whole request
			reuse = false
			b.c.Close()
			<-b.writeDone
		}
		if reuse {
			b.t.put(b.c)
		} else {
			b.c.Close()
		}
	})
}

// get takes an idle connection for key out of the pool, or returns nil.
func (t *Transport) get(ctx context.Context, key string) (*conn, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t.mu.Lock()
		list := t.idle[key]
		if len(list) == 0 {
			t.mu.Unlock()
			return nil, nil
		}
		c := list[len(list)-1]
		t.idle[key] = list[:len(list)-1]
		c.taken = true
		t.mu.Unlock()
		c.Conn.SetReadDeadline(aLongTimeAgo) // wake the idle watcher
		<-c.idleDone
		if isTimeout(c.idleErr) && c.br.Buffered() == 0 {
			c.Conn.SetReadDeadline(time.Time{})
			return c, nil
		}
		c.Close() // the server closed it, or sent what nobody asked for
	}
}

// put adds c to the pool, and watches it while it idles: a connection the
// server closes, or sends anything on, or that idles too long, leaves the
// pool and is closed.
func (t *Transport) put(c *conn) {
	maxIdle := t.MaxIdlePerHost
	if maxIdle <= 0 {
		maxIdle = 32
	}
	timeout := t.IdleTimeout
	if timeout <= 0 {
		timeout = 90 * time.Second
	}
	if c.br.Buffered() > 0 || c.isCanceled() {
		c.Close()
		return
	}
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[string][]*conn{}
	}
	if len(t.idle[c.key]) >= maxIdle {
		t.mu.Unlock()
		c.Close()
		return
	}
	c.taken, c.idleDone, c.idleErr = false, make(chan struct{}), nil
	t.idle[c.key] = append(t.idle[c.key], c)
	t.mu.Unlock()
	c.Conn.SetReadDeadline(time.Now().Add(timeout))
	go func() {
		_, err := c.br.Peek(1)
		t.mu.Lock()
		taken := c.taken
		if !taken {
			list := t.idle[c.key]
			for i, o := range list {
				if o == c {
					t.idle[c.key] = append(list[:i], list[i+1:]...)
					break
				}
			}
		}
		c.idleErr = err
		t.mu.Unlock()
		if !taken {
			c.Close()
		}
		close(c.idleDone)
	}()
}

// dialConn opens a connection for u, through proxy if it is set.
func (t *Transport) dialConn(ctx context.Context, u, proxy *url.URL) (*conn, error) {
	dial := t.Dial
	if dial == nil {
		dial = defaultDialer.DialContext
	}
	target := canonicalAddr(u)
	addr := target
	if proxy != nil {
		addr = canonicalAddr(proxy)
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if proxy != nil && proxy.Scheme == "https" {
		if nc, err = handshake(ctx, nc, &tls.Config{ServerName: proxy.Hostname()}); err != nil {
			return nil, err
		}
	}
	if proxy != nil && u.Scheme == "https" {
		if err := connect(ctx, nc, target, proxy); err != nil {
			nc.Close()
			return nil, err
		}
	}
	if u.Scheme == "https" {
		cfg, err := t.tlsConfig(u)
		if err != nil {
			nc.Close()
			return nil, err
		}
		if nc, err = handshake(ctx, nc, cfg); err != nil {
			return nil, err
		}
	}
	c := newConn(nc)
	if proxy != nil && u.Scheme == "http" {
		c.proxyUser = proxy.User
	}
	return c, nil
}

func (t *Transport) tlsConfig(u *url.URL) (*tls.Config, error) {
	var cfg *tls.Config
	if t.TLSConfig != nil {
		var err error
		if cfg, err = t.TLSConfig(u.Host); err != nil {
			return nil, err
		}
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg, nil
}

// handshake runs a TLS client handshake on nc, closing nc if it fails.
func handshake(ctx context.Context, nc net.Conn, cfg *tls.Config) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// connect asks the proxy at the other end of nc for a tunnel to target.
func connect(ctx context.Context, nc net.Conn, target string, proxy *url.URL) error {
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	defer stop()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if auth := basicAuth(proxy.User); auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	if err := req.Write(nc); err != nil {
		return errOrCtx(ctx, err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return errOrCtx(ctx, fmt.Errorf("h1client: proxy %s: %w", proxy.Redacted(), err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("h1client: proxy %s refused a tunnel to %s: %s", proxy.Redacted(), target, resp.Status)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("h1client: proxy %s sent data before the tunnel was used", proxy.Redacted())
	}
	return nil
}

func errOrCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func basicAuth(u *url.Userinfo) string {
	if u == nil {
		return ""
	}
	pass, _ := u.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass))
}

// proxyAuth is the Proxy-Authorization of requests sent through c to an
// http proxy, or "".
func (c *conn) proxyAuth() string { return basicAuth(c.proxyUser) }

// withProxyAuth is req with a Proxy-Authorization header, if auth is set.
func withProxyAuth(req *http.Request, auth string) *http.Request {
	if auth == "" {
		return req
	}
	r := *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set("Proxy-Authorization", auth)
	return &r
}
