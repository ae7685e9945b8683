package registry_test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// newRepo returns the repository name on the plain-HTTP test server srv.
func newRepo(t testing.TB, c *registry.Client, srv *httptest.Server, name string) *registry.Repository {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse(u.Host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Repository(ref)
}
