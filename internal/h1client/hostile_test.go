package h1client_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/testtool"
)

// countingDial dials as net.Dialer does and counts every byte the client
// reads from its connections: what a hostile server made it take in.
type countingDial struct{ read atomic.Int64 }

func (d *countingDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := new(net.Dialer).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &testtool.ReadCounter{Conn: c, N: &d.read}, nil
}

// sendForever writes prefix, then unit again and again, until the client
// closes the connection; it reports the write error that ended it.
func sendForever(c net.Conn, prefix, unit string) error {
	if _, err := io.WriteString(c, prefix); err != nil {
		return err
	}
	chunk := []byte(strings.Repeat(unit, max(1, (32<<10)/len(unit))))
	for {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
	}
}

// hostileServer answers one request with prefix and then unit without
// end; the channel receives the error that ended the writes, which comes
// only once the client has closed the connection.
func hostileServer(t *testing.T, prefix, unit string) (*rawServer, <-chan error) {
	ended := make(chan error, 1)
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
			t.Error(err)
			return
		}
		ended <- sendForever(c, prefix, unit)
	})
	return srv, ended
}

const chunkedHeader = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

// Endless headers, 1xx responses, chunk-size lines and trailers each end
// with a *LimitError naming the host, the part and its bound, after the
// client read no more than that bound (and its read buffer) from the
// socket; the connection is closed, which ends the server's writes.
func TestHostileEndlessResponses(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name, prefix, unit string
		maxHeader          int64 // MaxResponseHeaderBytes; 0 for the default
		what               string
		limit              int64
		body               bool // the limit is hit reading the body
	}{
		{"endless header line", "HTTP/1.1 200 OK\r\nX-Big: ", "A", 0, "response header", mib, false},
		{"endless header lines", "HTTP/1.1 200 OK\r\n", "X-Many: v\r\n", 0, "response header", mib, false},
		{"endless status line", "HTTP/1.1 200 ", "O", 0, "response header", mib, false},
		{"endless 1xx responses", "", "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n", 0, "response header", mib, false},
		{"smaller configured bound", "HTTP/1.1 200 OK\r\n", "X-Many: v\r\n", 8 << 10, "response header", 8 << 10, false},
		{"endless chunk-size line", chunkedHeader, "1", 0, "chunk-size line", 4096, true},
		{"endless chunk extension", chunkedHeader + "1;ext=", "a", 0, "chunk-size line", 4096, true},
		{"chunk extensions outgrowing the data", chunkedHeader, "1;" + strings.Repeat("e", 4000) + "\r\nx\r\n", 0, "chunked encoding overhead", 16 << 10, true},
		{"endless trailer", chunkedHeader + "1\r\nx\r\n0\r\nX-Trailer: ", "A", 0, "trailer", 64 << 10, true},
		{"endless trailers", chunkedHeader + "1\r\nx\r\n0\r\n", "X-Trailer: v\r\n", 0, "trailer", 64 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, ended := hostileServer(t, tc.prefix, tc.unit)
			d := &countingDial{}
			tr := newTransport(t, &h1client.Transport{Dial: d.dial, MaxResponseHeaderBytes: tc.maxHeader})
			resp, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil))
			if err == nil {
				if !tc.body {
					resp.Body.Close()
					t.Fatalf("RoundTrip succeeded: %s", resp.Status)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			} else if tc.body {
				t.Fatalf("RoundTrip: %v, want the header to pass", err)
			}
			var le *h1client.LimitError
			if !errors.As(err, &le) || le.What != tc.what || le.Limit != tc.limit || le.Host != srv.addr {
				t.Fatalf("err = %v, want a *LimitError for the %s of %s at %d bytes", err, tc.what, srv.addr, tc.limit)
			}
			if !strings.Contains(err.Error(), srv.addr) || !strings.Contains(err.Error(), tc.what) {
				t.Errorf("error %q does not name the host and what was too large", err)
			}
			bound := int64(h1client.DefaultMaxResponseHeaderBytes)
			if tc.maxHeader > 0 {
				bound = tc.maxHeader
			}
			if tc.body {
				bound += 2 * 64 << 10 // the read buffer, full of what the chunked reader looked at
			}
			if got := d.read.Load(); got > bound {
				t.Errorf("the client read %d bytes from the socket, more than %d", got, bound)
			}
			testtool.Await(t, ended, "the client to close the connection")
		})
	}
}

