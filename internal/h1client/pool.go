package h1client

import (
	"context"
	"time"
)

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

// maxIdle is MaxIdlePerHost, or its default.
func (t *Transport) maxIdle() int {
	if t.MaxIdlePerHost > 0 {
		return t.MaxIdlePerHost
	}
	return 32
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
	maxIdle := t.maxIdle()
	timeout := t.IdleTimeout
	if timeout <= 0 {
		timeout = 90 * time.Second
	}
	drop := c.br.Buffered() > 0 || c.isCanceled()
	if !drop {
		// Before c is in the pool: a get that takes it at once sets the
		// deadline that wakes the watcher, which this must not overwrite.
		c.Conn.SetReadDeadline(time.Now().Add(timeout))
	}
	t.mu.Lock()
	if c.reserved { // Preconnect's dial ends as c joins the pool, at once
		c.reserved = false
		t.unreserveLocked(c.key)
	}
	if t.idle == nil {
		t.idle = map[string][]*conn{}
	}
	if drop || len(t.idle[c.key]) >= maxIdle {
		t.mu.Unlock()
		c.Close()
		return
	}
	c.taken, c.idleDone, c.idleErr = false, make(chan struct{}), nil
	t.idle[c.key] = append(t.idle[c.key], c)
	t.mu.Unlock()
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
