package h1server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// RT-S2. Every wait of the server on a client is bounded but one: a
// response the client does not read. A client that asks for a large blob
// and never reads (or reads a byte a minute) keeps the handler blocked in
// Write for ever, with its goroutine, its socket and the blob's open
// file; a few thousand such connections exhaust the process's files. The
// body a client sends has BodyReadTimeout; the body it is sent has the
// same bound, BodyWriteTimeout (net/http's WriteTimeout is the whole
// response; an idle bound per write suits skiff's long blob downloads
// better).
func TestRedteamClientThatNeverReads(t *testing.T) {
	const bound = 200 * time.Millisecond
	wrote := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ReadHeaderTimeout: bound, IdleTimeout: bound, BodyReadTimeout: bound, BodyWriteTimeout: bound,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 64<<10)
			for range 1024 { // 64 MiB, more than any socket buffers
				if _, err := w.Write(chunk); err != nil {
					wrote <- err
					return
				}
			}
			wrote <- nil
		})}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /blob HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil { // the header, then nothing more is read
		t.Fatal(err)
	}
	select {
	case err := <-wrote:
		if err == nil {
			t.Fatal("the handler wrote 64 MiB to a client that read none of it")
		}
	case <-time.After(50 * bound):
		t.Fatalf("the handler is still blocked writing to a client that reads nothing, %v after it stopped", 50*bound)
	}
}

// BodyWriteTimeout bounds each wait for the client to take a byte, not the
// whole response: a client that reads steadily, if slowly, gets the whole
// of a response that takes many times the bound to send.
func TestBodyWriteTimeoutLetsASlowReaderFinish(t *testing.T) {
	const bound, size = 200 * time.Millisecond, 32 << 20 // more than loopback's socket buffers
	wrote := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ReadHeaderTimeout: bound, BodyWriteTimeout: bound,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
			_, err := w.Write(make([]byte, size))
			wrote <- err
		})}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /blob HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The client takes 1 MiB every 20 ms: what the socket buffers do not
	// hold takes several times the bound to send (in one Write of the
	// handler), and no wait for the client comes near it.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	n, buf := 0, make([]byte, 1<<20)
	for n < size {
		<-tick.C
		m, err := io.ReadFull(resp.Body, buf[:min(len(buf), size-n)])
		n += m
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the handler's write to a slow but steady client failed: %v", err)
	}
}
