package main

import (
	"net"
	"sync"
)

// connListener is a net.Listener that yields one connection, already
// established (one end of a socketpair), then blocks until closed.
type connListener struct {
	conns     chan net.Conn
	addr      net.Addr
	closed    chan struct{}
	closeOnce sync.Once
}

// newConnListener returns a listener for conn, and a channel closed when
// the server closes conn (the client hung up, or the server shut down).
func newConnListener(conn net.Conn) (*connListener, <-chan struct{}) {
	hangup := make(chan struct{})
	l := &connListener{conns: make(chan net.Conn, 1), addr: conn.LocalAddr(), closed: make(chan struct{})}
	l.conns <- &trackedConn{Conn: conn, closed: hangup}
	return l, hangup
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// trackedConn closes its channel when it is closed.
type trackedConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
