package h1client_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/testtool"
)

func TestKeepAlive(t *testing.T) {
	for _, secure := range []bool{false, true} {
		name := "http"
		if secure {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			srv := newCountingServer(t, secure, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if (r.TLS != nil) != secure || r.ProtoMajor != 1 {
					t.Errorf("server got TLS %v, protocol %s", r.TLS != nil, r.Proto)
				}
				io.WriteString(w, "path "+r.URL.Path)
			}))
			tr := &h1client.Transport{}
			var hosts []string
			if secure {
				trust := clientTLS(srv.Server)
				tr.TLSConfig = func(host string) (*tls.Config, error) {
					hosts = append(hosts, host)
					return trust(host)
				}
			}
			newTransport(t, tr)
			for _, p := range []string{"/a", "/b"} {
				if got := mustGet(t, tr, srv.URL+p); got != "path "+p {
					t.Errorf("GET %s = %q", p, got)
				}
			}
			if n := srv.conns.Load(); n != 1 {
				t.Errorf("two sequential GETs used %d connections, want 1", n)
			}
			if secure && (len(hosts) != 1 || hosts[0] != strings.TrimPrefix(srv.URL, "https://")) {
				t.Errorf("TLSConfig called with %q, want once with the URL's host:port", hosts)
			}
		})
	}
}

// Many sequential requests share one connection. The server answers as
// soon as it has read a request, so the response is often read to its end
// before the client's writer has reported that the request went out.
func TestKeepAliveMany(t *testing.T) {
	srv := newRawServer(t, nil, func(n int, c net.Conn) { serveOK(c) })
	tr := newTransport(t, &h1client.Transport{})
	for range 300 {
		if got := mustGet(t, tr, "http://"+srv.addr+"/"); got != "ok" {
			t.Fatalf("GET = %q", got)
		}
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("300 sequential GETs used %d connections, want 1", n)
	}
}

// A connection is given back to the pool only when its response was read
// to the end and neither side asked to close it. The server here keeps
// every connection open, so only the client closing it ends the test.
func TestConnectionNotReused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		response string
		reqClose bool
		read     func(io.Reader) error
	}{
		{
			// Only half the body is sent, and all of it read: nothing
			// unread is left in the client's buffer.
			name:     "body closed before EOF",
			response: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234",
			read:     func(r io.Reader) error { _, err := io.ReadFull(r, make([]byte, 5)); return err },
		},
		{
			name:     "response says Connection: close",
			response: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
			read:     func(r io.Reader) error { _, err := io.ReadAll(r); return err },
		},
		{
			name:     "request has Close",
			response: okResponse,
			reqClose: true,
			read:     func(r io.Reader) error { _, err := io.ReadAll(r); return err },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dropped := make(chan struct{})
			srv := newRawServer(t, nil, func(n int, c net.Conn) {
				if n > 0 {
					serveOK(c)
					return
				}
				br := bufio.NewReader(c)
				req, _, err := readRequest(br)
				if err != nil {
					t.Error(err)
					return
				}
				if req.Close != tc.reqClose {
					t.Errorf("server saw Close %v, want %v", req.Close, tc.reqClose)
				}
				io.WriteString(c, tc.response)
				io.Copy(io.Discard, br) // until the client closes its end
				close(dropped)
			})
			tr := newTransport(t, &h1client.Transport{})
			req := newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil)
			req.Close = tc.reqClose
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.read(resp.Body); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			testtool.Await(t, dropped, "the client to close the connection")
			if got := mustGet(t, tr, "http://"+srv.addr+"/"); got != "ok" {
				t.Errorf("next GET = %q", got)
			}
			if n := srv.accepted.Load(); n != 2 {
				t.Errorf("server accepted %d connections, want 2", n)
			}
		})
	}
}

