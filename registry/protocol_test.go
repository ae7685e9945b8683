package registry_test

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/registry"
)

// TestHTTP1OverTLS: skiff speaks HTTP/1.1 even to a registry that offers
// HTTP/2, so builds without HTTP/2 behave exactly like builds with it.
func TestHTTP1OverTLS(t *testing.T) {
	var requests, h2 atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.ProtoMajor != 1 {
			h2.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"name":"a/b","tags":["v1"]}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	if !slices.Contains(srv.TLS.NextProtos, "h2") {
		t.Fatal("the test server does not offer HTTP/2: the test proves nothing")
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	repo := newRepo(t, &registry.Client{RootCAs: pool, CertsDir: "-"}, srv, "a/b")
	tags, err := repo.Tags(t.Context())
	if err != nil || len(tags) != 1 {
		t.Fatalf("tags %v, %v", tags, err)
	}
	if requests.Load() == 0 || h2.Load() != 0 {
		t.Fatalf("%d of %d requests were HTTP/2", h2.Load(), requests.Load())
	}
}
