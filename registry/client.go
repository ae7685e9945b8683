package registry

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/reference"
)

// Client talks to registries. The zero value is ready to use: anonymous,
// HTTPS everywhere but loopback, with the default retry policy. A Client is
// safe for concurrent use and should be reused: it keeps connections alive
// and caches bearer tokens per host and scope. Set its fields before its
// first use: the first request fixes them.
type Client struct {
	// Transport sends the requests. Nil means skiff's own HTTP/1.1
	// client, bounded as net/http's is: keep-alive connections, TLS
	// settings per host from RootCAs, Insecure and CertsDir, proxies from
	// HTTPS_PROXY, HTTP_PROXY and NO_PROXY. To use an http.RoundTripper
	// rt instead, set rt.RoundTrip.
	Transport auth.RoundTripFunc

	// Keychain finds credentials for a host; nil means anonymous. Its
	// answers are kept for auth.DefaultCredentialTTL, and it is asked
	// again at once after a 401 to a kept one, so a credential helper's
	// rotated secrets reach a long-lived Client.
	Keychain auth.Keychain

	// Insecure lists hosts ("host" or "host:port") that may be reached
	// over plain HTTP and whose TLS certificates are not verified.
	// Loopback hosts may use plain HTTP without being listed. No other
	// host ever falls back from HTTPS to HTTP.
	Insecure []string

	// UserAgent is sent with every request; empty means "skiff".
	UserAgent string

	// CertsDir holds per-host TLS files as docker's certs.d does
	// (HOST/ca.crt, HOST/client.cert, HOST/client.key). Empty means
	// /etc/docker/certs.d; "-" disables it.
	CertsDir string

	// RootCAs, if set, replaces the system's roots for every host.
	RootCAs *x509.CertPool

	// ChunkSize, if positive, makes blob uploads of more than 1 MiB go in
	// PATCH requests of this many bytes (at least 64 KiB, at most 64 MiB),
	// each held in memory so it can be resent. Zero streams a blob in one
	// PUT, unless the registry asks for chunks with OCI-Chunk-Min-Length.
	ChunkSize int64

	// ResumeDir, if set, is a directory where blob uploads keep what the
	// next push of the same blob to the same repository needs to continue
	// an interrupted one: the upload session's URL and checkpoints of the
	// bytes sent (PushResumable). The files are private (0600) and
	// removed when the upload completes. The directory is made with mode
	// 0700 when missing; one that another user owns or can write is
	// refused, and a file in it that is not the user's own (a symbolic
	// link, another user's file) is removed, never followed.
	ResumeDir string

	// Retry is the retry policy; its zero value is the default policy.
	Retry RetryPolicy

	// Timeouts bound how long a registry may keep the client waiting:
	// connecting, the TLS handshake, a response header, a body that sends
	// nothing. Its zero value is the defaults.
	Timeouts Timeouts

	// Trace, if set, receives one line per HTTP request and response,
	// with credentials removed (the CLI's -v).
	Trace io.Writer

	// Mirrors, if set, says where a repository's content is pulled from:
	// the list, in order, each tried when the one before fails (not
	// found, unreachable, a server error), as registries.conf's mirrors
	// are. The list should end with the repository itself, or with the
	// location it is remapped to; an empty list means the repository
	// alone. An error (such as a blocked registry) is returned by every
	// pull from the repository. Pushes always go to the repository.
	Mirrors func(repo reference.Reference) ([]Mirror, error)

	// Ranges, if set, lets Fetch go on reading a large blob as several
	// bounded ranges at once, for a reader that takes it in one stream
	// (an upload to another registry), once its one stream proves slower
	// than the reader; see Ranges. Nil: one stream.
	Ranges *Ranges

	once    sync.Once
	authT   *auth.Transport
	h1      *h1client.Transport // the transport init made; nil when Transport is set
	mu      sync.Mutex
	schemes map[string]string
	// noSinglePOST holds the hosts that answered a POST ?digest= with a
	// body by opening a session (distribution does): a small blob then
	// costs a session and a PUT, and the session is opened while the
	// blob's bytes arrive.
	noSinglePOST map[string]bool
	sleep        func(context.Context, time.Duration) error                        // tests replace it
	dial         func(ctx context.Context, network, addr string) (net.Conn, error) // tests replace it
	conns        *resume.Conns                                                     // Ranges.Conns, made by init
}

