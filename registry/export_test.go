package registry

import (
	"context"
	"net"
	"time"
)

// SetSleep replaces how c waits between retries, so tests never sleep.
func SetSleep(c *Client, f func(context.Context, time.Duration) error) { c.sleep = f }

// SetDial replaces how c opens connections, so a test reaches its local
// server under any host name.
func SetDial(c *Client, f func(ctx context.Context, network, addr string) (net.Conn, error)) {
	c.dial = f
}

// CloseIdleConnections closes the idle connections of c's own transport,
// so a test's servers close at once.
func CloseIdleConnections(c *Client) {
	if c.h1 != nil {
		c.h1.CloseIdleConnections()
	}
}
