package registry_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func TestContextErrorNamesRequest(t *testing.T) {
	// The server holds the request until the client gives up: the
	// cancellation hits a request in flight.
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { <-arrived; cancel() }()
	_, err := repo.FetchManifest(ctx, "latest")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one matching context.Canceled", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "registry: GET http://") || !strings.Contains(msg, "/v2/a/b/manifests/latest") {
		t.Errorf("error %q does not name the request", msg)
	}
	if errors.Is(err, registry.ErrUnreachable) {
		t.Errorf("a cancelled request matches ErrUnreachable: %v", err)
	}
}

func TestRetryWaitCancelledNamesRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := &registry.Client{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The context ends while the client waits to retry the 503.
	registry.SetSleep(c, func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() })
	repo := newRepo(t, c, srv, "a/b")
	_, err := repo.Tags(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one matching context.Canceled", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "registry: GET ") || !strings.Contains(msg, "/v2/a/b/tags/list") {
		t.Errorf("error %q does not name the request", msg)
	}
}

// A blob whose body stops mid-way, at a redirect target whose URL holds a
// signature, is cancelled: the read error names the request, without the
// signature.
func TestBodyCancelNamesRedactedRequest(t *testing.T) {
	const secret = "s3cr3tSIGNATURE"
	blob := []byte("0123456789")
	desc := manifest.DescriptorFor("application/octet-stream", blob)
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/v2/a/b/blobs/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/storage/blob?X-Amz-Signature="+secret, http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/storage/blob", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		w.Write(blob[:3])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	repo := newRepo(t, &registry.Client{}, srv, "a/b")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rc, err := repo.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one matching context.Canceled", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "registry: GET http://") || !strings.Contains(msg, "/storage/blob") {
		t.Errorf("error %q does not name the request", msg)
	}
	if strings.Contains(msg, secret) {
		t.Errorf("error %q leaks the URL's signature", msg)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// repoAt returns repository a/b of host, every connection of c going to
// addr instead.
func repoAt(t *testing.T, c *registry.Client, host, addr string) *registry.Repository {
	t.Helper()
	registry.SetDial(c, func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	})
	ref, err := reference.Parse(host + "/a/b")
	if err != nil {
		t.Fatal(err)
	}
	return c.Repository(ref)
}

func TestErrUnreachable(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake fails on purpose
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	noRoute := func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.EHOSTUNREACH}}
	}
	tests := []struct {
		name string
		repo func(t *testing.T) *registry.Repository
	}{
		{"refused, loopback", func(t *testing.T) *registry.Repository {
			ref, _ := reference.Parse(closedAddr(t) + "/a/b")
			return (&registry.Client{}).Repository(ref)
		}},
		{"refused, https", func(t *testing.T) *registry.Repository {
			return repoAt(t, &registry.Client{}, "registry.test", closedAddr(t))
		}},
		{"no route", func(t *testing.T) *registry.Repository {
			c := &registry.Client{}
			registry.SetDial(c, noRoute)
			ref, _ := reference.Parse("registry.test/a/b")
			return c.Repository(ref)
		}},
		{"unknown certificate authority", func(t *testing.T) *registry.Repository {
			ref, _ := reference.Parse(strings.TrimPrefix(tlsSrv.URL, "https://") + "/a/b")
			return (&registry.Client{CertsDir: "-"}).Repository(ref)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.repo(t).Resolve(t.Context(), "latest")
			if !errors.Is(err, registry.ErrUnreachable) {
				t.Fatalf("err = %v, want one matching registry.ErrUnreachable", err)
			}
			if errors.Is(err, registry.ErrPlainHTTP) || errors.Is(err, registry.ErrNotFound) {
				t.Errorf("err = %v matches ErrPlainHTTP or ErrNotFound", err)
			}
			if !strings.HasPrefix(err.Error(), "registry: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// An answer, even an error status, means the registry was reached.
func TestErrUnreachableNotForAnswers(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := newRepo(t, &registry.Client{}, srv, "a/b").Resolve(t.Context(), "latest")
	if !errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrUnreachable) {
		t.Fatalf("err = %v: want ErrNotFound and not ErrUnreachable", err)
	}
}

// HTTPS to a registry that speaks plain HTTP says how to reach it, and
// following the advice works.
func TestErrPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, err := repoAt(t, &registry.Client{}, "registry.test:5000", addr).Resolve(t.Context(), "latest")
	if !errors.Is(err, registry.ErrPlainHTTP) || !errors.Is(err, registry.ErrUnreachable) {
		t.Fatalf("err = %v, want one matching ErrPlainHTTP and ErrUnreachable", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "registry.test:5000 answered in plain HTTP") || !strings.Contains(msg, "Client.Insecure") {
		t.Errorf("error %q does not say to list the host in Client.Insecure", msg)
	}
	c := &registry.Client{Insecure: []string{"registry.test:5000"}}
	_, err = repoAt(t, c, "registry.test:5000", addr).Resolve(t.Context(), "latest")
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("with Insecure: err = %v, want the registry's not found", err)
	}
}

func TestErrNotFoundIsManifests(t *testing.T) {
	if !errors.Is(manifest.ErrNotFound, registry.ErrNotFound) || !errors.Is(registry.ErrNotFound, manifest.ErrNotFound) {
		t.Fatal("registry.ErrNotFound and manifest.ErrNotFound do not match each other")
	}
}
