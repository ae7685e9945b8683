package mirror_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/mirror"
)

// repo returns the repository name on srv.
func repo(t *testing.T, srv *registrytest.Server, name string) *registry.Repository {
	t.Helper()
	ref, err := reference.ParseName(srv.Host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return (&registry.Client{}).Repository(ref)
}

// family pushes images on one base (two layers) to r, one per tag, each
// with a small layer of its own, and returns them by tag.
func family(t *testing.T, r manifest.Store, tags ...string) map[string]*testimage.Image {
	t.Helper()
	base, err := testimage.New(testimage.Options{LayerSizes: []int{60 << 10, 20 << 10}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ims := map[string]*testimage.Image{}
	for i, tag := range tags {
		ims[tag] = pushOnBase(t, r, base, tag, uint64(100+i))
	}
	return ims
}

// pushOnBase pushes an image of base's layers and one of its own.
func pushOnBase(t *testing.T, r manifest.Store, base *testimage.Image, tag string, seed uint64) *testimage.Image {
	t.Helper()
	im, err := testimage.New(testimage.Options{LayerSizes: []int{2000 + int(seed)}, Seed: seed, Base: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(t.Context(), r, im, tag); err != nil {
		t.Fatal(err)
	}
	return im
}

// blobBytes sums the distinct blobs (config and layers) of images.
func blobBytes(ims ...*testimage.Image) int64 {
	seen := map[manifest.Digest]bool{}
	var n int64
	for _, im := range ims {
		m := im.Manifest.Manifest
		for _, d := range append([]manifest.Descriptor{m.Config}, m.Layers...) {
			if !seen[d.Digest] {
				seen[d.Digest] = true
				n += d.Size
			}
		}
	}
	return n
}

// blobGETs counts the blob bytes a server sent.
func blobGETs(srv *registrytest.Server) int64 {
	return srv.Log.BytesOut(func(r registrytest.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/")
	})
}

// writes counts the requests that change a server.
func writes(srv *registrytest.Server) int {
	return srv.Log.Count(func(r registrytest.Request) bool {
		return r.Method != http.MethodGet && r.Method != http.MethodHead
	})
}

// actions renders a report as "tag:action" pairs.
func actions(r *mirror.Report) string {
	var parts []string
	for _, im := range r.Images {
		parts = append(parts, fmt.Sprintf("%s:%s", im.Tag, im.Action))
	}
	return strings.Join(parts, " ")
}

// tagsOf lists r's tags, failing the test on error.
func tagsOf(t *testing.T, r mirror.TagLister) string {
	t.Helper()
	tags, err := r.Tags(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(tags, ",")
}

// patterns parses patterns, failing the test on error.
func patterns(t *testing.T, ss ...string) []*mirror.Pattern {
	t.Helper()
	var ps []*mirror.Pattern
	for _, s := range ss {
		p, err := mirror.ParsePattern(s)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}