// A header of nearly the whole bound, with a 1xx response before it,
// still passes: the bound is the sum, and not tighter.
func TestHeaderJustUnderTheBound(t *testing.T) {
	early := "HTTP/1.1 100 Continue\r\n\r\n"
	final := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: "
	pad := h1client.DefaultMaxResponseHeaderBytes - len(early) - len(final) - len("\r\n\r\n")
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, early+final+strings.Repeat("p", pad)+"\r\n\r\nok")
	})
	tr := newTransport(t, &h1client.Transport{})
	if got := mustGet(t, tr, "http://"+srv.addr+"/"); got != "ok" {
		t.Errorf("body = %q", got)
	}
}

// A redirect whose body never ends is followed all the same: Do reads
// 2 KiB of it, then closes its connection.
func TestEndlessRedirectBody(t *testing.T) {
	ended := make(chan error, 1)
	var srv *rawServer
	srv = newRawServer(t, nil, func(n int, c net.Conn) {
		if n > 0 {
			serveOK(c)
			return
		}
		if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		ended <- sendForever(c, "HTTP/1.1 302 Found\r\nLocation: /next\r\n\r\n", "z")
	})
	d := &countingDial{}
	tr := newTransport(t, &h1client.Transport{Dial: d.dial})
	resp, err := h1client.Do(tr.RoundTrip, newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "ok" {
		t.Fatalf("got %q, %v", body, err)
	}
	testtool.Await(t, ended, "the client to close the redirect's connection")
	if got := d.read.Load(); got > 2*64<<10 {
		t.Errorf("the client read %d bytes, more than twice its read buffer", got)
	}
}

// A proxy whose answer to CONNECT never ends gets a *LimitError naming
// the proxy.
func TestProxyEndlessConnectResponse(t *testing.T) {
	ended := make(chan error, 1)
	proxy := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		ended <- sendForever(c, "HTTP/1.1 200 Connection established\r\nX-Big: ", "A")
	})
	proxyURL := &url.URL{Scheme: "http", Host: proxy.addr}
	tr := newTransport(t, &h1client.Transport{Proxy: http.ProxyURL(proxyURL), MaxResponseHeaderBytes: 16 << 10})
	_, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, "https://origin.test/", nil))
	var le *h1client.LimitError
	if !errors.As(err, &le) || le.Host != proxy.addr || le.Limit != 16<<10 {
		t.Fatalf("err = %v, want a *LimitError naming the proxy %s", err, proxy.addr)
	}
	testtool.Await(t, ended, "the client to close the proxy connection")
}

// A body that sends nothing for BodyReadTimeout fails its Read with a
// *TimeoutError naming the host, and the connection is closed; the bytes
// before the stall were delivered.
func TestBodyReadTimeout(t *testing.T) {
	const wait = 30 * time.Millisecond
	for _, tc := range []struct {
		name, response string
		before         string
	}{
		{"after the header", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", ""},
		{"mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", "hello"},
		{"mid-chunk", chunkedHeader + "a\r\nhello", "hello"},
		{"before the trailer", chunkedHeader + "5\r\nhello\r\n", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			closed := make(chan struct{})
			srv := newRawServer(t, nil, func(n int, c net.Conn) {
				br := bufio.NewReader(c)
				if _, _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, tc.response)
				if _, err := br.ReadByte(); err != nil { // the client hangs up
					close(closed)
				}
				<-ctx.Done()
			})
			tr := newTransport(t, &h1client.Transport{BodyReadTimeout: wait})
			resp, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			var te *h1client.TimeoutError
			if !errors.As(err, &te) || te.What != h1client.WaitBody || te.Host != srv.addr || te.Wait != wait || !isTimeout(err) {
				t.Fatalf("err = %v, want a *TimeoutError for the body of %s", err, srv.addr)
			}
			if string(got) != tc.before {
				t.Errorf("read %q before the stall, want %q", got, tc.before)
			}
			testtool.Await(t, closed, "the client to close the connection")
		})
	}
}

