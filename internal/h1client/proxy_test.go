package h1client_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/testtool"
)

func TestProxyHTTP(t *testing.T) {
	type seen struct{ uri, host, auth string }
	requests := make(chan seen, 10)
	proxy := newRawServer(t, nil, func(n int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, _, err := readRequest(br)
			if err != nil {
				return
			}
			requests <- seen{req.RequestURI, req.Host, req.Header.Get("Proxy-Authorization")}
			io.WriteString(c, okResponse)
		}
	})
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("user", "p@ss"), Host: proxy.addr}
	tr := newTransport(t, &h1client.Transport{Proxy: http.ProxyURL(proxyURL)})
	want := seen{
		uri:  "http://origin.test/path?q=1",
		host: "origin.test",
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("user:p@ss")),
	}
	for range 2 {
		req := newRequest(t, context.Background(), http.MethodGet, "http://origin.test/path?q=1", nil)
		resp, body := fetch(t, tr, req)
		if resp.StatusCode != http.StatusOK || body != "ok" {
			t.Errorf("got %s %q", resp.Status, body)
		}
		if got := testtool.Await(t, requests, "the proxied request"); got != want {
			t.Errorf("proxy got %+v, want %+v", got, want)
		}
		if h := req.Header.Get("Proxy-Authorization"); h != "" {
			t.Errorf("the caller's request was changed: Proxy-Authorization %q", h)
		}
	}
	if n := proxy.accepted.Load(); n != 1 {
		t.Errorf("proxy accepted %d connections, want 1", n)
	}
}

func TestProxyConnect(t *testing.T) {
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure "+r.URL.Path)
	}))
	t.Cleanup(origin.Close)
	target := strings.TrimPrefix(origin.URL, "https://")
	connects := make(chan seen, 10)
	proxy := tunnelProxy(t, target, connects)
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("user", "s3cret"), Host: proxy.addr}
	tr := newTransport(t, &h1client.Transport{Proxy: http.ProxyURL(proxyURL), TLSConfig: clientTLS(origin)})
	for _, p := range []string{"/a", "/b"} {
		if got := mustGet(t, tr, origin.URL+p); got != "secure "+p {
			t.Errorf("GET %s = %q", p, got)
		}
	}
	want := seen{http.MethodConnect, target, "Basic " + base64.StdEncoding.EncodeToString([]byte("user:s3cret"))}
	if got := testtool.Await(t, connects, "the CONNECT"); got != want {
		t.Errorf("proxy got %+v, want %+v", got, want)
	}
	if n := proxy.accepted.Load(); n != 1 {
		t.Errorf("proxy accepted %d connections, want 1 (the tunnel is kept alive)", n)
	}
}

// seen is what a proxy saw of a request.
type seen struct{ method, uri, auth string }

// tunnelProxy is a proxy that answers a CONNECT on each connection with a
// tunnel to target, whatever it asks for, and reports each CONNECT.
func tunnelProxy(t *testing.T, target string, connects chan<- seen) *rawServer {
	return newRawServer(t, nil, func(n int, c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Error(err)
			return
		}
		connects <- seen{req.Method, req.RequestURI, req.Header.Get("Proxy-Authorization")}
		up, err := net.Dial("tcp", target)
		if err != nil {
			t.Error(err)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(up, br)
			up.Close()
		}()
		io.Copy(c, up)
		c.Close()
		wg.Wait()
	})
}

func TestProxyRefusesTunnel(t *testing.T) {
	proxy := newRawServer(t, nil, func(n int, c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			t.Error(err)
			return
		}
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
	})
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("user", "s3cret"), Host: proxy.addr}
	tr := newTransport(t, &h1client.Transport{Proxy: http.ProxyURL(proxyURL)})
	resp, err := tr.RoundTrip(newRequest(t, context.Background(), http.MethodGet, "https://origin.test/", nil))
	if err == nil {
		resp.Body.Close()
		t.Fatal("RoundTrip succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "407") || !strings.Contains(msg, proxy.addr) {
		t.Errorf("err = %q, want the status and the proxy", msg)
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("err = %q shows the proxy's password", msg)
	}
}