// refuseSinglePOST records that host answered a single POST with a
// session.
func (c *Client) refuseSinglePOST(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noSinglePOST == nil {
		c.noSinglePOST = map[string]bool{}
	}
	c.noSinglePOST[host] = true
}

// refusesSinglePOST reports whether host answered a single POST with a
// session.
func (c *Client) refusesSinglePOST(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.noSinglePOST[host]
}

// dialer returns how c opens connections.
func (c *Client) dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.dial != nil {
		return c.dial
	}
	return dialer(c.Timeouts.connect())
}

func (c *Client) init() {
	c.once.Do(func() {
		base := c.Transport
		if base == nil {
			c.h1 = newTransport(c)
			base = c.h1.RoundTrip
		}
		if c.Trace != nil {
			base = (&tracer{base: base, w: c.Trace}).RoundTrip
		}
		c.authT = &auth.Transport{Base: base, Credentials: c.Keychain}
		if c.Ranges != nil {
			c.conns = resume.NewConns(cmp.Or(c.Ranges.Conns, 4))
		}
		c.schemes = map[string]string{}
		if c.sleep == nil {
			c.sleep = sleepCtx
		}
	})
}

// checkRedirect refuses a downgrade from https to http (RELIABILITY #28)
// unless the target host is insecure, and long chains.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("registry: stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" && !c.isInsecure(req.URL.Host) {
		return fmt.Errorf("registry: refusing redirect from https to %s://%s", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

func (c *Client) isInsecure(host string) bool {
	return slices.Contains(c.Insecure, host) || slices.Contains(c.Insecure, hostOnly(host))
}

// Repository returns the repository ref names; ref's tag and digest are
// ignored. Docker Hub ("docker.io") is reached at registry-1.docker.io.
func (c *Client) Repository(ref reference.Reference) *Repository {
	c.init()
	host := apiHost(ref.Registry)
	c.authT.AddHost(host)
	r := &Repository{client: c, host: host, name: ref.Repository}
	c.addMirrors(r, ref)
	return r
}

// apiHost maps a reference's registry to the host that serves its API.
func apiHost(registry string) string {
	if registry == "docker.io" {
		return "registry-1.docker.io"
	}
	return registry
}

func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// isLoopback reports whether host names this machine: localhost (and
// names under it), 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	h := hostOnly(host)
	if isLocalhostName(h) {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// baseURL returns "scheme://host" for host, finding out once per host
// whether a loopback or insecure registry speaks TLS. A probe cut short by
// ctx says nothing of the host, and is not kept.
func (c *Client) baseURL(ctx context.Context, host string) (*url.URL, error) {
	c.init()
	if !isLoopback(host) && !c.isInsecure(host) {
		return &url.URL{Scheme: "https", Host: host}, nil
	}
	c.mu.Lock()
	scheme := c.schemes[host]
	c.mu.Unlock()
	if scheme == "" {
		var err error
		if scheme, err = probeScheme(ctx, host, c.dialer(), c.Timeouts); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.schemes[host] = scheme
		c.mu.Unlock()
	}
	return &url.URL{Scheme: scheme, Host: host}, nil
}

// probeScheme starts a TLS handshake with host: a server that answers in
// plain HTTP is reached over http, any handshake over https. Certificates
// are not checked here; the real requests check them.
func probeScheme(ctx context.Context, host string, dial func(ctx context.Context, network, addr string) (net.Conn, error), to Timeouts) (string, error) {
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "443")
	}
	conn, err := dial(ctx, "tcp", addr)
	if err == nil {
		hctx, cancel := context.WithTimeout(ctx, to.handshake())
		defer cancel()
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: hostOnly(host)})
		err = tc.HandshakeContext(hctx)
		tc.Close()
		if err == nil {
			return "https", nil
		}
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return "http", nil
	}
	if ne := new(net.OpError); errors.As(err, &ne) && ne.Op == "dial" {
		return "", &requestError{url: host, err: err}
	}
	// Anything else (a reset, an EOF mid-handshake): plain HTTP servers
	// sometimes just hang up on a ClientHello.
	return "http", nil
}

func (c *Client) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return "skiff"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