// BodyReadTimeout does not outlive its response: a connection back in
// the pool idles without it, and the next request on it is served.
func TestBodyReadTimeoutEndsWithTheBody(t *testing.T) {
	srv := newRawServer(t, nil, func(n int, c net.Conn) { serveOK(c) })
	tr := newTransport(t, &h1client.Transport{BodyReadTimeout: time.Millisecond, IdleTimeout: time.Hour})
	mustGet(t, tr, "http://"+srv.addr+"/")
	// The pooled connection idles past the body bound; a test cannot see
	// an absence without waiting, and this is the bound's own timescale.
	<-time.After(20 * time.Millisecond)
	mustGet(t, tr, "http://"+srv.addr+"/")
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1: the idle one was dropped", n)
	}
}

// Cancelling a request during a body read still wins over the body's
// read deadline: the error is the context's, at once.
func TestCancelBodyReadWithBodyTimeout(t *testing.T) {
	ctx := t.Context()
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
		<-ctx.Done()
	})
	tr := newTransport(t, &h1client.Transport{BodyReadTimeout: time.Hour})
	rctx, cancel := context.WithCancel(context.Background())
	resp, err := tr.RoundTrip(newRequest(t, rctx, http.MethodGet, "http://"+srv.addr+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(buf)
		done <- err
	}()
	cancel()
	if err := testtool.Await(t, done, "the cancelled Read"); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel = %v, want context.Canceled", err)
	}
}

// A server that accepts the connection and never starts TLS fails the
// handshake after TLSHandshakeTimeout, with a *TimeoutError naming it.
func TestTLSHandshakeTimeout(t *testing.T) {
	ctx := t.Context()
	srv := newRawServer(t, nil, func(n int, c net.Conn) { <-ctx.Done() })
	const wait = 30 * time.Millisecond
	tr := newTransport(t, &h1client.Transport{TLSHandshakeTimeout: wait})
	r := testtool.Await(t, roundTripAsync(tr, newRequest(t, context.Background(), http.MethodGet, "https://"+srv.addr+"/", nil)), "the handshake to time out")
	var te *h1client.TimeoutError
	if !errors.As(r.err, &te) || te.What != h1client.WaitHandshake || te.Host != srv.addr || te.Wait != wait {
		t.Fatalf("err = %v, want a *TimeoutError for the TLS handshake with %s", r.err, srv.addr)
	}
}

// A server that reads a request's header and then takes nothing of its
// body fails the request after BodyWriteTimeout, with a *TimeoutError
// naming it, instead of a write blocked for ever.
func TestBodyWriteTimeout(t *testing.T) {
	ctx := t.Context()
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		<-ctx.Done() // reads nothing more
	})
	const wait = 30 * time.Millisecond
	tr := newTransport(t, &h1client.Transport{BodyWriteTimeout: wait, ResponseHeaderTimeout: time.Hour})
	req := newRequest(t, context.Background(), http.MethodPut, "http://"+srv.addr+"/", io.LimitReader(zeros{}, 1<<30))
	req.ContentLength = 1 << 30
	r := testtool.Await(t, roundTripAsync(tr, req), "the stalled upload to fail")
	var te *h1client.TimeoutError
	if !errors.As(r.err, &te) || te.What != h1client.WaitWrite || te.Host != srv.addr || te.Wait != wait {
		t.Fatalf("err = %v, want a *TimeoutError for the request to %s", r.err, srv.addr)
	}
	if want := srv.addr + " took nothing of the request for 30ms"; !strings.Contains(r.err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", r.err, want)
	}
}
