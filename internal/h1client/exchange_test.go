package h1client_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/testtool"
)

// The server answers 413 after the header of an upload, reading none of
// its body and keeping the connection open: the caller gets the 413, and
// the connection, with the upload unfinished, is not used again.
func TestEarlyResponse(t *testing.T) {
	serverTLS, trust := testCert(t)
	for _, tc := range []struct {
		name     string
		secure   bool
		response string
		want     string
	}{
		{"http", false, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 9\r\n\r\ntoo large", "too large"},
		{"http empty body", false, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\n\r\n", ""},
		{"https", true, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 9\r\n\r\ntoo large", "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			var cfg *tls.Config
			scheme := "http"
			if tc.secure {
				cfg, scheme = serverTLS, "https"
			}
			srv := newRawServer(t, cfg, func(n int, c net.Conn) {
				if n > 0 {
					serveOK(c)
					return
				}
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					t.Error(err)
					return
				}
				io.WriteString(c, tc.response)
				<-ctx.Done()
			})
			tr := newTransport(t, &h1client.Transport{TLSConfig: trust})
			base := scheme + "://" + srv.addr
			req := newRequest(t, context.Background(), http.MethodPut, base+"/blob", io.LimitReader(zeros{}, 1<<30))
			req.ContentLength = 1 << 30
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || err != nil || string(body) != tc.want {
				t.Errorf("got %s %q, %v", resp.Status, body, err)
			}
			if got := mustGet(t, tr, base+"/"); got != "ok" {
				t.Errorf("next GET = %q", got)
			}
			if n := srv.accepted.Load(); n != 2 {
				t.Errorf("server accepted %d connections, want 2", n)
			}
		})
	}
}

// An early answer to an upload whose body has stalled is not held up by
// the body: the body is closed, which ends its Read.
func TestEarlyResponseStalledBody(t *testing.T) {
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			t.Error(err)
			return
		}
		io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope")
		io.Copy(io.Discard, c)
	})
	tr := newTransport(t, &h1client.Transport{})
	pr, pw := io.Pipe() // nothing is ever written: the body stalls
	defer pw.Close()
	req := newRequest(t, context.Background(), http.MethodPut, "http://"+srv.addr+"/blob", pr)
	done := make(chan string, 1)
	go func() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			done <- err.Error()
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			done <- err.Error()
			return
		}
		done <- resp.Status + " " + string(body)
	}()
	if got := testtool.Await(t, done, "the response"); got != "401 Unauthorized nope" {
		t.Errorf("got %q", got)
	}
	if _, err := pw.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("writing to the body after the response: %v, want io.ErrClosedPipe", err)
	}
}

// A server that closes the connection while the upload's body has stalled
// ends the exchange; the error is the server's, not the body's, though
// the body is closed to end its Read.
func TestServerClosesDuringStalledUpload(t *testing.T) {
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			t.Error(err)
		}
	})
	tr := newTransport(t, &h1client.Transport{})
	pr, pw := io.Pipe() // nothing is ever written: the body stalls
	defer pw.Close()
	req := newRequest(t, context.Background(), http.MethodPut, "http://"+srv.addr+"/blob", pr)
	r := testtool.Await(t, roundTripAsync(tr, req), "RoundTrip to end")
	if r.err == nil {
		r.resp.Body.Close()
		t.Fatal("RoundTrip succeeded")
	}
	if strings.Contains(r.err.Error(), "closed pipe") || !errors.Is(r.err, io.ErrUnexpectedEOF) && !errors.Is(r.err, io.EOF) {
		t.Errorf("err = %v, want the connection's end, not the body's", r.err)
	}
	if _, err := pw.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("writing to the body after RoundTrip: %v, want io.ErrClosedPipe", err)
	}
}

