package registrytest_test

import (
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

// seeded returns a storage holding an image tagged a:v1, pushed through a
// registry without switches.
func seeded(t *testing.T) (registrytest.Storage, image) {
	s := registrytest.NewMemoryStorage()
	_, c := start(t, &registrytest.Options{Storage: s})
	return s, c.pushImage("a", "v1", "1")
}

func TestDisableDelete(t *testing.T) {
	s, img := seeded(t)
	_, c := start(t, &registrytest.Options{DisableDelete: true, Storage: s})
	c.do("DELETE", "/v2/a/manifests/"+string(img.desc.Digest), nil).wantError(t, 405, "UNSUPPORTED")
	c.do("DELETE", "/v2/a/manifests/v1", nil).wantError(t, 405, "UNSUPPORTED")
	c.do("DELETE", "/v2/a/blobs/"+string(digestOf(img.layer)), nil).wantError(t, 405, "UNSUPPORTED")
	c.do("GET", "/v2/a/manifests/v1", nil, ociAccept()...).want(t, 200)
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
	c.do("DELETE", loc, nil).want(t, 204) // cancelling an upload is not a delete
}

func TestReadOnly(t *testing.T) {
	s, img := seeded(t)
	_, c := start(t, &registrytest.Options{ReadOnly: true, Storage: s})
	c.do("GET", "/v2/a/manifests/v1", nil, ociAccept()...).want(t, 200)
	c.do("GET", "/v2/a/blobs/"+string(digestOf(img.layer)), nil).want(t, 200)
	c.do("GET", "/v2/a/tags/list", nil).want(t, 200)
	c.do("POST", "/v2/a/blobs/uploads/", nil).wantError(t, 405, "UNSUPPORTED")
	c.pushManifest("a", "v2", manifest.MediaTypeOCIManifest, img.manifest).wantError(t, 405, "UNSUPPORTED")
	c.do("DELETE", "/v2/a/manifests/v1", nil).wantError(t, 405, "UNSUPPORTED")
}
