package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/registry"
)

// TestResolveSpellings: Resolve and FetchManifest take a tag, a digest, or
// a whole reference of the repository (with a tag, a digest or both), and
// refuse a reference of another repository, or on another host, with an
// error naming both, before any request.
func TestResolveSpellings(t *testing.T) {
	c := &registry.Client{}
	srv, repo := serve(t, nil, c, "a/b")
	im := seed(t, srv, nil, "a/b", "v1", 100)
	want := im.Manifest.Digest
	for _, ref := range []string{
		"v1",
		string(want),
		srv.Host + "/a/b:v1",
		srv.Host + "/a/b@" + string(want),
		srv.Host + "/a/b:v1@" + string(want),
	} {
		d, err := repo.Resolve(t.Context(), ref)
		if err != nil || d.Digest != want {
			t.Errorf("Resolve(%q) = %s, %v; want %s", ref, d.Digest, err, want)
		}
		doc, err := repo.FetchManifest(t.Context(), ref)
		if err != nil || doc.Digest != want {
			t.Errorf("FetchManifest(%q): %v", ref, err)
		}
	}
	srv.Log.Reset()
	for _, ref := range []string{srv.Host + "/a/c:v1", "other.example:5000/a/b:v1", "a/b:v1", srv.Host + "/a/c@" + string(want)} {
		_, err := repo.Resolve(t.Context(), ref)
		if err == nil || !strings.Contains(err.Error(), "names repository") || !strings.Contains(err.Error(), srv.Host+"/a/b") {
			t.Errorf("Resolve(%q) = %v; want an error naming both repositories", ref, err)
		}
		if _, err := repo.FetchManifest(t.Context(), ref); err == nil {
			t.Errorf("FetchManifest(%q) of another repository succeeded", ref)
		}
	}
	for _, ref := range []string{"sha256:../x", "sha256:" + strings.Repeat("A", 64), "bad tag", srv.Host + "/a/b@sha256:../x"} {
		if _, err := repo.Resolve(t.Context(), ref); err == nil {
			t.Errorf("Resolve(%q) succeeded", ref)
		}
	}
	if n := srv.Log.Count(nil); n != 0 {
		t.Errorf("%d requests for references refused", n)
	}
	if _, err := repo.Resolve(t.Context(), srv.Host+"/a/b:nope"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a missing tag of the repository: %v, want not found", err)
	}
}
