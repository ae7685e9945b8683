//go:build linux

package main

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// link simulates a wide-area link between the tools and one registry, on
// the registry's side of loopback: every connection accepted through it
// waits one round trip for its handshake; bytes from the client reach the
// server one round trip after they arrive (all the delay is on the way in,
// so every request/response exchange costs one round trip); and a token
// bucket per direction, shared by every connection, caps the bandwidth.
type link struct {
	rtt      time.Duration
	up, down *bucket // client → server, server → client; nil: no cap
	perConn  float64 // bytes per second one connection carries each way; 0: no cap
	queue    int     // chunks a connection holds in flight, about one bandwidth-delay product
	stall    stall
}

// stall makes a link stop sending on one connection, as a server or a NAT
// that dropped the flow does: once armed, the first connection that has
// sent the client more than after bytes sends nothing more, with the
// connection open, until the client hangs up.
type stall struct {
	mu    sync.Mutex
	after int64 // 0: disarmed
	hit   bool  // a connection stalled since the link was armed
}

// arm makes the next connection to send more than after bytes stall.
func (s *stall) arm(after int64) {
	s.mu.Lock()
	s.after, s.hit = after, false
	s.mu.Unlock()
}

// take reports whether a connection that has sent sent bytes is the one
// to stall, and disarms the link if it is.
func (s *stall) take(sent int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.after == 0 || sent <= s.after {
		return false
	}
	s.after, s.hit = 0, true
	return true
}

// stalled reports whether a connection stalled since the link was armed.
func (s *stall) stalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hit
}

// chunkSize is the most a connection reads from the client at once, and
// writes to it at once.
const chunkSize = 32 * kib

// newLink makes a link of round-trip time rtt and bandwidth bits per second
// (0: no cap).
func newLink(rtt time.Duration, bandwidth float64) *link {
	l := &link{rtt: rtt, queue: queueChunks(rtt, bandwidth)}
	if bandwidth > 0 {
		l.up, l.down = newBucket(bandwidth/8), newBucket(bandwidth/8)
	}
	return l
}

// queueChunks is how many chunks a connection may hold: the bandwidth-delay
// product, and one more, so that a connection alone can fill the link,
// never fewer than 4; 64 (2 MiB) when the bandwidth has no cap.
func queueChunks(rtt time.Duration, bandwidth float64) int {
	if bandwidth <= 0 {
		return 64
	}
	bdp := bandwidth / 8 * rtt.Seconds()
	return max(4, int(bdp/chunkSize)+2)
}

// newCappedLink is newLink whose every connection also carries at most
// perConn bytes per second each way, as a CDN that caps each connection
// does, or TCP over a long round trip with a window of perConn×rtt.
func newCappedLink(rtt time.Duration, bandwidth, perConn float64) *link {
	l := newLink(rtt, bandwidth)
	l.perConn = perConn
	return l
}

// connBuckets are a new connection's own buckets, up and down; nil
// without a per-connection cap.
func (lk *link) connBuckets() (up, down *bucket) {
	if lk.perConn <= 0 {
		return nil, nil
	}
	return newBucket(lk.perConn), newBucket(lk.perConn)
}

// listen wraps l so that every connection it accepts goes through the link.
func (lk *link) listen(l net.Listener) net.Listener { return &linkListener{l, lk} }

type linkListener struct {
	net.Listener
	link *link
}

func (l *linkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newLinkConn(c, l.link), nil
}

// bucket paces bytes at rate bytes per second: each reservation is
// served after those before it, with a burst of burstBytes.
type bucket struct {
	mu    sync.Mutex
	rate  float64
	burst time.Duration
	free  time.Time // when the bytes reserved so far have gone through
}

const burstBytes = 16 * kib

func newBucket(rate float64) *bucket {
	return &bucket{rate: rate, burst: time.Duration(burstBytes / rate * float64(time.Second))}
}

