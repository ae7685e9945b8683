package h1client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/testtool"
)

// dialCounter is a Transport.Dial that counts the connections it opens.
type dialCounter struct{ n atomic.Int32 }

func (d *dialCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// Connections Preconnect opens serve the requests that come next: as many
// requests at once as were preconnected open no connection of their own,
// over TLS too, whose settings Preconnect takes for the host as a request
// does.
func TestPreconnectReused(t *testing.T) {
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			arrived := make(chan struct{}, 10)
			release := make(chan struct{})
			srv := newCountingServer(t, scheme == "https", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-release
				io.WriteString(w, "ok")
			}))
			d := &dialCounter{}
			tr := newTransport(t, &h1client.Transport{Dial: d.dial})
			u, _ := url.Parse(srv.URL)
			var (
				mu    sync.Mutex
				hosts []string
			)
			if scheme == "https" {
				trust := clientTLS(srv.Server)
				tr.TLSConfig = func(host string) (*tls.Config, error) {
					mu.Lock()
					defer mu.Unlock()
					hosts = append(hosts, host)
					return trust(host)
				}
			}
			tr.Preconnect(context.Background(), scheme, u.Host, 2)
			if n := d.n.Load(); n != 2 {
				t.Fatalf("Preconnect(2) opened %d connections", n)
			}
			if scheme == "https" && (len(hosts) != 2 || hosts[0] != u.Host) {
				t.Errorf("TLSConfig called with %q, want twice with %q", hosts, u.Host)
			}
			results := []<-chan result{
				roundTripAsync(tr, newRequest(t, context.Background(), http.MethodGet, srv.URL+"/a", nil)),
				roundTripAsync(tr, newRequest(t, context.Background(), http.MethodGet, srv.URL+"/b", nil)),
			}
			testtool.Await(t, arrived, "the first request")
			testtool.Await(t, arrived, "the second request")
			close(release)
			for _, ch := range results {
				r := testtool.Await(t, ch, "a response")
				if r.err != nil {
					t.Fatal(r.err)
				}
				io.Copy(io.Discard, r.resp.Body)
				r.resp.Body.Close()
			}
			if n := d.n.Load(); n != 2 {
				t.Errorf("two requests after Preconnect(2) opened %d connections in all, want the 2 preconnected", n)
			}
		})
	}
}

// Preconnect opens n less the idle connections, never past
// MaxIdlePerHost.
func TestPreconnectBounds(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	d := &dialCounter{}
	tr := newTransport(t, &h1client.Transport{Dial: d.dial, MaxIdlePerHost: 5})
	for _, step := range []struct {
		n, want int32
	}{
		{0, 0},
		{-1, 0},
		{3, 3},
		{3, 3}, // 3 idle already
		{4, 4},
		{100, 5}, // MaxIdlePerHost
		{1, 5},
	} {
		tr.Preconnect(ctx, "http", host, int(step.n))
		if got := d.n.Load(); got != step.want {
			t.Fatalf("after Preconnect(%d): %d connections opened in all, want %d", step.n, got, step.want)
		}
	}
	tr.Preconnect(ctx, "ftp", host, 2)
	tr.Preconnect(ctx, "http", "", 2)
	if got := d.n.Load(); got != 5 {
		t.Errorf("Preconnect of an unsupported scheme or no host dialled: %d connections", got)
	}
	// A request's connection, idle again, counts too.
	tr2 := newTransport(t, &h1client.Transport{Dial: d.dial, MaxIdlePerHost: 2})
	mustGet(t, tr2, srv.URL)
	tr2.Preconnect(ctx, "http", host, 10)
	if got := d.n.Load(); got != 7 {
		t.Errorf("Preconnect(10) beside one idle connection, MaxIdlePerHost 2: %d opened, want 1", got-6)
	}
}

// Preconnects at once share their count: connections still being opened
// count as idle ones do.
func TestPreconnectConcurrent(t *testing.T) {
	srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	host := strings.TrimPrefix(srv.URL, "http://")
	entered := make(chan struct{}, 20)
	release := make(chan struct{})
	var dials atomic.Int32
	tr := newTransport(t, &h1client.Transport{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		entered <- struct{}{}
		<-release
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}})
	first, second := make(chan struct{}), make(chan struct{})
	go func() { tr.Preconnect(context.Background(), "http", host, 3); close(first) }()
	for range 3 {
		testtool.Await(t, entered, "the first Preconnect's dials")
	}
	go func() { tr.Preconnect(context.Background(), "http", host, 4); close(second) }()
	testtool.Await(t, entered, "the second Preconnect's dial")
	close(release)
	testtool.Await(t, first, "the first Preconnect to return")
	testtool.Await(t, second, "the second Preconnect to return")
	if n := dials.Load(); n != 4 {
		t.Errorf("Preconnect(3) and, while it dialled, Preconnect(4) opened %d connections, want 4", n)
	}
}

