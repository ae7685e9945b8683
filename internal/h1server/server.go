// Package h1server serves an http.Handler over HTTP/1.1 and nothing else.
//
// It exists for size: a program that calls (*http.Server).Serve links Go's
// whole HTTP/2 server, about a third of a MiB, even when HTTP/2 is turned
// off. skiff's servers (registry serve, proxy) speak HTTP/1.1 only, so
// they use this small loop over http.ReadRequest instead, which keeps the
// static binary within its 8 MiB budget.
//
// What it does: keep-alive connections, request bodies framed by
// http.ReadRequest (Content-Length or chunked), responses with a
// Content-Length when the handler sets one or writes little, chunked
// otherwise, HEAD without a body, "Expect: 100-continue", a header size
// limit and read-header timeout, a request's context cancelled when its
// client goes away, panics recovered (http.ErrAbortHandler cuts the
// connection without finishing the response, as net/http does), and
// Shutdown that lets responses in flight finish.
//
// # Bounds
//
// Replacing net/http's Server means inheriting its bounds:
//
//	bound                         net/http's Server                  h1server
//	request line and headers      MaxHeaderBytes, 1 MiB (+4 KiB): 431 MaxHeaderBytes, 1 MiB: 431
//	chunk-size line               4096 bytes                         the same (net/http's chunked reader)
//	chunk lines outgrowing data   16 KiB past 16 B + 2x the data     the same (net/http's chunked reader)
//	trailers                      its read buffer, 4 KiB             its read buffer, 4 KiB
//	TLS handshake                 the least of the read timeouts     ReadHeaderTimeout
//	request header                ReadHeaderTimeout, none            ReadHeaderTimeout, none
//	whole request                 ReadTimeout, none                  none; BodyReadTimeout bounds each wait
//	                                                                   for body bytes instead
//	response                      WriteTimeout, none (the whole      BodyWriteTimeout, none: bounds each
//	                                response)                          wait for the client to take a byte
//	                                                                   instead (nginx's send_timeout: 60 s)
//	keep-alive idle               IdleTimeout (zero: ReadTimeout)    IdleTimeout (zero: ReadHeaderTimeout)
//	body left unread by handler   256 KiB drained, else closed       256 KiB drained, else closed
//	Expect: 100-continue          sent at the first body read;       the same; unasked, the body is never
//	                                others get 417                     read and the connection closes
//	client gone                   context cancelled, once the body   the same (a read of the connection
//	                                is read (background read)          while the handler runs)
//	HTTP/1.1 without Host         400                                served (http.ReadRequest drops the
//	                                                                   header, so "Host:" with no value,
//	                                                                   which is valid, looks the same)
//
// skiff's registry serve sets a 30 s header bound, a 2 min idle bound,
// its --upload-idle-timeout as BodyReadTimeout and 2 min as
// BodyWriteTimeout; its handlers bound what they buffer of a body
// themselves.
package h1server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("h1server: server closed")

// Server serves Handler on the listeners given to Serve. Set its fields
// before Serve; the zero values mean no timeouts and a 1 MiB header limit.
type Server struct {
	Handler           http.Handler
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no request
	// for this long; zero means ReadHeaderTimeout's value.
	IdleTimeout time.Duration
	// BodyReadTimeout ends a request whose body sends nothing for this
	// long: the handler's next Read fails and the connection is closed.
	// Zero means no limit.
	BodyReadTimeout time.Duration
	// BodyWriteTimeout ends a response the client takes nothing of for
	// this long (a client that asked for a blob and reads none of it):
	// the handler's Write or Flush fails and the connection is closed.
	// Each byte the client takes gives it this long again; over TLS, a
	// write of the server's buffer (32 KiB) must be taken whole within
	// it. Zero means no limit.
	BodyWriteTimeout time.Duration
	MaxHeaderBytes   int
	ErrorLog         *log.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	idleCh    chan struct{} // closed and replaced whenever a conn goes idle or away
}

// Serve accepts connections on ln and serves each on its own goroutine
// until Shutdown or Close; it then returns ErrServerClosed. ln is closed
// when Serve returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners, s.conns, s.idleCh = map[net.Listener]struct{}{}, map[*conn]struct{}{}, make(chan struct{})
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("accept: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := &conn{s: s, nc: nc, idle: true}
		if !s.track(c) {
			nc.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// changed records that a connection went idle or away, waking Shutdown.
func (s *Server) changed(c *conn, gone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gone {
		delete(s.conns, c)
	}
	close(s.idleCh)
	s.idleCh = make(chan struct{})
}

// Shutdown stops accepting, closes idle connections, and waits for the
// others to finish their response and go idle, or for ctx to end, which
// it returns (the connections left are then still open: call Close).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	for {
		s.mu.Lock()
		busy := 0
		for c := range s.conns {
			if c.isIdle() {
				c.nc.Close()
			} else {
				busy++
			}
		}
		wake := s.idleCh
		s.mu.Unlock()
		if busy == 0 {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	}
}

// conn is one client connection.
type conn struct {
	s  *Server
	nc net.Conn

	mu   sync.Mutex
	idle bool // between requests: Shutdown may close it
}

func (c *conn) isIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idle
}

