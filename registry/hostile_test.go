package registry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/internal/h1client"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// readCounter is skiff's transport with every byte it reads from its
// connections counted: what a hostile server made the client take in.
type readCounter struct{ n atomic.Int64 }

func (rc *readCounter) client() *registry.Client {
	tr := &h1client.Transport{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := new(net.Dialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &testtool.ReadCounter{Conn: c, N: &rc.n}, nil
	}}
	c, _ := testClient(&registry.Client{Transport: tr.RoundTrip})
	return c
}

// writeForever writes unit to w until the client goes away.
func writeForever(w http.ResponseWriter, r *http.Request, unit string) {
	chunk := []byte(strings.Repeat(unit, (32<<10)/len(unit)))
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// A token server whose answer never ends gets an error naming it and the
// limit, after the client read little more than the limit.
func TestReliability50_EndlessTokenBody(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			io.WriteString(w, `{"token":"`)
			writeForever(w, r, "A")
			return
		}
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="x"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	rc := &readCounter{}
	_, err := newRepo(t, rc.client(), srv, "a/b").FetchManifest(t.Context(), "v1")
	var le *auth.LimitError
	if !errors.As(err, &le) || le.Limit != auth.MaxTokenBytes || !strings.Contains(err.Error(), srv.Listener.Addr().String()) {
		t.Fatalf("err = %v, want an auth.LimitError naming the token server", err)
	}
	if n := rc.n.Load(); n > auth.MaxTokenBytes+256<<10 {
		t.Errorf("the client read %d bytes for a %d-byte limit", n, auth.MaxTokenBytes)
	}
}

// An error response whose body never ends is kept up to MaxErrorBody: the
// error names the host and says the body was cut.
func TestReliability50_EndlessErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		writeForever(w, r, "no such thing ")
	}))
	defer srv.Close()
	rc := &readCounter{}
	_, err := newRepo(t, rc.client(), srv, "a/b").FetchManifest(t.Context(), "v1")
	var re *registry.Error
	host := srv.Listener.Addr().String()
	if !errors.As(err, &re) || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "longer than 64 KiB") {
		t.Fatalf("err = %v, want a registry.Error naming %s and the 64 KiB limit", err, host)
	}
	if n := rc.n.Load(); n > registry.MaxErrorBody+256<<10 {
		t.Errorf("the client read %d bytes for a %d-byte limit", n, registry.MaxErrorBody)
	}
}

// A registry whose response header never ends, reached through the
// Client's own transport, gets an error naming it and the 1 MiB bound.
func TestReliability50_EndlessHeader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Read(make([]byte, 4096)) // the request, or the TLS probe
				io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: ")
				line := []byte(strings.Repeat("A", 32<<10))
				for {
					if _, err := c.Write(line); err != nil {
						return
					}
				}
			}()
		}
	}()
	host := ln.Addr().String()
	c, _ := testClient(&registry.Client{})
	_, err = c.Repository(mustParse(t, host+"/a/b")).FetchManifest(t.Context(), "v1")
	var le *h1client.LimitError
	if !errors.As(err, &le) || le.Host != host || le.Limit != 1<<20 {
		t.Fatalf("err = %v, want a *h1client.LimitError naming %s and 1 MiB", err, host)
	}
	if want := "response header from " + host + " exceeds 1 MiB"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
}

func mustParse(t *testing.T, s string) reference.Reference {
	t.Helper()
	ref, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
