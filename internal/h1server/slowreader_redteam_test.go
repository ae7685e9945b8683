package h1server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// RT-S2. Every wait of the server on a client is bounded but one: a
// response the client does not read. A client that asks for a large blob
// and never reads (or reads a byte a minute) keeps the handler blocked in
// Write for ever, with its goroutine, its socket and the blob's open
// file; a few thousand such connections exhaust the process's files. The
// body a client sends has BodyReadTimeout; the body it is sent should
// have the same bound (net/http's WriteTimeout is the whole response;
// an idle bound per write suits skiff's long blob downloads better).
func TestRedteamClientThatNeverReads(t *testing.T) {
	t.Skip("redteam: RT-S2 — fails today, see report")
	const bound = 200 * time.Millisecond
	wrote := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ReadHeaderTimeout: bound, IdleTimeout: bound, BodyReadTimeout: bound,
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
