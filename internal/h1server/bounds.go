package h1server

import (
	"errors"
	"io"
	"net"
	"time"
)

// The bounds on a connection's bytes, as its reads and writes see them.

// limitedConn reads at most n more bytes before reporting the header too
// large; the limit applies only while a request's header is read.
type limitedConn struct {
	r io.Reader
	n int64
}

var errHeaderTooLarge = errors.New("request header too large")

func (l *limitedConn) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// idleWriter writes to a connection, and fails a write once the client has
// taken nothing of it for wait: each byte it takes gives it wait again.
// (After a timeout a TLS connection fails every write: there, a write must
// be taken whole within wait.)
type idleWriter struct {
	nc   net.Conn
	wait time.Duration
}

func (w idleWriter) Write(p []byte) (int, error) {
	defer w.nc.SetWriteDeadline(time.Time{})
	written := 0
	for {
		w.nc.SetWriteDeadline(time.Now().Add(w.wait))
		n, err := w.nc.Write(p[written:])
		written += n
		if err == nil || n == 0 || !isTimeout(err) {
			return written, err
		}
	}
}