// reserve books n bytes on the link and returns when they will have gone
// through.
func (b *bucket) reserve(n int) time.Time {
	now := time.Now()
	if b == nil {
		return now
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if floor := now.Add(-b.burst); b.free.Before(floor) {
		b.free = floor
	}
	b.free = b.free.Add(time.Duration(float64(n) / b.rate * float64(time.Second)))
	return b.free
}

// chunk is bytes from the client, due at the server at due.
type chunk struct {
	data    []byte
	arrival time.Time // when the client sent them (they reached the proxy)
	due     time.Time
}

// linkConn is a server-side connection through a link. A goroutine reads
// the client's bytes into a queue of at most link.queue chunks (a full
// queue stops the reading, and TCP pushes back on the client); Read hands
// them to the server when they are due. Write paces the server's bytes
// through the link's bucket, so a writer waits for the link.
type linkConn struct {
	net.Conn
	link     *link
	up, down *bucket // the connection's own caps; nil: none
	accepted time.Time
	in       chan chunk
	closed   chan struct{}
	gone     chan struct{} // closed when the client's side ends
	once     sync.Once
	readErr  error // why the queue ended; read after in is closed
	sent     int64 // bytes written to the client; Write's own
	stalled  bool  // the link's stall hit this connection; Write's own

	pending *chunk // taken from in, not yet due
	cur     []byte // due, not yet read
	rd      deadline

	mu        sync.Mutex
	requests  int       // requests begun on the connection
	between   bool      // no request is being served
	reqStart  time.Time // arrival of the first byte read since the last request ended
	lastWrite time.Time // when the last write to the client began
}

func newLinkConn(c net.Conn, l *link) *linkConn {
	lc := &linkConn{Conn: c, link: l, accepted: time.Now(), in: make(chan chunk, l.queue),
		closed: make(chan struct{}), gone: make(chan struct{}), between: true}
	lc.up, lc.down = l.connBuckets()
	lc.rd.changed = make(chan struct{})
	go lc.pump()
	return lc
}

// pump reads the client's bytes, stamps when each chunk is due, and
// queues it.
func (c *linkConn) pump() {
	defer close(c.gone)
	defer close(c.in)
	buf := make([]byte, chunkSize)
	handshake := c.accepted.Add(2 * c.link.rtt)
	for {
		n, err := c.Conn.Read(buf)
		if n > 0 {
			now := time.Now()
			due := later(later(c.link.up.reserve(n), c.up.reserve(n)), now).Add(c.link.rtt)
			ck := chunk{data: append([]byte(nil), buf[:n]...), arrival: now, due: later(due, handshake)}
			select {
			case c.in <- ck:
			case <-c.closed:
				return
			}
		}
		if err != nil {
			c.readErr = err
			return
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Read returns the client's bytes once due. It honours the read deadline
// (net/http's server interrupts a background read with one in the past);
// bytes not yet returned stay queued.
func (c *linkConn) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.pending == nil {
			ck, ok, err := c.next()
			if err != nil {
				return 0, err
			}
			if !ok {
				if c.readErr == nil {
					return 0, io.EOF
				}
				return 0, c.readErr
			}
			c.pending = &ck
		}
		if err := c.sleepUntil(c.pending.due); err != nil {
			return 0, err
		}
		c.cur = c.pending.data
		c.noteArrival(c.pending.arrival)
		c.pending = nil
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// next takes the next chunk from the queue, or reports the deadline.
func (c *linkConn) next() (chunk, bool, error) {
	for {
		expired, changed, stop := c.rd.wait()
		select {
		case ck, ok := <-c.in:
			stop()
			return ck, ok, nil
		case <-expired:
			return chunk{}, false, os.ErrDeadlineExceeded
		case <-changed:
			stop()
		}
	}
}

// sleepUntil waits until t, or reports the deadline.
func (c *linkConn) sleepUntil(t time.Time) error {
	for {
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		expired, changed, stop := c.rd.wait()
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
			stop()
			return nil
		case <-expired:
			timer.Stop()
			return os.ErrDeadlineExceeded
		case <-changed:
			timer.Stop()
			stop()
		}
	}
}

// errStalled ends a write the link's stall held until the client left.
var errStalled = errors.New("link: stalled until the client hung up")

// Write sends p through the link's bucket, a chunk at a time; a stalled
// connection sends nothing more, and the write returns once the client
// has hung up.
func (c *linkConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), chunkSize)
		if c.stalled || c.link.stall.take(c.sent+int64(n)) {
			c.stalled = true
			select {
			case <-c.gone:
			case <-c.closed:
			}
			return written, errStalled
		}
		c.sent += int64(n)
		if d := time.Until(later(c.link.down.reserve(n), c.down.reserve(n))); d > 0 {
			time.Sleep(d)
		}
		c.mu.Lock()
		c.lastWrite = time.Now()
		c.mu.Unlock()
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (c *linkConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *linkConn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *linkConn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return nil
}

// noteArrival remembers when the first byte of the next request reached
// the proxy.
func (c *linkConn) noteArrival(t time.Time) {
	c.mu.Lock()
	if c.between && c.reqStart.IsZero() {
		c.reqStart = t
	}
	c.mu.Unlock()
}

// beginRequest is called as a request's handler starts: it returns when
// the client sent the request and whether it is the connection's first.
func (c *linkConn) beginRequest() (sent time.Time, first bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent, first = c.reqStart, c.requests == 0
	if sent.IsZero() { // cannot happen: a request was read
		sent = time.Now()
	}
	c.requests++
	c.between, c.reqStart = false, time.Time{}
	return sent, first
}

// endRequest is called once a response has been written; it returns when
// the response's last write began: the client cannot have read the whole
// response before, nor sent a request that waited for it.
func (c *linkConn) endRequest() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.between, c.reqStart = true, time.Time{}
	if c.lastWrite.IsZero() {
		return time.Now()
	}
	return c.lastWrite
}

// deadline is a read deadline that waiting readers can watch change.
type deadline struct {
	mu      sync.Mutex
	t       time.Time
	changed chan struct{} // closed and replaced on every change
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	d.t = t
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

// wait returns a channel that fires when the deadline passes (nil: no
// deadline), one closed when it changes, and a function that stops the
// timer.
func (d *deadline) wait() (expired <-chan time.Time, changed <-chan struct{}, stop func()) {
	d.mu.Lock()
	t, ch := d.t, d.changed
	d.mu.Unlock()
	if t.IsZero() {
		return nil, ch, func() {}
	}
	timer := time.NewTimer(time.Until(t))
	return timer.C, ch, func() { timer.Stop() }
}
