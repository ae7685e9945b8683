package registry

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/h1client"
)

// tlsConfigs caches the TLS settings of each host for a Client's
// transport.
type tlsConfigs struct {
	c    *Client
	mu   sync.Mutex
	byHC map[string]*tls.Config
}

// newTransport is the HTTP/1.1 client of c: keep-alive connections, the
// TLS settings of each host's certs.d directory and of the Insecure list,
// localhost dialled without a resolver, and proxies from the environment.
// Blobs must arrive as stored, and the client asks for no compression.
func newTransport(c *Client) *h1client.Transport {
	t := &tlsConfigs{c: c, byHC: map[string]*tls.Config{}}
	to := c.Timeouts
	return &h1client.Transport{
		TLSConfig:             t.get,
		Dial:                  c.dialer(),
		TLSHandshakeTimeout:   to.handshake(),
		ResponseHeaderTimeout: to.upload(),
		QueryHeaderTimeout:    to.header(),
		BodyReadTimeout:       to.body(),
		BodyMinBytes:          to.bodyMin(),
		BodyWriteTimeout:      to.body(),
	}
}

func (t *tlsConfigs) get(host string) (*tls.Config, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cfg, ok := t.byHC[host]; ok {
		return cfg, nil
	}
	cfg, err := t.tlsConfig(host)
	if err != nil {
		return nil, err
	}
	t.byHC[host] = cfg
	return cfg, nil
}

// tlsConfig builds host's TLS settings from RootCAs, the Insecure list and
// docker's certs.d layout (CertsDir/HOST/*.crt, client.cert, client.key).
// A host's CAs go into a pool of its own, copied from RootCAs (or the
// system's): the caller's pool is never changed, and a CA in one host's
// directory is trusted for that host alone.
func (t *tlsConfigs) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: t.c.RootCAs}
	if t.c.isInsecure(host) {
		cfg.InsecureSkipVerify = true
	}
	dir := t.c.CertsDir
	if dir == "-" {
		return cfg, nil
	}
	if dir == "" {
		dir = "/etc/docker/certs.d"
	}
	dir = filepath.Join(dir, host)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return cfg, nil // no directory for this host
	}
	hc := &hostCerts{cfg: cfg}
	for _, e := range entries {
		if err := hc.add(dir, e.Name()); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// hostCerts fills one host's TLS settings from its certs.d directory.
type hostCerts struct {
	cfg     *tls.Config
	ownPool bool // cfg.RootCAs is this host's copy
}

// pool returns the host's own pool of roots, copying the caller's (or
// the system's) the first time.
func (h *hostCerts) pool() *x509.CertPool {
	if h.ownPool {
		return h.cfg.RootCAs
	}
	h.ownPool = true
	if h.cfg.RootCAs != nil {
		h.cfg.RootCAs = h.cfg.RootCAs.Clone()
	} else if sys, err := x509.SystemCertPool(); err == nil {
		h.cfg.RootCAs = sys // a copy of its own
	} else {
		h.cfg.RootCAs = x509.NewCertPool()
	}
	return h.cfg.RootCAs
}

func (h *hostCerts) add(dir, name string) error {
	cfg := h.cfg
	path := filepath.Join(dir, name)
	switch {
	case strings.HasSuffix(name, ".crt"):
		pem, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !h.pool().AppendCertsFromPEM(pem) {
			return fmt.Errorf("registry: no certificate found in %s", path)
		}
	case strings.HasSuffix(name, ".cert"):
		key := strings.TrimSuffix(path, ".cert") + ".key"
		pair, err := tls.LoadX509KeyPair(path, key)
		if err != nil {
			return fmt.Errorf("registry: client certificate %s: %w", path, err)
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	}
	return nil
}

// tracer writes a line per request and response to w, with secrets
// removed from URLs and without any header values that could carry them.
type tracer struct {
	base auth.RoundTripFunc
	w    io.Writer
	mu   sync.Mutex
}

func (t *tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	authz := ""
	if req.Header.Get("Authorization") != "" {
		authz = " (with Authorization)"
	}
	t.printf("--> %s %s%s\n", req.Method, auth.RedactURL(req.URL), authz)
	resp, err := t.base(req)
	if err != nil {
		t.printf("<-- %s %s: %s\n", req.Method, auth.RedactURL(req.URL), auth.Redact(err.Error()))
		return nil, err
	}
	t.printf("<-- %d %s %s (%s, %d bytes)\n", resp.StatusCode, req.Method, auth.RedactURL(req.URL),
		time.Since(start).Round(time.Millisecond), resp.ContentLength)
	return resp, nil
}

func (t *tracer) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format, args...)
}
