package registry

import (
	"context"
	"net"
	"strings"
	"time"
)

// dialer opens every connection skiff's transport opens, within timeout,
// with the keep-alive net/http's DefaultTransport uses.
func dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dial(ctx, d, network, addr)
	}
}

// dial connects to addr with d, except that localhost and *.localhost
// always mean this machine (RFC 6761 §6.3): they are dialled at
// 127.0.0.1, then ::1, without asking a resolver, so skiff reaches a
// local registry in a chroot or container that has no /etc/hosts.
func dial(ctx context.Context, dialer *net.Dialer, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !isLocalhostName(host) {
		return dialer.DialContext(ctx, network, addr)
	}
	conn, err := dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	if err == nil {
		return conn, nil
	}
	if conn, err6 := dialer.DialContext(ctx, network, net.JoinHostPort("::1", port)); err6 == nil {
		return conn, nil
	}
	return nil, err
}

// isLocalhostName reports whether h is localhost or a name under it.
func isLocalhostName(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}
