package h1client

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
)

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
		if nc, err = t.handshake(ctx, nc, &tls.Config{ServerName: proxy.Hostname()}, proxy.Host); err != nil {
			return nil, err
		}
	}
	if proxy != nil && u.Scheme == "https" {
		if err := connect(ctx, nc, target, proxy, t.maxHeaderBytes()); err != nil {
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
		if nc, err = t.handshake(ctx, nc, cfg, u.Host); err != nil {
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

// handshake runs a TLS client handshake with host on nc, closing nc if it
// fails.
func (t *Transport) handshake(ctx context.Context, nc net.Conn, cfg *tls.Config, host string) (net.Conn, error) {
	wait := t.TLSHandshakeTimeout
	if wait <= 0 {
		wait = DefaultTLSHandshakeTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		if ctx.Err() == nil && hctx.Err() != nil {
			return nil, &TimeoutError{Host: host, What: WaitHandshake, Wait: wait, Err: err}
		}
		return nil, err
	}
	return tc, nil
}

// connect asks the proxy at the other end of nc for a tunnel to target;
// its answer may take maxHeader bytes.
func connect(ctx context.Context, nc net.Conn, target string, proxy *url.URL, maxHeader int64) error {
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	defer stop()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if auth := basicAuth(proxy.User); auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	if err := req.Write(nc); err != nil {
		return errOrCtx(ctx, err)
	}
	lr := &io.LimitedReader{R: nc, N: maxHeader}
	br := bufio.NewReader(lr)
	resp, err := http.ReadResponse(br, req)
	if err != nil && lr.N <= 0 {
		return &LimitError{Host: proxy.Host, What: "proxy's CONNECT response header", Limit: maxHeader, Err: err}
	}
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
