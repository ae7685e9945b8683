package h1client

import (
	"bufio"
	"errors"
	"net"
	"net/url"
	"sync"
	"time"
)

// conn is one connection and its buffers.
type conn struct {
	net.Conn
	key     string
	br      *bufio.Reader
	bw      *bufio.Writer
	written int64 // bytes written for the current request
	// writeErr is the connection's write error for the current request.
	writeErr error
	read     int64 // bytes read for the current response
	// readLimit is how many more bytes the current response's header
	// may read; noLimit once the header is in.
	readLimit int64
	// bodyWait, when positive, is how long each read of a response body
	// may wait for a byte (Transport.BodyReadTimeout).
	bodyWait time.Duration
	// bodyMin, when positive, is how many bytes the reads of a body must
	// bring in each bodyWait they wait in all (Transport.BodyMinBytes).
	bodyMin int64
	// winWaited is how long the reads of the current body waited in the
	// current window of bodyWait, and winGot what they brought.
	winWaited time.Duration
	winGot    int64
	// sendWait, when positive, is how long each write of the request may
	// wait for the server to take a byte (Transport.BodyWriteTimeout).
	sendWait time.Duration
	// proxyUser is the user of the http proxy requests go through in
	// absolute form, or nil.
	proxyUser *url.Userinfo

	mu       sync.Mutex
	canceled bool // the request's context ended: never reused
	// writeStalled is set when the server took nothing of the request
	// for sendWait before its answer began: the wait for it ends.
	writeStalled bool
	headersRead  bool // the response header of the current request arrived
	// reqFailed is set when the request could not be written for a cause
	// other than the connection: its body's Read failed, or its length
	// was wrong.
	reqFailed bool

	taken    bool          // guarded by Transport.mu: out of the idle pool
	reserved bool          // guarded by Transport.mu: Preconnect's, counted as being dialled
	idleDone chan struct{} // closed when the idle watcher returns
	idleErr  error         // what ended the idle watcher
}

func newConn(nc net.Conn) *conn {
	c := &conn{Conn: nc, readLimit: noLimit}
	c.br = bufio.NewReaderSize(countingReader{c}, bufSize)
	c.bw = bufio.NewWriterSize(countingWriter{c}, bufSize)
	return c
}

// noLimit is a readLimit that never runs out.
const noLimit = 1<<63 - 1

// countingReader reads c, counting the bytes of the current response,
// refusing any beyond its header's bound while the header is read, and
// giving each read of a body bodyWait to deliver a byte and the body each
// bodyWait of waiting to deliver bodyMin bytes.
type countingReader struct{ c *conn }

func (r countingReader) Read(p []byte) (int, error) {
	c := r.c
	if c.readLimit <= 0 {
		return 0, errHeaderLimit
	}
	if int64(len(p)) > c.readLimit {
		p = p[:c.readLimit]
	}
	var start time.Time
	if c.bodyWait > 0 {
		start = c.armBodyWait()
	}
	n, err := c.Conn.Read(p)
	c.read += int64(n)
	c.readLimit -= int64(n)
	if c.bodyWait > 0 && c.bodyMin > 0 {
		err = c.countWindow(start, n, err)
	}
	return n, err
}

// errSlowBody is what a read of a body returns once a window of bodyWait
// spent waiting brought fewer than bodyMin bytes.
var errSlowBody = errors.New("response body too slow")

// countWindow adds a read of n bytes that began at start to the current
// window. Once the window's reads have waited bodyWait in all, one that
// brought fewer than bodyMin bytes, but some, ends the body with
// errSlowBody (one that brought none ends it with its timeout, as a
// stall), and the next window begins.
func (c *conn) countWindow(start time.Time, n int, err error) error {
	c.winWaited += time.Since(start)
	c.winGot += int64(n)
	if c.winWaited < c.bodyWait {
		return err
	}
	got := c.winGot
	c.winWaited, c.winGot = 0, 0
	if got > 0 && got < c.bodyMin && (err == nil || isTimeout(err)) {
		return errSlowBody
	}
	return err
}

type countingWriter struct{ c *conn }

func (w countingWriter) Write(p []byte) (int, error) {
	if w.c.sendWait > 0 {
		w.c.armSendWait()
	}
	n, err := w.c.Conn.Write(p)
	w.c.written += int64(n)
	if err != nil {
		w.c.writeErr = err
	}
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

// requestWritten starts the response-header timeout once the request is
// written, unless the header is in. When the request itself failed (err,
// but not from the connection) the server waits for the rest of a request
// that will not come: the wait for its answer ends.
func (c *conn) requestWritten(err error, timeout time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.headersRead || c.canceled:
	case err != nil && c.writeErr != nil && c.sendWait > 0 && isTimeout(c.writeErr):
		c.writeStalled = true
		c.Conn.SetReadDeadline(aLongTimeAgo)
	case err != nil && c.writeErr == nil:
		c.reqFailed = true
		c.Conn.SetReadDeadline(aLongTimeAgo)
	case err == nil && timeout > 0:
		c.Conn.SetReadDeadline(time.Now().Add(timeout))
	}
}

func (c *conn) requestFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqFailed
}

// headerArrived ends the response-header timeout and the header's
// bound; from now on each read waits at most bodyWait (if positive), and
// each bodyWait of waiting must bring bodyMin bytes (if positive).
func (c *conn) headerArrived(bodyWait time.Duration, bodyMin int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headersRead = true
	c.readLimit, c.bodyWait, c.bodyMin = noLimit, bodyWait, bodyMin
	c.winWaited, c.winGot = 0, 0
	if !c.canceled {
		c.Conn.SetReadDeadline(time.Time{})
	}
}

// armSendWait gives the next write sendWait for the server to take a
// byte, unless the request was cancelled.
func (c *conn) armSendWait() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.canceled {
		c.Conn.SetWriteDeadline(time.Now().Add(c.sendWait))
	}
}

func (c *conn) isWriteStalled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeStalled
}

// armBodyWait gives the next read of a body bodyWait to deliver a byte,
// or, while the current window has not brought bodyMin bytes, what is
// left of the window, unless the request was cancelled: its deadline in
// the past stands. It returns the time the read begins.
func (c *conn) armBodyWait() time.Time {
	now := time.Now()
	wait := c.bodyWait
	if c.bodyMin > 0 && c.winGot < c.bodyMin {
		wait -= c.winWaited
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.canceled {
		c.Conn.SetReadDeadline(now.Add(wait))
	}
	return now
}
