package h1client_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/h1client"
)

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// rawServer is a loopback server that hands its n-th connection (from 0)
// to serve, for tests that need exact control of the bytes on the wire.
// Handlers that must hold a connection open wait on the test's Context,
// which ends before the server is closed.
type rawServer struct {
	addr     string
	accepted atomic.Int32
}

func newRawServer(t *testing.T, cfg *tls.Config, serve func(n int, c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &rawServer{addr: ln.Addr().String()}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.accepted.Add(1)) - 1
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(n, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// readRequest reads one request and its whole body.
func readRequest(br *bufio.Reader) (*http.Request, string, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(req.Body)
	return req, string(body), err
}

// serveOK answers every request on c with okResponse.
func serveOK(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		if _, err := io.WriteString(c, okResponse); err != nil {
			return
		}
	}
}

// countingServer is an httptest server that counts the connections it
// accepts and reports each one that closes.
type countingServer struct {
	*httptest.Server
	conns  atomic.Int32
	closed chan struct{}
}

func newCountingServer(t *testing.T, secure bool, h http.Handler) *countingServer {
	t.Helper()
	s := &countingServer{Server: httptest.NewUnstartedServer(h), closed: make(chan struct{}, 100)}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed:
			s.closed <- struct{}{}
		}
	}
	if secure {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// clientTLS is a Transport.TLSConfig that trusts the server's certificate.
func clientTLS(s *httptest.Server) func(string) (*tls.Config, error) {
	cfg := s.Client().Transport.(*http.Transport).TLSClientConfig
	return func(string) (*tls.Config, error) { return cfg, nil }
}

// testCert returns the TLS settings of a server with httptest's
// certificate, for raw servers, and the client's settings to trust it.
func testCert(t *testing.T) (*tls.Config, func(string) (*tls.Config, error)) {
	t.Helper()
	s := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(s.Close)
	return s.TLS.Clone(), clientTLS(s)
}

func newTransport(t *testing.T, tr *h1client.Transport) *h1client.Transport {
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func newRequest(t *testing.T, ctx context.Context, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// fetch sends req and reads the whole response.
func fetch(t *testing.T, tr *h1client.Transport, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp, string(body)
}

func mustGet(t *testing.T, tr *h1client.Transport, url string) string {
	t.Helper()
	resp, body := fetch(t, tr, newRequest(t, context.Background(), http.MethodGet, url, nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return body
}

type result struct {
	resp *http.Response
	err  error
}

func roundTripAsync(tr *h1client.Transport, req *http.Request) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := tr.RoundTrip(req)
		ch <- result{resp, err}
	}()
	return ch
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// closeRecorder is a request body that records its Close.
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (b *closeRecorder) Close() error {
	b.closed.Store(true)
	return nil
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
