package registrytest_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// storages are the implementations every storage test runs against.
var storages = map[string]func(t *testing.T) registrytest.Storage{
	"memory": func(*testing.T) registrytest.Storage { return registrytest.NewMemoryStorage() },
	"dir":    func(t *testing.T) registrytest.Storage { return registrytest.NewDirStorage(t.TempDir()) },
	"layout": func(t *testing.T) registrytest.Storage { return registrytest.NewLayoutStorage(t.TempDir()) },
}

var storageTests = []struct {
	name string
	run  func(t *testing.T, s registrytest.Storage)
}{
	{"BlobRoundTrip", testBlobRoundTrip},
	{"BlobVerified", testBlobVerified},
	{"BlobMissing", testBlobMissing},
	{"Links", testLinks},
	{"ListSorted", testListSorted},
	{"Repositories", testRepositories},
	{"InvalidNames", testInvalidNames},
}

func TestStorage(t *testing.T) {
	for name, newStorage := range storages {
		for _, tt := range storageTests {
			t.Run(name+"/"+tt.name, func(t *testing.T) { tt.run(t, newStorage(t)) })
		}
	}
}

func testBlobRoundTrip(t *testing.T, s registrytest.Storage) {
	b := []byte("some blob bytes")
	d := digestOf(b)
	if n, err := s.PutBlob(d, bytes.NewReader(b)); err != nil || n != int64(len(b)) {
		t.Fatalf("PutBlob: %d, %v", n, err)
	}
	if n, err := s.StatBlob(d); err != nil || n != int64(len(b)) {
		t.Fatalf("StatBlob: %d, %v", n, err)
	}
	f, err := s.OpenBlob(d)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(5, io.SeekStart)
	if got, _ := io.ReadAll(f); string(got) != string(b[5:]) {
		t.Fatalf("read after seek: %q", got)
	}
}

func testBlobVerified(t *testing.T, s registrytest.Storage) {
	d := digestOf([]byte("expected"))
	if _, err := s.PutBlob(d, strings.NewReader("something else")); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("PutBlob of wrong bytes: %v", err)
	}
	if _, err := s.StatBlob(d); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("a blob that failed verification is stored: %v", err)
	}
	if _, err := s.PutBlob("sha256:../../etc", strings.NewReader("x")); !errors.Is(err, manifest.ErrInvalidDigest) {
		t.Fatalf("PutBlob with a bad digest: %v", err)
	}
}

func testBlobMissing(t *testing.T, s registrytest.Storage) {
	d := digestOf([]byte("absent"))
	if _, err := s.StatBlob(d); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("StatBlob: %v", err)
	}
	if _, err := s.OpenBlob(d); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("OpenBlob: %v", err)
	}
}

// store puts b into s, as the handler does before it links anything.
func store(t *testing.T, s registrytest.Storage, b []byte) manifest.Digest {
	t.Helper()
	d := digestOf(b)
	if _, err := s.PutBlob(d, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

func testLinks(t *testing.T, s registrytest.Storage) {
	d := store(t, s, []byte("m"))
	m := registrytest.Link{Kind: registrytest.KindManifest, Name: string(d), Digest: d, MediaType: manifest.MediaTypeOCIManifest}
	tag := registrytest.Link{Kind: registrytest.KindTag, Name: "v1", Digest: d}
	for _, l := range []registrytest.Link{m, tag} {
		if err := s.Link("a/b", l); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Lookup("a/b", registrytest.KindManifest, string(d)); err != nil || got != m {
		t.Fatalf("Lookup manifest: %+v, %v", got, err)
	}
	if _, err := s.Lookup("a/b", registrytest.KindBlob, string(d)); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("kinds are separate: %v", err)
	}
	if _, err := s.Lookup("a/c", registrytest.KindTag, "v1"); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("repositories are separate: %v", err)
	}
	if err := s.Unlink("a/b", registrytest.KindTag, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("a/b", registrytest.KindTag, "v1"); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("after Unlink: %v", err)
	}
	if err := s.Unlink("a/b", registrytest.KindTag, "v1"); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("second Unlink: %v", err)
	}
}

func testListSorted(t *testing.T, s registrytest.Storage) {
	d, n := store(t, s, []byte("m")), store(t, s, []byte("n"))
	for _, m := range []manifest.Digest{d, n} {
		s.Link("r", registrytest.Link{Kind: registrytest.KindManifest, Name: string(m), Digest: m, MediaType: manifest.MediaTypeOCIManifest})
	}
	for _, tag := range []string{"b", "B", "a", "a.1"} {
		s.Link("r", registrytest.Link{Kind: registrytest.KindTag, Name: tag, Digest: d})
	}
	s.Link("r", registrytest.Link{Kind: registrytest.KindTag, Name: "a", Digest: n})
	links, err := s.List("r", registrytest.KindTag)
	var names []string
	for _, l := range links {
		names = append(names, l.Name)
	}
	if err != nil || !slices.Equal(names, []string{"B", "a", "a.1", "b"}) || links[1].Digest != digestOf([]byte("n")) {
		t.Fatalf("List: %+v, %v", links, err)
	}
	if blobs, err := s.List("r", registrytest.KindBlob); err != nil || slices.ContainsFunc(blobs, func(l registrytest.Link) bool { return l.Kind != registrytest.KindBlob }) {
		t.Fatalf("List of blobs: %+v, %v", blobs, err)
	}
	if _, err := s.List("unknown", registrytest.KindTag); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("List of an unknown repository: %v", err)
	}
}

