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
)

// hostTransport picks an *http.Transport per host, so that each host gets
// the TLS settings of its certs.d directory and of the Insecure list.
type hostTransport struct {
	c    *Client
	mu   sync.Mutex
	byHC map[string]*http.Transport
}

func newHostTransport(c *Client) *hostTransport {
	return &hostTransport{c: c, byHC: map[string]*http.Transport{}}
}

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr, err := t.transport(req.URL.Host)
	if err != nil {
		return nil, err
	}
	return tr.RoundTrip(req)
}

func (t *hostTransport) transport(host string) (*http.Transport, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.byHC[host]; ok {
		return tr, nil
	}
	cfg, err := t.tlsConfig(host)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	tr.ResponseHeaderTimeout = 2 * time.Minute
	tr.TLSClientConfig = cfg
	tr.DisableCompression = true // blobs must arrive as stored
	tr.Protocols = http1Only()
	tr.DialContext = dial
	t.byHC[host] = tr
	return tr, nil
}

// http1Only is the protocol set of every connection skiff makes: HTTP/1.1,
// over TLS or not. Blobs move faster on one connection each than
// multiplexed on one HTTP/2 connection under its flow-control windows,
// and keep-alive already saves the handshakes of small requests. It also
// lets release builds leave HTTP/2 out (-tags nethttpomithttp2, half a
// MiB) without behaving any differently.
func http1Only() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	return p
}

// tlsConfig builds host's TLS settings from RootCAs, the Insecure list and
// docker's certs.d layout (CertsDir/HOST/*.crt, client.cert, client.key).
func (t *hostTransport) tlsConfig(host string) (*tls.Config, error) {
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
	for _, e := range entries {
		if err := addCertsEntry(cfg, dir, e.Name()); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func addCertsEntry(cfg *tls.Config, dir, name string) error {
	path := filepath.Join(dir, name)
	switch {
	case strings.HasSuffix(name, ".crt"):
		pem, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if cfg.RootCAs == nil {
			if cfg.RootCAs, err = x509.SystemCertPool(); err != nil {
				cfg.RootCAs = x509.NewCertPool()
			}
		}
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
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
	base http.RoundTripper
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
	resp, err := t.base.RoundTrip(req)
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