func TestCloseIdleConnections(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tr := newTransport(t, &h1client.Transport{})
	mustGet(t, tr, srv.URL)
	tr.CloseIdleConnections()
	testtool.Await(t, srv.closed, "the idle connection to close")
	mustGet(t, tr, srv.URL)
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

func TestIdleTimeout(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tr := newTransport(t, &h1client.Transport{IdleTimeout: 20 * time.Millisecond})
	mustGet(t, tr, srv.URL)
	testtool.Await(t, srv.closed, "the client to close the idle connection")
	mustGet(t, tr, srv.URL)
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

func TestMaxIdlePerHost(t *testing.T) {
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	tr := newTransport(t, &h1client.Transport{MaxIdlePerHost: 1})
	results := []<-chan result{
		roundTripAsync(tr, newRequest(t, context.Background(), http.MethodGet, srv.URL, nil)),
		roundTripAsync(tr, newRequest(t, context.Background(), http.MethodGet, srv.URL, nil)),
	}
	testtool.Await(t, arrived, "the first request")
	testtool.Await(t, arrived, "the second request")
	close(release)
	for _, res := range results {
		r := testtool.Await(t, res, "a response")
		if r.err != nil {
			t.Fatal(r.err)
		}
		if _, err := io.ReadAll(r.resp.Body); err != nil {
			t.Fatal(err)
		}
		r.resp.Body.Close()
	}
	testtool.Await(t, srv.closed, "the connection beyond MaxIdlePerHost to close")
	mustGet(t, tr, srv.URL)
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2 (the third request reuses the one kept)", n)
	}
}

// A connection the server closes while it idles is dropped before it is
// used: the server waits for the client to close its end, and a request
// that could not be retried then succeeds on a new connection.
func TestServerClosedIdleConnection(t *testing.T) {
	dropped := make(chan struct{})
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if n > 0 {
			serveOK(c)
			return
		}
		br := bufio.NewReader(c)
		if _, _, err := readRequest(br); err != nil {
			t.Error(err)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok")
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br)
		close(dropped)
	})
	tr := newTransport(t, &h1client.Transport{})
	mustGet(t, tr, "http://"+srv.addr+"/")
	testtool.Await(t, dropped, "the client to drop the connection the server closed")
	// A POST whose body cannot be had again is never retried: it can
	// only succeed if it is sent on a new connection at once.
	body := io.NopCloser(strings.NewReader("payload"))
	resp, got := fetch(t, tr, newRequest(t, context.Background(), http.MethodPost, "http://"+srv.addr+"/", body))
	if resp.StatusCode != http.StatusOK || got != "ok" {
		t.Errorf("POST = %s %q", resp.Status, got)
	}
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