func testRepositories(t *testing.T, s registrytest.Storage) {
	if repos, err := s.Repositories(); err != nil || len(repos) != 0 {
		t.Fatalf("empty storage: %q, %v", repos, err)
	}
	d := store(t, s, []byte("b"))
	for _, r := range []string{"z", "a/b/c", "a", "a/b"} {
		s.Link(r, registrytest.Link{Kind: registrytest.KindBlob, Name: string(d), Digest: d})
	}
	s.Unlink("z", registrytest.KindBlob, string(d))
	if repos, err := s.Repositories(); err != nil || !slices.Equal(repos, []string{"a", "a/b", "a/b/c", "z"}) {
		t.Fatalf("Repositories: %q, %v", repos, err)
	}
}

func testInvalidNames(t *testing.T, s registrytest.Storage) {
	d := digestOf([]byte("b"))
	bad := []struct {
		repo string
		l    registrytest.Link
	}{
		{"../escape", registrytest.Link{Kind: registrytest.KindBlob, Name: string(d), Digest: d}},
		{"a", registrytest.Link{Kind: registrytest.KindBlob, Name: "../../x", Digest: d}},
		{"a", registrytest.Link{Kind: registrytest.KindTag, Name: "../x", Digest: d}},
		{"a", registrytest.Link{Kind: "other", Name: "x", Digest: d}},
	}
	for _, b := range bad {
		if err := s.Link(b.repo, b.l); err == nil {
			t.Errorf("Link(%q, %+v) accepted", b.repo, b.l)
		}
	}
}

// A registry on a directory keeps its content across restarts, and keeps
// upload sessions there rather than in memory.
func TestDirRegistry(t *testing.T) {
	dir := t.TempDir()
	_, c := start(t, &registrytest.Options{Dir: dir})
	img := c.pushImage("a", "v1", "1")
	loc := c.do("POST", "/v2/a/blobs/uploads/", nil).Header.Get("Location")
	c.patch(loc, "0-2", []byte("abc")).want(t, 202)
	if entries, _ := os.ReadDir(filepath.Join(dir, "uploads")); len(entries) != 1 {
		t.Fatalf("%d upload files, want 1", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", img.desc.Digest.Hex())); err != nil {
		t.Fatalf("manifest blob: %v", err)
	}
	_, c2 := start(t, &registrytest.Options{Dir: dir})
	r := c2.do("GET", "/v2/a/manifests/v1", nil, ociAccept()...).want(t, 200)
	if !bytes.Equal(r.body, img.manifest) {
		t.Fatal("manifest differs after restart")
	}
	c2.do("GET", "/v2/a/blobs/"+string(digestOf(img.layer)), nil).want(t, 200)
}

// Options.Storage plugs in any implementation.
func TestCustomStorage(t *testing.T) {
	s := registrytest.NewMemoryStorage()
	srv, c := start(t, &registrytest.Options{Storage: s})
	d := c.pushBlob("a", []byte("x"))
	if srv.Storage() != s {
		t.Fatal("Storage() is not the one given")
	}
	if _, err := s.Lookup("a", registrytest.KindBlob, string(d)); err != nil {
		t.Fatal(err)
	}
}

// TestLayoutStorageServesForeignLayouts: a layout another tool wrote
// under the root, without the blob store the server keeps, is served.
func TestLayoutStorageServesForeignLayouts(t *testing.T) {
	root := t.TempDir()
	l, err := layout.Create(filepath.Join(root, "team", "app"))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := testimage.New(testimage.Options{LayerSizes: []int{3000}, Seed: 9})
	if err := testimage.Push(t.Context(), l, im, "v1"); err != nil {
		t.Fatal(err)
	}
	arm, _ := testimage.New(testimage.Options{LayerSizes: []int{100}, Seed: 10, Platform: manifest.Platform{OS: "linux", Architecture: "arm64"}})
	if err := testimage.Push(t.Context(), l, arm, ""); err != nil { // a child: a blob, not an index.json entry
		t.Fatal(err)
	}
	idx, _ := testimage.Index(false, im, arm)
	if err := testimage.PushDocument(t.Context(), l, idx, "multi"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(l.Dir(), "blobs", "sha256", ".tmp-123"), []byte("partial"), 0o644)
	_, c := start(t, &registrytest.Options{Storage: registrytest.NewLayoutStorage(root)})
	r := c.do("GET", "/v2/team/app/manifests/v1", nil, ociAccept()...).want(t, 200)
	if !bytes.Equal(r.body, im.Manifest.Raw) {
		t.Fatal("the layout's manifest is served differently")
	}
	layer := im.Manifest.Manifest.Layers[0]
	if r := c.do("GET", "/v2/team/app/blobs/"+string(layer.Digest), nil).want(t, 200); !bytes.Equal(r.body, im.Layers[0]) {
		t.Fatal("the layout's layer is served differently")
	}
	c.do("GET", "/v2/other/blobs/"+string(layer.Digest), nil).want(t, 404)
	c.do("GET", "/v2/team/app/manifests/multi", nil, ociAccept()...).want(t, 200)
	if r := c.do("GET", "/v2/team/app/manifests/"+string(arm.Manifest.Digest), nil, ociAccept()...).want(t, 200); !bytes.Equal(r.body, arm.Manifest.Raw) {
		t.Fatal("an index's child is served differently")
	}
	c.do("GET", "/v2/team/app/manifests/"+string(digestOf(arm.Config)), nil, ociAccept()...).want(t, 404)
}
