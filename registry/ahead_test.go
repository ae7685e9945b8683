package registry_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry"
)

// smallBlobs pushes n small blobs, one after another, and checks they are
// all there.
func smallBlobs(t *testing.T, repo *registry.Repository, n int) {
	t.Helper()
	var ds []manifest.Descriptor
	for i := range n {
		data := []byte(fmt.Sprintf("small blob %d", i))
		d := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayerGzip, Digest: manifest.FromBytes(data), Size: int64(len(data))}
		if err := repo.Push(t.Context(), d, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	for _, d := range ds {
		if ok, err := repo.Exists(t.Context(), d); !ok || err != nil {
			t.Fatalf("%s not stored: %v", d.Digest, err)
		}
	}
}

// withDigest matches a POST that carries a blob (?digest=).
func withDigest(r registrytest.Request) bool {
	return r.Method == "POST" && strings.Contains(r.RawQuery, "digest=")
}

// A registry that takes a single POST ?digest= gets every small blob so,
// one request each.
func TestSmallBlobsInSinglePOST(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, nil, c, "a/b")
	smallBlobs(t, repo, 3)
	if n, all := srv.Log.Count(withDigest), srv.Log.Count(is("", "/blobs/uploads/")); n != 3 || all != 3 {
		t.Fatalf("%d single POSTs of %d upload requests, want 3 of 3", n, all)
	}
}

// A registry that answers a single POST with a session (distribution
// does) gets the blob in a PUT, and from then on small blobs to it go
// through a session opened without a body: their bytes are sent once.
func TestSmallBlobsLearnSinglePOSTRefused(t *testing.T) {
	c, _ := testClient(&registry.Client{})
	srv, repo := serve(t, &registrytest.Options{NoSinglePOST: true}, c, "a/b")
	smallBlobs(t, repo, 3)
	if n := srv.Log.Count(withDigest); n != 1 {
		t.Fatalf("%d POSTs with ?digest=, want only the first", n)
	}
	empty := srv.Log.Count(func(r registrytest.Request) bool { return r.Method == "POST" && !withDigest(r) && r.BytesIn == 0 })
	puts := srv.Log.Count(is("PUT", "/blobs/uploads/"))
	if empty != 2 || puts != 3 {
		t.Fatalf("%d empty POSTs and %d PUTs, want 2 and 3", empty, puts)
	}
	// Another host has not refused anything.
	srv2, repo2 := serve(t, nil, c, "a/b")
	smallBlobs(t, repo2, 1)
	if n := srv2.Log.Count(withDigest); n != 1 {
		t.Fatalf("another host: %d single POSTs, want 1", n)
	}
}

// A session opened while the source opens is closed (DELETE) when the
// source fails: a large blob, resumable or not, and a small one to a
// registry that refuses single POSTs. None is left to count against the
// registry's limit of sessions.
func TestSessionAheadAbandonedWhenSourceFails(t *testing.T) {
	large := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayerGzip, Digest: manifest.FromBytes([]byte("x")), Size: 2 << 20}
	small := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayerGzip, Digest: manifest.FromBytes([]byte("y")), Size: 10}
	failing := func(int64) (io.ReadCloser, error) { return nil, errors.New("source gone") }
	for _, tc := range []struct {
		name   string
		resume bool
		desc   manifest.Descriptor
	}{
		{"large, resumable", true, large},
		{"large", false, large},
		{"small, single POST refused", false, small},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := testClient(&registry.Client{})
			if tc.resume {
				c.ResumeDir = t.TempDir()
			}
			srv, repo := serve(t, &registrytest.Options{NoSinglePOST: true}, c, "a/b")
			smallBlobs(t, repo, 1) // learns that single POSTs are refused
			srv.Log.Reset()
			err := repo.PushResumable(t.Context(), tc.desc, failing)
			if err == nil || !strings.Contains(err.Error(), "source gone") {
				t.Fatalf("err = %v, want the source's", err)
			}
			opened := srv.Log.Count(func(r registrytest.Request) bool { return r.Method == "POST" && r.Status == 202 })
			closed := srv.Log.Count(is("DELETE", "/blobs/uploads/"))
			if opened != 1 || closed != 1 {
				t.Fatalf("%d sessions opened, %d closed; want 1 and 1", opened, closed)
			}
		})
	}
}