// The server takes a second request on a kept connection and closes it
// without an answer: only a request safe to send again, with a body that
// can be had again, is retried on a new connection.
func TestRetryOnReusedConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		body   func() io.Reader
		noGet  bool // hide GetBody
		retry  bool
	}{
		{name: "GET", method: http.MethodGet, retry: true},
		{name: "GET with GetBody", method: http.MethodGet, body: func() io.Reader { return strings.NewReader("query") }, retry: true},
		{name: "GET body without GetBody", method: http.MethodGet, body: func() io.Reader { return strings.NewReader("query") }, noGet: true},
		{name: "POST without GetBody", method: http.MethodPost, body: func() io.Reader { return strings.NewReader("payload") }, noGet: true},
		{name: "POST with GetBody", method: http.MethodPost, body: func() io.Reader { return strings.NewReader("payload") }},
		{name: "PUT", method: http.MethodPut, body: func() io.Reader { return strings.NewReader("payload") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.method + " "
			if tc.body != nil {
				b, _ := io.ReadAll(tc.body())
				want += string(b)
			}
			lost := make(chan string, 1)
			retried := make(chan string, 1)
			srv := newRawServer(t, nil, func(n int, c net.Conn) {
				br := bufio.NewReader(c)
				switch n {
				case 0:
					if _, _, err := readRequest(br); err != nil {
						t.Error(err)
						return
					}
					io.WriteString(c, okResponse)
					req, body, err := readRequest(br)
					if err != nil {
						t.Error(err)
						return
					}
					lost <- req.Method + " " + body
				case 1:
					req, body, err := readRequest(br)
					if err != nil {
						t.Error(err)
						return
					}
					retried <- req.Method + " " + body
					io.WriteString(c, okResponse)
				}
			})
			tr := newTransport(t, &h1client.Transport{})
			mustGet(t, tr, "http://"+srv.addr+"/")

			var body io.Reader
			if tc.body != nil {
				body = tc.body()
			}
			req := newRequest(t, context.Background(), tc.method, "http://"+srv.addr+"/", body)
			if tc.noGet {
				req.Body, req.GetBody = io.NopCloser(body), nil
			}
			resp, err := tr.RoundTrip(req)
			if got := testtool.Await(t, lost, "the request on the old connection"); got != want {
				t.Errorf("old connection got %q, want %q", got, want)
			}
			if !tc.retry {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("RoundTrip succeeded: the request was sent again")
				}
				if n := srv.accepted.Load(); n != 1 {
					t.Errorf("server accepted %d connections, want 1", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(b) != "ok" {
				t.Errorf("body %q, %v", b, err)
			}
			if got := testtool.Await(t, retried, "the retried request"); got != want {
				t.Errorf("new connection got %q, want %q", got, want)
			}
		})
	}
}

func TestUnsolicitedBytes(t *testing.T) {
	t.Run("with the response", func(t *testing.T) {
		srv := newRawServer(t, nil, func(n int, c net.Conn) {
			if n > 0 {
				serveOK(c)
				return
			}
			br := bufio.NewReader(c)
			if _, _, err := readRequest(br); err != nil {
				t.Error(err)
				return
			}
			io.WriteString(c, okResponse+"garbage")
			io.Copy(io.Discard, br)
		})
		tr := newTransport(t, &h1client.Transport{})
		for range 2 {
			if got := mustGet(t, tr, "http://"+srv.addr+"/"); got != "ok" {
				t.Errorf("GET = %q", got)
			}
		}
		if n := srv.accepted.Load(); n != 2 {
			t.Errorf("server accepted %d connections, want 2", n)
		}
	})
	t.Run("while idle", func(t *testing.T) {
		idle := make(chan struct{})
		dropped := make(chan struct{})
		srv := newRawServer(t, nil, func(n int, c net.Conn) {
			if n > 0 {
				serveOK(c)
				return
			}
			br := bufio.NewReader(c)
			if _, _, err := readRequest(br); err != nil {
				t.Error(err)
				return
			}
			io.WriteString(c, okResponse)
			<-idle
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ngarbage")
			io.Copy(io.Discard, br)
			close(dropped)
		})
		tr := newTransport(t, &h1client.Transport{})
		mustGet(t, tr, "http://"+srv.addr+"/")
		close(idle)
		testtool.Await(t, dropped, "the client to drop the connection")
		if got := mustGet(t, tr, "http://"+srv.addr+"/"); got != "ok" {
			t.Errorf("GET = %q", got)
		}
		if n := srv.accepted.Load(); n != 2 {
			t.Errorf("server accepted %d connections, want 2", n)
		}
	})
}

func TestConcurrentRequests(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	tr := newTransport(t, &h1client.Transport{})
	const workers = 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				p := "/" + string(rune('a'+w)) + string(rune('a'+i))
				req, err := http.NewRequest(http.MethodGet, srv.URL+p, nil)
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != p {
					t.Errorf("GET %s = %q, %v", p, b, err)
				}
			}
		}()
	}
	wg.Wait()
	if n := srv.conns.Load(); n > workers {
		t.Errorf("%d workers used %d connections", workers, n)
	}
}

// hookConn calls onDeadline before each SetReadDeadline.
type hookConn struct {
	net.Conn
	onDeadline func(time.Time)
}

func (c *hookConn) SetReadDeadline(d time.Time) error {
	c.onDeadline(d)
	return c.Conn.SetReadDeadline(d)
}

// A request that takes a connection the moment it is given back to the
// pool must not wait for the connection's idle timeout. The first
// connection starts a second request just as it is put in the pool (when
// its idle deadline is set) and lets the pool go on once that request has
// either taken the connection (woken it with a deadline in the past) or
// dialed a new one.
func TestRequestRacingReturnToPool(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	var (
		tr        *h1client.Transport
		dials     atomic.Int32
		dialed    = make(chan struct{})
		dialOnce  sync.Once
		woken     = make(chan struct{})
		wokenOnce sync.Once
		armed     atomic.Bool
		second    = make(chan error, 1)
	)
	armed.Store(true)
	onDeadline := func(d time.Time) {
		switch {
		case d.IsZero():
		case d.Before(time.Now()):
			wokenOnce.Do(func() { close(woken) })
		case armed.CompareAndSwap(true, false):
			go func() {
				req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
				if err != nil {
					second <- err
					return
				}
				resp, err := tr.RoundTrip(req)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				second <- err
			}()
			select {
			case <-woken:
			case <-dialed:
			case <-time.After(5 * time.Second):
				t.Error("the second request neither took the connection nor dialed")
			}
		}
	}
	tr = newTransport(t, &h1client.Transport{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if dials.Add(1) > 1 {
			dialOnce.Do(func() { close(dialed) })
			return nc, nil
		}
		return &hookConn{Conn: nc, onDeadline: onDeadline}, nil
	}})
	mustGet(t, tr, srv.URL)
	if err := testtool.Await(t, second, "the second request"); err != nil {
		t.Errorf("second request: %v", err)
	}
}
