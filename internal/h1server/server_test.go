package h1server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// start serves h on loopback and returns the server, its base URL and
// the listener; the server is closed when the test ends.
func start(t *testing.T, h http.Handler) (*Server, string, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	s := &Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 8 << 10}
	done := make(chan error, 1)
	go func() { done <- s.Serve(cl) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return s, "http://" + ln.Addr().String(), cl
}

func get(t *testing.T, c *http.Client, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, b
}

func TestBodiesAndKeepAlive(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB: chunked
	_, url, ln := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello")
		case "/big":
			w.Write(big[:1000])
			w.Write(big[1000:])
		case "/sized":
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "abc")
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusCreated)
			w.Write(b)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	c := &http.Client{Transport: &http.Transport{}}
	resp, b := get(t, c, "GET", url+"/small", nil)
	if string(b) != "hello" || resp.ContentLength != 5 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("/small: %q, length %d, %v", b, resp.ContentLength, resp.Header)
	}
	resp, b = get(t, c, "GET", url+"/big", nil)
	if !bytes.Equal(b, big) || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 {
		t.Fatalf("/big: %d bytes, length %d, encoding %v", len(b), resp.ContentLength, resp.TransferEncoding)
	}
	resp, b = get(t, c, "HEAD", url+"/sized", nil)
	if len(b) != 0 || resp.ContentLength != 3 {
		t.Fatalf("HEAD /sized: %q, length %d", b, resp.ContentLength)
	}
	resp, b = get(t, c, "PUT", url+"/echo", io.MultiReader(bytes.NewReader(big))) // unknown length: chunked request
	if resp.StatusCode != http.StatusCreated || !bytes.Equal(b, big) {
		t.Fatalf("/echo: %s, %d bytes", resp.Status, len(b))
	}
	resp, _ = get(t, c, "GET", url+"/empty", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("/empty: %s", resp.Status)
	}
	if n := ln.n.Load(); n != 1 {
		t.Fatalf("%d connections for 5 sequential requests, want 1 (keep-alive)", n)
	}
}

func TestExpectContinue(t *testing.T) {
	_, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	c := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	req, _ := http.NewRequest("PUT", url, strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "payload" || time.Since(start) > 30*time.Second {
		t.Fatalf("got %q after %v", b, time.Since(start))
	}
}

// An aborted handler cuts its response short: the client's read fails.
func TestAbortCutsTheResponse(t *testing.T) {
	_, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(make([]byte, 5000))
		panic(http.ErrAbortHandler)
	}))
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if n, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Fatalf("read %d bytes of 100000 without an error", n)
	}
}

func TestBadRequests(t *testing.T) {
	_, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	addr := strings.TrimPrefix(url, "http://")
	for _, tt := range []struct{ raw, want string }{
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 10<<10) + "\r\n\r\n", "431"},
		{"NOT HTTP\r\n\r\n", "400"},
		{"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "400"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, tt.raw)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.Contains(line, tt.want) {
			t.Errorf("%.40q: answered %q, want %s", tt.raw, line, tt.want)
		}
	}
}

// Shutdown lets a response in flight finish, then Serve returns.
func TestShutdownWaitsForResponses(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	s, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}))
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a response in flight", err)
	default:
	}
	close(release)
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if b := <-got; b != "finished" {
		t.Fatalf("the response in flight got %q", b)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("a request after Shutdown was served")
	}
}

func TestShutdownDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{})
	s, url, _ := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	go http.Get(url)
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a busy connection and an ended context: %v", err)
	}
}

// A body that stops arriving fails the handler's Read after
// BodyReadTimeout, with what came before it delivered, and the
// connection is closed rather than reused mid-body.
func TestBodyReadTimeout(t *testing.T) {
	got := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			got <- string(b)
		} else {
			got <- "no timeout: " + string(b)
		}
		w.WriteHeader(http.StatusBadRequest)
	})
	s, base, _ := start(t, h)
	s.BodyReadTimeout = 50 * time.Millisecond
	nc, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "PATCH /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	if b := <-got; b != "abc" {
		t.Fatalf("the handler read %q", b)
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("answer %v %v; want 400", resp, err)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the answer: %v; want the connection closed", err)
	}
}

// TestShutdownClosesUnusedConnections: a connection a client opened and
// never sent a request on (Go's transport opens spare ones) does not hold
// Shutdown up: it waits only for requests.
func TestShutdownClosesUnusedConnections(t *testing.T) {
	s, url, cl := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	resp, err := http.Get(url) // the server has accepted the spare one too
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := cl.n.Load(); n < 2 {
		t.Fatalf("%d connections accepted", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an unused connection: %v", err)
	}
}