func TestSkipsInformationalResponses(t *testing.T) {
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
			t.Error(err)
			return
		}
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n")
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	})
	tr := newTransport(t, &h1client.Transport{})
	resp, body := fetch(t, tr, newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil))
	if resp.StatusCode != http.StatusOK || body != "hello" {
		t.Errorf("got %s %q, want 200 OK \"hello\"", resp.Status, body)
	}
	if l := resp.Header.Get("Link"); l != "" {
		t.Errorf("final response has the 103's Link %q", l)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	t.Run("no header", func(t *testing.T) {
		ctx := t.Context()
		srv := newRawServer(t, nil, func(n int, c net.Conn) {
			if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
				t.Error(err)
			}
			<-ctx.Done()
		})
		tr := newTransport(t, &h1client.Transport{ResponseHeaderTimeout: timeout})
		req := newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil)
		r := testtool.Await(t, roundTripAsync(tr, req), "RoundTrip to time out")
		if r.err == nil {
			r.resp.Body.Close()
			t.Fatal("RoundTrip succeeded")
		}
		var te *h1client.TimeoutError
		if !errors.As(r.err, &te) || te.What != h1client.WaitHeader || te.Host != srv.addr || te.Wait != timeout || !isTimeout(r.err) {
			t.Errorf("err = %v, want a *TimeoutError for the response header of %s", r.err, srv.addr)
		}
		if want := "no response header from " + srv.addr + " within 50ms"; !strings.Contains(r.err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", r.err, want)
		}
	})
	t.Run("slow body", func(t *testing.T) {
		srv := newRawServer(t, nil, func(n int, c net.Conn) {
			if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
				t.Error(err)
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
			// A delay, not synchronisation: the body comes after the
			// header timeout has passed, which must not cut it off.
			<-time.After(4 * timeout)
			io.WriteString(c, "body")
		})
		tr := newTransport(t, &h1client.Transport{ResponseHeaderTimeout: timeout})
		resp, body := fetch(t, tr, newRequest(t, context.Background(), http.MethodGet, "http://"+srv.addr+"/", nil))
		if resp.StatusCode != http.StatusOK || body != "body" {
			t.Errorf("got %s %q", resp.Status, body)
		}
	})
}

// TestQueryHeaderTimeout: a request without a body waits for its answer
// as long as QueryHeaderTimeout says, one with a body as long as
// ResponseHeaderTimeout says.
func TestQueryHeaderTimeout(t *testing.T) {
	const short = 50 * time.Millisecond
	for _, tc := range []struct {
		method string
		body   io.Reader
		query  time.Duration
		upload time.Duration
	}{
		{http.MethodGet, nil, short, time.Hour},
		{http.MethodHead, nil, short, time.Hour},
		{http.MethodPut, strings.NewReader("upload"), time.Hour, short},
	} {
		t.Run(tc.method, func(t *testing.T) {
			ctx := t.Context()
			srv := newRawServer(t, nil, func(n int, c net.Conn) {
				if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
					t.Error(err)
				}
				<-ctx.Done()
			})
			tr := newTransport(t, &h1client.Transport{QueryHeaderTimeout: tc.query, ResponseHeaderTimeout: tc.upload})
			req := newRequest(t, context.Background(), tc.method, "http://"+srv.addr+"/", tc.body)
			r := testtool.Await(t, roundTripAsync(tr, req), "RoundTrip to time out")
			if r.err == nil {
				r.resp.Body.Close()
				t.Fatal("RoundTrip succeeded")
			}
			var te *h1client.TimeoutError
			if !errors.As(r.err, &te) || te.What != h1client.WaitHeader || te.Wait != short {
				t.Errorf("err = %v, want a *TimeoutError after %v", r.err, short)
			}
		})
	}
}

func TestCancelBodyRead(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // until the client closes the connection
	}))
	tr := newTransport(t, &h1client.Transport{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := tr.RoundTrip(newRequest(t, ctx, http.MethodGet, srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}
	cancel()
	read := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(buf)
		read <- err
	}()
	if err := testtool.Await(t, read, "Read to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: %v, want context.Canceled", err)
	}
	testtool.Await(t, srv.closed, "the connection to close")
}

