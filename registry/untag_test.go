package registry_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// TestUntag removes one of two tags naming a manifest: the other tag and
// the manifest stay. A registry that deletes only by digest (distribution
// 2.8's 400 DIGEST_INVALID) gives errors.ErrUnsupported and keeps the tag.
func TestUntag(t *testing.T) {
	c := &registry.Client{}
	srv, repo := serve(t, nil, c, "demo/app")
	im := seed(t, srv, c, "demo/app", "a", 100)
	if err := repo.Tag(t.Context(), im.Manifest.Descriptor(), "b"); err != nil {
		t.Fatal(err)
	}
	if err := repo.Untag(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if tags, err := repo.Tags(t.Context()); err != nil || strings.Join(tags, ",") != "b" {
		t.Fatalf("tags after untag: %q, %v", tags, err)
	}
	if _, err := repo.Resolve(t.Context(), string(im.Manifest.Digest)); err != nil {
		t.Fatalf("the manifest went with its tag: %v", err)
	}
	if err := repo.Untag(t.Context(), "a"); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("untag of an absent tag: %v", err)
	}
	if err := repo.Untag(t.Context(), "../x"); err == nil || !strings.Contains(err.Error(), "invalid tag") {
		t.Fatalf("untag of an invalid tag: %v", err)
	}
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route(http.MethodDelete, "/manifests/b$"), Status: http.StatusBadRequest, Code: "DIGEST_INVALID"})
	err := repo.Untag(t.Context(), "b")
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "cannot remove tag b alone") {
		t.Fatalf("untag where only digests can be deleted: %v", err)
	}
	if tags, _ := repo.Tags(t.Context()); strings.Join(tags, ",") != "b" {
		t.Fatalf("tags: %q", tags)
	}
}

// TestOrigin: a repository pulled through a mirror resolves through it;
// its Origin resolves at the repository itself.
func TestOrigin(t *testing.T) {
	origin := registrytest.NewServer(t, nil)
	mirror := registrytest.NewServer(t, nil)
	c := &registry.Client{}
	seed(t, mirror, c, "demo/app", "1", 100)
	mref, _ := reference.Parse(mirror.Host + "/demo/app")
	c.Mirrors = func(reference.Reference) ([]registry.Mirror, error) {
		return []registry.Mirror{{Ref: mref}}, nil
	}
	repo := repoOn(t, c, origin, "demo/app")
	if _, err := repo.Resolve(t.Context(), "1"); err != nil {
		t.Fatalf("through the mirror: %v", err)
	}
	if _, err := repo.Origin().Resolve(t.Context(), "1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("the origin has no tag 1, yet: %v", err)
	}
}