func (c *conn) setIdle(idle bool) {
	c.mu.Lock()
	c.idle = idle
	c.mu.Unlock()
	if idle {
		c.s.changed(c, false)
	}
}

const noLimit = 1 << 62

// answerPlainHTTP answers a client that sent plain HTTP to a TLS server
// with 400 and what to do, as net/http's server does, instead of a
// closed connection: it reports whether err was that.
func answerPlainHTTP(err error) bool {
	var re tls.RecordHeaderError
	if !errors.As(err, &re) || re.Conn == nil || !looksLikeHTTP(re.RecordHeader) {
		return false
	}
	re.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server: use https://.\n")
	re.Conn.Close()
	return true
}

// looksLikeHTTP reports whether the first bytes of a TLS record are the
// start of an HTTP/1 request.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}

func (c *conn) serve() {
	defer func() {
		c.nc.Close()
		c.s.changed(c, true)
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		if d := c.s.ReadHeaderTimeout; d > 0 {
			tc.SetDeadline(time.Now().Add(d))
		}
		if err := tc.HandshakeContext(context.Background()); err != nil {
			if answerPlainHTTP(err) {
				return
			}
			c.s.logf("TLS handshake from %s: %v", c.nc.RemoteAddr(), err)
			return
		}
		tc.SetDeadline(time.Time{})
	}
	maxHeader := int64(c.s.MaxHeaderBytes)
	if maxHeader <= 0 {
		maxHeader = 1 << 20
	}
	lr := &limitedConn{r: c.nc, n: maxHeader}
	br := bufio.NewReaderSize(lr, 4<<10)
	var out io.Writer = c.nc
	if c.s.BodyWriteTimeout > 0 {
		out = idleWriter{nc: c.nc, wait: c.s.BodyWriteTimeout}
	}
	bw := bufio.NewWriterSize(out, 32<<10)
	for first := true; ; first = false {
		wait := c.s.ReadHeaderTimeout
		if !first && c.s.IdleTimeout > 0 {
			wait = c.s.IdleTimeout
		}
		if wait > 0 {
			c.nc.SetReadDeadline(time.Now().Add(wait))
		}
		// The header may take maxHeader bytes beyond what is buffered
		// already (the start of a pipelined request).
		lr.n = maxHeader + int64(br.Buffered())
		// Wait for the request's first byte while idle, so that Shutdown
		// can close a connection no one uses: clients also open
		// connections they never send a request on.
		c.setIdle(true)
		if _, err := br.Peek(1); err != nil {
			return
		}
		c.setIdle(false)
		if c.s.isClosed() {
			return
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !isTimeout(err) {
				status := "400 Bad Request"
				if lr.n <= 0 { // the error may be a line the bound cut short
					status = "431 Request Header Fields Too Large"
				}
				fmt.Fprintf(c.nc, "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s\n", status, status)
			}
			return
		}
		lr.n = noLimit
		c.nc.SetReadDeadline(time.Time{})
		if !c.handle(req, br, bw) {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handle serves one request and reports whether the connection can take
// another.
func (c *conn) handle(req *http.Request, br *bufio.Reader, bw *bufio.Writer) (keep bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := &watch{nc: c.nc, br: br, cancel: cancel}
	defer watch.stop()
	req = req.WithContext(ctx)
	req.RemoteAddr = c.nc.RemoteAddr().String()
	if tc, ok := c.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		req.TLS = &st
	}
	if req.ProtoMajor != 1 {
		fmt.Fprintf(c.nc, "HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\n\r\n")
		return false
	}
	if status := badRequest(req); status != "" {
		fmt.Fprintf(c.nc, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status)
		return false
	}
	w := &response{bw: bw, req: req, header: http.Header{}}
	if req.Close || !req.ProtoAtLeast(1, 1) && !strings.EqualFold(req.Header.Get("Connection"), "keep-alive") {
		w.closeAfter = true
	}
	var body *requestBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &requestBody{rc: req.Body, nc: c.nc, w: w, wait: c.s.BodyReadTimeout, watch: watch,
			owed: req.ProtoAtLeast(1, 1) && strings.EqualFold(req.Header.Get("Expect"), "100-continue")}
		req.Body = body
		if body.wait > 0 {
			defer c.nc.SetReadDeadline(time.Time{})
		}
	} else {
		watch.start()
	}
	aborted := false
	func() {
		defer func() {
			if v := recover(); v != nil {
				aborted = true
				if v != http.ErrAbortHandler {
					c.s.logf("panic serving %s %s: %v", req.Method, req.URL.Path, v)
				}
			}
		}()
		c.s.Handler.ServeHTTP(w, req)
	}()
	if body != nil && body.owed {
		// The client was never asked for its body: it may send it or not,
		// so the connection cannot carry another request.
		w.closeAfter = true
		body = nil
	}
	if aborted || w.err != nil {
		if !aborted && !w.wroteHeader {
			return false
		}
		bw.Flush()
		return false // the response is cut short: the client must see the connection end
	}
	if err := w.finish(); err != nil {
		return false
	}
	// Drain what the handler left of the body, a little, to reuse the
	// connection; a larger rest is cheaper to drop with the connection.
	if body != nil {
		n, err := io.CopyN(io.Discard, req.Body, 256<<10)
		if n == 256<<10 || err != nil && !errors.Is(err, io.EOF) {
			w.closeAfter = true // too much left, or the body broke off mid-way
		}
		if err := req.Body.Close(); err != nil {
			w.closeAfter = true
		}
	}
	return !w.closeAfter && !c.s.isClosed()
}

// response is the http.ResponseWriter of one request.
type response struct {
	bw          *bufio.Writer
	req         *http.Request
	header      http.Header
	status      int
	wroteHeader bool // the status line and header are committed
	chunked     bool
	length      int64 // the Content-Length sent, or -1
	written     int64
	buf         []byte // body bytes held until the header is committed
	closeAfter  bool
	err         error
}

// holdLimit is how much of a body without a Content-Length is held to
// send a Content-Length after all; more goes chunked.
const holdLimit = 4 << 10

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 { // informational: sent at once, the real status follows
		if code == http.StatusContinue || code == http.StatusSwitchingProtocols {
			return
		}
		fmt.Fprintf(w.bw, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
		w.header.Write(w.bw)
		w.bw.WriteString("\r\n")
		return
	}
	w.status = code
}

func bodyAllowed(method string, status int) bool {
	return method != http.MethodHead && status != http.StatusNoContent && status != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.req.Method, w.status) {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if !w.wroteHeader {
		if w.header.Get("Content-Length") == "" && len(w.buf)+len(p) <= holdLimit {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.commit(-1); err != nil {
			return 0, err
		}
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		w.err = http.ErrContentLength
		return 0, w.err
	}
	var err error
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		fmt.Fprintf(w.bw, "%x\r\n", len(p))
		if _, err = w.bw.Write(p); err == nil {
			_, err = w.bw.WriteString("\r\n")
		}
	} else {
		_, err = w.bw.Write(p)
	}
	if err != nil {
		w.err = err
		return 0, err
	}
	w.written += int64(len(p))
	return len(p), nil
}

// commit writes the status line and header; known is the body's length
// when the whole body is held, else -1.
func (w *response) commit(known int64) error {
	w.wroteHeader = true
	h := w.header
	w.length = -1
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			h.Del("Content-Length")
		} else {
			w.length = n
		}
	}
	if w.length < 0 && bodyAllowed(w.req.Method, w.status) {
		if known >= 0 {
			w.length = known
			h.Set("Content-Length", strconv.FormatInt(known, 10))
		} else {
			w.chunked = true
			h.Set("Transfer-Encoding", "chunked")
		}
	}
	if w.length < 0 && w.req.Method == http.MethodHead && known > 0 {
		h.Set("Content-Length", strconv.FormatInt(known, 10))
	}
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if h.Get("Content-Type") == "" && known > 0 && bodyAllowed(w.req.Method, w.status) {
		h.Set("Content-Type", http.DetectContentType(w.buf))
	}
	if w.closeAfter || strings.EqualFold(h.Get("Connection"), "close") {
		w.closeAfter = true
		h.Set("Connection", "close")
	}
	fmt.Fprintf(w.bw, "HTTP/1.1 %d %s\r\n", w.status, http.StatusText(w.status))
	if err := h.Write(w.bw); err != nil {
		w.err = err
		return err
	}
	if _, err := w.bw.WriteString("\r\n"); err != nil {
		w.err = err
		return err
	}
	held := w.buf
	w.buf = nil
	if len(held) > 0 && bodyAllowed(w.req.Method, w.status) {
		if _, err := w.Write(held); err != nil {
			return err
		}
	}
	return nil
}

// Flush sends what is written so far.
func (w *response) Flush() {
	if w.err != nil {
		return
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHeader {
		if w.commit(-1) != nil {
			return
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
	}
}

// finish ends the response after the handler returned.
func (w *response) finish() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.wroteHeader {
		if err := w.commit(int64(len(w.buf))); err != nil {
			return err
		}
	}
	if w.chunked {
		w.bw.WriteString("0\r\n\r\n")
	} else if w.length >= 0 && w.written != w.length && bodyAllowed(w.req.Method, w.status) {
		w.bw.Flush()
		return http.ErrContentLength // short: the connection must end
	}
	return w.bw.Flush()
}