func TestCancelBeforeResponse(t *testing.T) {
	_, trust := testCert(t)
	t.Run("waiting for the response", func(t *testing.T) {
		ctx := t.Context()
		got := make(chan struct{})
		srv := newRawServer(t, nil, func(n int, c net.Conn) {
			if _, _, err := readRequest(bufio.NewReader(c)); err != nil {
				t.Error(err)
			}
			close(got)
			<-ctx.Done()
		})
		tr := newTransport(t, &h1client.Transport{})
		rctx, cancel := context.WithCancel(context.Background())
		res := roundTripAsync(tr, newRequest(t, rctx, http.MethodGet, "http://"+srv.addr+"/", nil))
		testtool.Await(t, got, "the request")
		cancel()
		if r := testtool.Await(t, res, "RoundTrip to end"); !errors.Is(r.err, context.Canceled) {
			t.Errorf("RoundTrip: %v, want context.Canceled", r.err)
		}
	})
	t.Run("dialing", func(t *testing.T) {
		dialing := make(chan struct{})
		tr := newTransport(t, &h1client.Transport{Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			close(dialing)
			<-ctx.Done()
			return nil, ctx.Err()
		}})
		rctx, cancel := context.WithCancel(context.Background())
		res := roundTripAsync(tr, newRequest(t, rctx, http.MethodGet, "http://127.0.0.1:1/", nil))
		testtool.Await(t, dialing, "the dial")
		cancel()
		if r := testtool.Await(t, res, "RoundTrip to end"); !errors.Is(r.err, context.Canceled) {
			t.Errorf("RoundTrip: %v, want context.Canceled", r.err)
		}
	})
	t.Run("TLS handshake", func(t *testing.T) {
		accepted := make(chan struct{})
		srv := newRawServer(t, nil, func(n int, c net.Conn) {
			close(accepted)
			io.Copy(io.Discard, c) // never answers the ClientHello
		})
		tr := newTransport(t, &h1client.Transport{TLSConfig: trust})
		rctx, cancel := context.WithCancel(context.Background())
		res := roundTripAsync(tr, newRequest(t, rctx, http.MethodGet, "https://"+srv.addr+"/", nil))
		testtool.Await(t, accepted, "the connection")
		cancel()
		if r := testtool.Await(t, res, "RoundTrip to end"); !errors.Is(r.err, context.Canceled) {
			t.Errorf("RoundTrip: %v, want context.Canceled", r.err)
		}
	})
	t.Run("body stalled", func(t *testing.T) {
		ctx := t.Context()
		got := make(chan struct{})
		srv := newRawServer(t, nil, func(n int, c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				t.Error(err)
			}
			close(got)
			<-ctx.Done()
		})
		tr := newTransport(t, &h1client.Transport{})
		pr, pw := io.Pipe() // nothing is ever written: the body stalls
		defer pw.Close()
		rctx, cancel := context.WithCancel(context.Background())
		res := roundTripAsync(tr, newRequest(t, rctx, http.MethodPut, "http://"+srv.addr+"/", pr))
		testtool.Await(t, got, "the request header")
		cancel()
		if r := testtool.Await(t, res, "RoundTrip to end"); !errors.Is(r.err, context.Canceled) {
			t.Errorf("RoundTrip: %v, want context.Canceled", r.err)
		}
	})
}

// A request body that fails, or is shorter than its ContentLength, ends
// the exchange: no answer can come to a request that was never finished.
// The body's own error is returned, as net/http returns it.
func TestRequestBodyError(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	errDisk := errors.New("disk on fire")
	for _, tc := range []struct {
		name string
		body io.Reader
		want string
		is   error
	}{
		{"read error", io.MultiReader(strings.NewReader("abc"), failingReader{errDisk}), errDisk.Error(), errDisk},
		{"short body", io.NopCloser(strings.NewReader("abc")), "ContentLength=10 with Body length 3", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, &h1client.Transport{})
			req := newRequest(t, context.Background(), http.MethodPut, srv.URL, tc.body)
			req.ContentLength = 10
			r := testtool.Await(t, roundTripAsync(tr, req), "RoundTrip to end")
			if r.err == nil {
				r.resp.Body.Close()
				t.Fatal("RoundTrip succeeded")
			}
			if !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", r.err, tc.want)
			}
			if tc.is != nil && !errors.Is(r.err, tc.is) {
				t.Errorf("err = %v, want it to wrap %v", r.err, tc.is)
			}
		})
	}
}

// Every way RoundTrip fails before it sends anything closes the request's
// body, as an http.RoundTripper must.
func TestFailureClosesBody(t *testing.T) {
	errNoProxy := errors.New("no proxy for you")
	errDial := errors.New("dial refused")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		url  string
		ctx  context.Context
		tr   *h1client.Transport
		want error
	}{
		{name: "ftp scheme", url: "ftp://user:s3cret@127.0.0.1/file"},
		{name: "no host", url: "http:///path"},
		{name: "proxy error", url: "http://127.0.0.1:1/", tr: &h1client.Transport{
			Proxy: func(*http.Request) (*url.URL, error) { return nil, errNoProxy },
		}, want: errNoProxy},
		{name: "socks proxy", url: "http://127.0.0.1:1/", tr: &h1client.Transport{
			Proxy: http.ProxyURL(&url.URL{Scheme: "socks5", User: url.UserPassword("user", "s3cret"), Host: "127.0.0.1:1"}),
		}},
		{name: "dial error", url: "http://127.0.0.1:1/", tr: &h1client.Transport{
			Dial: func(context.Context, string, string) (net.Conn, error) { return nil, errDial },
		}, want: errDial},
		{name: "context canceled", url: "http://127.0.0.1:1/", ctx: canceled, want: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, ctx := tc.tr, tc.ctx
			if tr == nil {
				tr = &h1client.Transport{}
			}
			if ctx == nil {
				ctx = context.Background()
			}
			body := &closeRecorder{Reader: strings.NewReader("payload")}
			req := newRequest(t, ctx, http.MethodPost, tc.url, body)
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("RoundTrip succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("err = %q shows a password", err)
			}
			if !body.closed.Load() {
				t.Error("the request body was not closed")
			}
		})
	}
}
