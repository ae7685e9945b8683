package h1server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
)

// startTLS serves h over TLS on loopback and returns the address and the
// client's settings.
func startTLS(t *testing.T, h http.Handler) (string, *tls.Config) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS() // for its certificate
	cfg := ts.TLS.Clone()
	ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- s.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() { s.Close(); <-done })
	return ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}
}

// A request's context ends when its client goes away, once the request
// (and its body, if it has one) has been read: a handler streaming to a
// client that hung up stops, as with net/http's server.
func TestContextEndsWhenClientGoes(t *testing.T) {
	for _, tc := range []struct {
		name, request string
		secure        bool
	}{
		{"GET", "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"PUT with its body read", "PUT /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", false},
		{"chunked PUT with its body read", "PUT /wait HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"GET over TLS", "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered, cancelled := make(chan string, 1), make(chan error, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				entered <- string(b)
				select {
				case <-r.Context().Done():
					cancelled <- r.Context().Err()
				case <-time.After(10 * time.Second):
					cancelled <- errors.New("not cancelled")
				}
			})
			var nc net.Conn
			var err error
			if tc.secure {
				addr, cfg := startTLS(t, h)
				nc, err = tls.Dial("tcp", addr, cfg)
			} else {
				_, url, _ := start(t, h)
				nc, err = net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			}
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(nc, tc.request)
			testtool.Await(t, entered, "the handler")
			nc.Close()
			if err := testtool.Await(t, cancelled, "the handler to see its context end"); err == nil || err.Error() == "not cancelled" {
				t.Fatalf("the request's context: %v", err)
			}
		})
	}
}

// Requests sent back to back on one connection are each served whole:
// the watch for a client going away keeps what it reads of the next one,
// and does not take it for the client leaving.
func TestPipelinedRequests(t *testing.T) {
	_, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Context().Err() != nil {
			http.Error(w, "cancelled", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, r.URL.Path+":"+string(b))
	}))
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"PUT /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"+
		"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(nc)
	for _, want := range []string{"/1:", "/2:abc", "/3:"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != want {
			t.Errorf("got %s %q, want %q", resp.Status, b, want)
		}
	}
}

// "100 Continue" goes out when the handler first reads the body, as
// net/http sends it: a handler that answers without reading never asks
// the client for its body, and the connection then closes.
func TestExpectContinueOnFirstRead(t *testing.T) {
	_, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/refuse":
			w.WriteHeader(http.StatusUnauthorized)
		case "/late":
			w.WriteHeader(http.StatusAccepted)
			w.(http.Flusher).Flush()
			_, err := r.Body.Read(make([]byte, 1))
			if !errors.Is(err, errContinueNotSent) {
				panic("a read after the answer: " + err.Error())
			}
		default:
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
		}
	}))
	addr := strings.TrimPrefix(url, "http://")
	send := func(path string) (net.Conn, *bufio.Reader) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		io.WriteString(nc, "PUT "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		return nc, bufio.NewReader(nc)
	}
	for _, tc := range []struct {
		path   string
		status int
		closed bool // says Connection: close (the header was not sent yet)
	}{{"/refuse", http.StatusUnauthorized, true}, {"/late", http.StatusAccepted, false}} {
		_, br := send(tc.path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != tc.status || resp.Close != tc.closed {
			t.Fatalf("%s: %v %v; want %d with no 100 before it, Connection: close %v", tc.path, resp, err, tc.status, tc.closed)
		}
		io.Copy(io.Discard, resp.Body)
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after the answer: %v, want the connection closed", tc.path, err)
		}
	}
	nc, br := send("/echo")
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v; want 100 Continue", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	io.WriteString(nc, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "hello" {
		t.Fatalf("got %s %q", resp.Status, b)
	}
}

// An expectation the server cannot meet gets 417, as from net/http.
func TestExpectationFailed(t *testing.T) {
	called := make(chan struct{}, 1)
	_, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called <- struct{}{} }))
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\nx")
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusExpectationFailed {
		t.Fatalf("got %v, %v; want 417", resp, err)
	}
	if len(called) != 0 {
		t.Error("the handler was called")
	}
}

// readCountingListener counts what the server reads from its connections.
type readCountingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *readCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &testtool.ReadCounter{Conn: c, N: &l.n}, nil
}

// A client that sends a request line, header lines, a chunk-size line or
// trailers without end is refused after the server read a bounded amount:
// 431 for the header (MaxHeaderBytes), an error from the body's Read for
// the chunked parts (net/http's bounds over a 4 KiB read buffer).
func TestHostileRequests(t *testing.T) {
	const maxHeader = 8 << 10
	for _, tc := range []struct {
		name, prefix, unit string
		status             int // the answer to a header that never ends; 0 for a body
	}{
		{"endless request line", "GET /", "a", http.StatusRequestHeaderFieldsTooLarge},
		{"endless header line", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", "a", http.StatusRequestHeaderFieldsTooLarge},
		{"endless header lines", "GET / HTTP/1.1\r\nHost: x\r\n", "X-Many: v\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"endless chunk-size line", "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "1", 0},
		{"endless trailers", "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n", "X-T: v\r\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bodyErr := make(chan error, 1)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cl := &readCountingListener{Listener: ln}
			s := &Server{MaxHeaderBytes: maxHeader, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				bodyErr <- err
				w.WriteHeader(http.StatusBadRequest)
			})}
			done := make(chan error, 1)
			go func() { done <- s.Serve(cl) }()
			t.Cleanup(func() { s.Close(); <-done })
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			go func() {
				io.WriteString(nc, tc.prefix)
				chunk := []byte(strings.Repeat(tc.unit, (16<<10)/len(tc.unit)))
				for {
					if _, err := nc.Write(chunk); err != nil {
						return
					}
				}
			}()
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if tc.status != 0 && (err != nil || resp.StatusCode != tc.status) {
				t.Fatalf("got %v, %v; want %d", resp, err, tc.status)
			}
			if tc.status == 0 {
				if err := testtool.Await(t, bodyErr, "the handler's read"); err == nil {
					t.Fatal("the handler read the whole body")
				}
			}
			if n := cl.n.Load(); n > maxHeader+64<<10 {
				t.Errorf("the server read %d bytes", n)
			}
		})
	}
}

// A plain-HTTP request to a TLS server gets 400 saying to use https, as
// net/http's server answers it, not a closed connection; a client that
// sends something else than HTTP gets nothing.
func TestPlainHTTPToTLSServer(t *testing.T) {
	addr, _ := startTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range []struct{ send, want string }{
		{"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.0 400 Bad Request"},
		{"\x00\x01\x02\x03\x04\x05", ""},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.send)
		got, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(got), tc.want) || tc.want != "" && !strings.Contains(string(got), "use https://") || tc.want == "" && len(got) > 0 && strings.HasPrefix(string(got), "HTTP/") {
			t.Errorf("sent %q, got %q; want %q and a hint to use https", tc.send, got, tc.want)
		}
	}
}
