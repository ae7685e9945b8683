package registrytest

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// Server is a Registry listening on loopback, with its helper servers.
type Server struct {
	*Registry
	// URL is the registry's base URL, "http://127.0.0.1:port"; Host is
	// its host:port, the registry part of references.
	URL  string
	Host string
	// TokenURL is the base URL of the token endpoint's server: URL, or
	// another server with Auth.SeparateTokenServer or FlavorDockerHub.
	TokenURL string
	// BlobURL is the base URL of the blob host, the target for
	// Fault.RedirectTo.
	BlobURL string
}

// NewServer starts a Registry configured by opts (which may be nil) and
// its blob host on loopback, plus a token server when the token endpoint
// is separate, and closes them all when the test ends.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	g := New(opts)
	t.Cleanup(func() { g.Close() }) // last: after the servers below are closed
	s := &Server{Registry: g}
	blobs := httptest.NewServer(g.BlobHandler())
	t.Cleanup(blobs.Close)
	s.BlobURL = blobs.URL
	g.blobURL = blobs.URL
	if g.opts.Auth.separate() {
		ts := httptest.NewServer(g.TokenHandler())
		t.Cleanup(ts.Close)
		s.TokenURL = ts.URL
		if g.opts.Auth.Realm == "" {
			g.opts.Auth.Realm = ts.URL + g.opts.Auth.tokenPath()
		}
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	u, _ := url.Parse(srv.URL)
	s.Host = u.Host
	if s.TokenURL == "" {
		s.TokenURL = srv.URL
	}
	return s
}