// A host that refuses, or never answers, costs Preconnect nothing it
// reports and a request nothing it waits for: the request dials on its
// own and reports its own error.
func TestPreconnectUnreachable(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		d := &dialCounter{}
		tr := newTransport(t, &h1client.Transport{Dial: d.dial})
		tr.Preconnect(context.Background(), "http", addr, 2)
		resp, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, "http://"+addr+"/", nil))
		if err == nil {
			resp.Body.Close()
			t.Fatal("a request to a closed port succeeded")
		}
		if op := new(net.OpError); !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("the request's error = %v, want its own dial's", err)
		}
		if n := d.n.Load(); n != 3 {
			t.Errorf("%d dials, want the 2 preconnects' and the request's own", n)
		}
	})
	t.Run("silent", func(t *testing.T) {
		srv := newCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		stuck := make(chan struct{})
		var dials atomic.Int32
		tr := newTransport(t, &h1client.Transport{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 1 { // the preconnect's: no answer until it gives up
				close(stuck)
				<-ctx.Done()
				return nil, ctx.Err()
			}
			var nd net.Dialer
			return nd.DialContext(ctx, network, addr)
		}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() { tr.Preconnect(ctx, "http", strings.TrimPrefix(srv.URL, "http://"), 1); close(done) }()
		testtool.Await(t, stuck, "the preconnect's dial")
		if got := mustGet(t, tr, srv.URL); got != "ok" {
			t.Errorf("GET = %q", got)
		}
		cancel()
		testtool.Await(t, done, "Preconnect to return once its context ends")
	})
}

// A preconnect verifies the server's certificate as a request does: one
// the client does not trust leaves no connection in the pool, and the
// request reports the certificate.
func TestPreconnectVerifiesCertificates(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached the server over an untrusted connection: %s %s", r.Method, r.URL)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes fail
	srv.StartTLS()
	t.Cleanup(srv.Close)
	d := &dialCounter{}
	tr := newTransport(t, &h1client.Transport{Dial: d.dial})
	u, _ := url.Parse(srv.URL)
	tr.Preconnect(context.Background(), "https", u.Host, 1)
	resp, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, srv.URL, nil))
	if err == nil {
		resp.Body.Close()
		t.Fatal("a request to a server with an untrusted certificate succeeded")
	}
	if ve := new(tls.CertificateVerificationError); !errors.As(err, &ve) {
		t.Errorf("the request's error = %v, want the certificate's", err)
	}
	if n := d.n.Load(); n != 2 {
		t.Errorf("%d dials, want the preconnect's and the request's own", n)
	}
}

// A preconnected connection no request takes is closed at IdleTimeout,
// with nothing sent on it.
func TestPreconnectIdleTimeout(t *testing.T) {
	type ending struct {
		n    int
		read int64
	}
	closed := make(chan ending, 2)
	srv := newRawServer(t, nil, func(n int, c net.Conn) {
		if n > 0 {
			serveOK(c)
			return
		}
		read, _ := io.Copy(io.Discard, c)
		closed <- ending{n, read}
	})
	const idle = 30 * time.Millisecond
	tr := newTransport(t, &h1client.Transport{IdleTimeout: idle})
	start := time.Now()
	tr.Preconnect(context.Background(), "http", srv.addr, 1)
	got := testtool.Await(t, closed, "the client to close the idle preconnected connection")
	if wait := time.Since(start); wait < idle {
		t.Errorf("the preconnected connection was closed after %v, before IdleTimeout (%v)", wait, idle)
	}
	if got.read != 0 {
		t.Errorf("the client sent %d bytes on a connection no request took", got.read)
	}
	mustGet(t, tr, "http://"+srv.addr+"/")
	if n := srv.accepted.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2 (the request opens its own)", n)
	}
}

// A preconnect goes through the proxy a request would take: for https, a
// CONNECT tunnel with the TLS handshake inside, which the request then
// uses.
func TestPreconnectThroughProxy(t *testing.T) {
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure "+r.URL.Path)
	}))
	t.Cleanup(origin.Close)
	target := strings.TrimPrefix(origin.URL, "https://")
	connects := make(chan seen, 10)
	proxy := tunnelProxy(t, target, connects)
	tr := newTransport(t, &h1client.Transport{
		Proxy:     http.ProxyURL(&url.URL{Scheme: "http", Host: proxy.addr}),
		TLSConfig: clientTLS(origin),
	})
	tr.Preconnect(context.Background(), "https", target, 1)
	if got := testtool.Await(t, connects, "the preconnect's CONNECT"); got.method != http.MethodConnect || got.uri != target {
		t.Errorf("proxy got %+v, want a CONNECT to %s", got, target)
	}
	if got := mustGet(t, tr, origin.URL+"/a"); got != "secure /a" {
		t.Errorf("GET = %q", got)
	}
	if n := proxy.accepted.Load(); n != 1 {
		t.Errorf("proxy accepted %d connections, want 1 (the request takes the preconnected tunnel)", n)
	}
}
