package server_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// startNil serves server.New(nil), as a user's test does, with temporary
// files going to a directory of the test's own, which it returns, and
// to another one, later.
func startNil(t *testing.T) (s *testServer, tmp, later string) {
	tmp, later = t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.TempDir, where the uploads' directory goes
	srv := server.New(nil)
	t.Setenv("TMPDIR", later) // and not here: the test's own files may be
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &testServer{Server: srv, url: hs.URL, hc: hs.Client(), t: t}, tmp, later
}

// New(nil) is a registry in memory: a pushed image is served back, and the
// files of uploads exist only while an upload is open.
func TestNewNilServesFromMemory(t *testing.T) {
	s, tmp, later := startNil(t)
	im := newImage("nil", 3000, nil)
	loc := s.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
	if got := testtool.DirNames(t, tmp); len(got) != 1 || !strings.HasPrefix(got[0], "skiff-uploads-") {
		t.Fatalf("while an upload is open, TMPDIR holds %v, want one skiff-uploads- directory", got)
	}
	if got := testtool.DirNames(t, later); len(got) != 0 {
		t.Fatalf("the uploads went to the TMPDIR set after New: %v", got)
	}
	s.do("PATCH", loc, im.layer[:1000], "Content-Type", "application/octet-stream").want(t, 202)
	s.do("DELETE", loc, nil).want(t, 204)
	if got := testtool.DirNames(t, tmp); len(got) != 0 {
		t.Fatalf("with no upload open, TMPDIR holds %v", got)
	}
	s.push("a", "v1", im)
	if got := testtool.DirNames(t, tmp); len(got) != 0 {
		t.Fatalf("after a push, TMPDIR holds %v", got)
	}
	got := s.do("GET", "/v2/a/blobs/"+string(manifest.FromBytes(im.layer)), nil).want(t, 200).body
	if !bytes.Equal(got, im.layer) {
		t.Fatalf("the layer came back as %d other bytes", len(got))
	}
	s.do("GET", "/v2/a/manifests/v1", nil, "Accept", manifest.MediaTypeOCIManifest).want(t, 200)
	single := []byte("sent in one POST")
	d := manifest.FromBytes(single)
	s.do("POST", "/v2/a/blobs/uploads/?digest="+string(d), single).want(t, 201)
	if got := s.do("GET", "/v2/a/blobs/"+string(d), nil).want(t, 200).body; !bytes.Equal(got, single) {
		t.Fatalf("single POST blob = %q", got)
	}
	if got := testtool.DirNames(t, tmp); len(got) != 0 {
		t.Fatalf("after a single POST, TMPDIR holds %v", got)
	}
}

// Close ends the open uploads of New(nil) and removes their directory.
func TestNewNilCloseRemovesUploads(t *testing.T) {
	s, tmp, _ := startNil(t)
	loc := s.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
	s.do("PATCH", loc, []byte("abandoned"), "Content-Type", "application/octet-stream").want(t, 202)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := testtool.DirNames(t, tmp); len(got) != 0 {
		t.Fatalf("after Close, TMPDIR holds %v", got)
	}
	s.do("PATCH", loc, []byte("more"), "Content-Type", "application/octet-stream").wantError(t, 404, "BLOB_UPLOAD_UNKNOWN")
}

// Over a layout storage, uploads go under the root without being told, so
// that a finished one is linked into place.
func TestNewLayoutStorageUploadsUnderRoot(t *testing.T) {
	root := t.TempDir()
	srv := server.New(&server.Options{Storage: server.NewLayoutStorage(root)})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	s := &testServer{Server: srv, root: root, url: hs.URL, hc: hs.Client(), t: t}
	loc := s.do("POST", "/v2/a/blobs/uploads/", nil).want(t, 202).Header.Get("Location")
	if got := testtool.DirNames(t, filepath.Join(root, server.UploadsDir)); len(got) != 1 {
		t.Fatalf("%s holds %v while an upload is open", server.UploadsDir, got)
	}
	s.do("DELETE", loc, nil).want(t, 204)
	s.push("a", "v1", newImage("layout", 100, nil))
	checkLayout(t, root, "a")
}

// The memory storage takes a finished upload's file whole, refuses one
// that is not what the proof says, and removes the file either way.
func TestMemoryStorageAdoptBlob(t *testing.T) {
	st := server.NewMemoryStorage()
	a, ok := st.(server.BlobAdopter)
	if !ok {
		t.Fatal("the memory storage cannot adopt files: every upload would be copied twice")
	}
	b := []byte("an uploaded blob")
	desc := manifest.DescriptorFor("application/octet-stream", b)
	v := manifest.NewVerifier(bytes.NewReader(b), desc)
	if _, err := io.Copy(io.Discard, v); err != nil {
		t.Fatal(err)
	}
	proof, err := v.Verified()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	grown := filepath.Join(dir, "grown")
	os.WriteFile(grown, append(b, '!'), 0o600)
	if err := a.AdoptBlob(proof, grown); !errors.Is(err, manifest.ErrUnverified) {
		t.Fatalf("adopting a file that changed since it was verified: %v", err)
	}
	if _, err := st.StatBlob(desc.Digest); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("the refused file was stored: %v", err)
	}
	good := filepath.Join(dir, "good")
	os.WriteFile(good, b, 0o600)
	if err := a.AdoptBlob(proof, good); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{grown, good} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after AdoptBlob: %v", filepath.Base(p), err)
		}
	}
	f, err := st.OpenBlob(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := io.ReadAll(f); !bytes.Equal(got, b) {
		t.Fatalf("adopted blob reads %q", got)
	}
}

// A nil *Options is the zero Options: no authentication, deletes allowed.
func TestNewNilAllowsEverything(t *testing.T) {
	s, _, _ := startNil(t)
	s.push("a", "v1", newImage("x", 10, nil))
	r := s.do("DELETE", "/v2/a/manifests/v1", nil)
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", r.StatusCode, r.body)
	}
}
