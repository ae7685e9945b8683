package registry_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func mustRef(t *testing.T, s string) reference.Reference {
	t.Helper()
	ref, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// mirrored returns a client whose pulls of any repository try the given
// mirror hosts (same repository name), then the repository itself.
func mirrored(t *testing.T, digestOnly bool, hosts ...string) *registry.Client {
	c := &registry.Client{}
	c.Mirrors = func(repo reference.Reference) ([]registry.Mirror, error) {
		var out []registry.Mirror
		for _, h := range hosts {
			out = append(out, registry.Mirror{Ref: mustRef(t, h+"/"+repo.Repository), DigestOnly: digestOnly})
		}
		return append(out, registry.Mirror{Ref: repo}), nil
	}
	c, _ = testClient(c)
	return c
}

// pull fetches name:tag's manifest and every blob through repo.
func pull(t *testing.T, repo *registry.Repository, tag string) {
	t.Helper()
	doc, err := repo.FetchManifest(t.Context(), tag)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range append([]manifest.Descriptor{doc.Manifest.Config}, doc.Manifest.Layers...) {
		rc, err := repo.Fetch(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
}

func TestMirrorFirstWhenUp(t *testing.T) {
	origin, mirror := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	seed(t, origin, nil, "app", "1", 1000, 10)
	seed(t, mirror, nil, "app", "1", 1000, 10)
	c := mirrored(t, false, mirror.Host)
	pull(t, repoOn(t, c, origin, "app"), "1")
	if n := origin.Log.Count(nil); n != 0 {
		t.Errorf("origin got %d requests, want none", n)
	}
	if n := mirror.Log.Count(is("GET", "/blobs/")); n != 3 {
		t.Errorf("mirror served %d blobs, want 3", n)
	}
}

func TestMirrorDownFallsBackToOrigin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close() // connection refused from now on
	origin, empty, failing := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	seed(t, origin, nil, "app", "1", 1000, 10)
	failing.Faults.Add(registrytest.Fault{Status: 503})
	c := mirrored(t, false, down, empty.Host, failing.Host)
	pull(t, repoOn(t, c, origin, "app"), "1")
	if n := origin.Log.Count(is("GET", "/blobs/")); n != 3 {
		t.Errorf("origin served %d blobs, want 3", n)
	}
	if empty.Log.Count(is("GET", "/manifests/1")) == 0 || failing.Log.Count(nil) == 0 {
		t.Error("the mirrors that are up were not asked first")
	}
}

func TestMirrorDigestOnly(t *testing.T) {
	origin, mirror := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	seed(t, origin, nil, "app", "1", 1000)
	seed(t, mirror, nil, "app", "1", 1000)
	repo := repoOn(t, mirrored(t, true, mirror.Host), origin, "app")
	desc, err := repo.Resolve(t.Context(), "1")
	if err != nil {
		t.Fatal(err)
	}
	if mirror.Log.Count(nil) != 0 || origin.Log.Count(is("", "/manifests/1")) == 0 {
		t.Error("a tag was resolved on a digest-only mirror")
	}
	origin.Log.Reset()
	pull(t, repo, string(desc.Digest))
	if origin.Log.Count(nil) != 0 || mirror.Log.Count(is("GET", "/blobs/")) != 2 {
		t.Errorf("by digest: origin %d requests, mirror %d blobs", origin.Log.Count(nil), mirror.Log.Count(is("GET", "/blobs/")))
	}
}

func TestMirrorErrorsNameEverySource(t *testing.T) {
	origin, mirror := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	repo := repoOn(t, mirrored(t, false, mirror.Host), origin, "nothing")
	_, err := repo.FetchManifest(t.Context(), "1")
	if !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), mirror.Host) {
		t.Errorf("error %v: want not found, naming the mirror", err)
	}
}

func TestBlockedRepository(t *testing.T) {
	origin := registrytest.NewServer(t, nil)
	blocked := errors.New("pulling is blocked by registries.conf")
	c := &registry.Client{Mirrors: func(reference.Reference) ([]registry.Mirror, error) { return nil, blocked }}
	repo := repoOn(t, c, origin, "app")
	if _, err := repo.FetchManifest(t.Context(), "1"); !errors.Is(err, blocked) {
		t.Errorf("FetchManifest: %v", err)
	}
	if _, err := repo.Resolve(t.Context(), "1"); !errors.Is(err, blocked) {
		t.Errorf("Resolve: %v", err)
	}
	if _, err := repo.Fetch(t.Context(), manifest.DescriptorFor("application/octet-stream", []byte("x"))); !errors.Is(err, blocked) {
		t.Errorf("Fetch: %v", err)
	}
	if origin.Log.Count(nil) != 0 {
		t.Error("a blocked repository was contacted")
	}
}

func TestPushIgnoresMirrors(t *testing.T) {
	origin, mirror := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	c := mirrored(t, false, mirror.Host)
	seed(t, origin, c, "app", "1", 1000)
	if mirror.Log.Count(nil) != 0 {
		t.Errorf("the push reached the mirror: %d requests", mirror.Log.Count(nil))
	}
	if origin.Log.Count(nil) != 0 {
		t.Fatal("seed should have reset the log")
	}
}
