package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// memStore is a manifest.Fetcher over blobs in memory that counts fetches.
type memStore struct {
	mu      sync.Mutex
	blobs   map[manifest.Digest][]byte
	fetches map[manifest.Digest]int
}

func newMemStore() *memStore {
	return &memStore{blobs: map[manifest.Digest][]byte{}, fetches: map[manifest.Digest]int{}}
}

func (m *memStore) put(b []byte) manifest.Digest {
	d := manifest.FromBytes(b)
	m.mu.Lock()
	m.blobs[d] = b
	m.mu.Unlock()
	return d
}

func (m *memStore) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("memStore: %s: %w", desc.Digest, manifest.ErrNotFound)
	}
	m.fetches[desc.Digest]++
	return io.NopCloser(bytes.NewReader(b)), nil
}

// tfile is one entry of a tar built by mkTar.
type tfile struct {
	name string
	body string
	typ  byte // tar.TypeReg when zero
	link string
}

func symlink(name, target string) tfile { return tfile{name: name, typ: tar.TypeSymlink, link: target} }

// mkTar builds a tar of files in the given order.
func mkTar(t testing.TB, files ...tfile) []byte {
	t.Helper()
	entries := make([]testtool.Entry, len(files))
	for i, f := range files {
		entries[i] = testtool.Entry{Name: f.name, Type: f.typ, Link: f.link, Data: f.body}
	}
	return testtool.Tar(t, entries...)
}

// spec describes a test image: one layer per file body.
type spec struct {
	layers []string // the content of /file in each layer
	level  int      // gzip level; -2 means uncompressed layers
	docker bool     // Docker media types instead of OCI
	arch   string
}

// testImage is an image whose blobs are in a memStore.
type testImage struct {
	doc     *manifest.Document
	config  []byte
	layers  [][]byte // blobs, as stored
	diffIDs []manifest.Digest
}

func (ti *testImage) image(store *memStore, tags ...string) tarball.Entry {
	return tarball.Entry{Tags: tags, Manifest: ti.doc, Fetcher: store}
}

// buildImage builds an image after s and stores its blobs.
func buildImage(t testing.TB, store *memStore, s spec) *testImage {
	t.Helper()
	o := testimage.Options{Uncompressed: s.level == -2, GzipLevel: s.level, Docker: s.docker,
		Platform: manifest.Platform{OS: "linux", Architecture: s.arch}, Cmd: []string{"/bin/sh"}, Created: &created}
	if o.Platform.Architecture == "" {
		o.Platform.Architecture = "amd64"
	}
	if s.level == gzip.NoCompression {
		o.GzipLevel = testimage.Stored
	}
	for _, body := range s.layers {
		o.Tars = append(o.Tars, mkTar(t, tfile{name: "file", body: body}))
	}
	im, err := testimage.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range im.Blobs {
		store.put(b)
	}
	return &testImage{doc: im.Manifest, config: im.Config, layers: im.Layers, diffIDs: im.DiffIDs}
}

// created is when the images of the tests were made.
var created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func configJSON(t testing.TB, arch string, diffIDs []manifest.Digest) []byte {
	t.Helper()
	c := manifest.Config{Created: &created, Architecture: arch, OS: "linux",
		Config: manifest.RuntimeConfig{Cmd: []string{"/bin/sh"}},
		RootFS: manifest.RootFS{Type: "layers", DiffIDs: slices.Clone(diffIDs)}}
	if c.RootFS.DiffIDs == nil {
		c.RootFS.DiffIDs = []manifest.Digest{}
	}
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func manifestDoc(t testing.TB, docker bool, cfg manifest.Descriptor, layers []manifest.Descriptor) *manifest.Document {
	t.Helper()
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, Config: cfg, Layers: layers}
	if docker {
		m.MediaType = manifest.MediaTypeDockerManifest
	}
	if m.Layers == nil {
		m.Layers = []manifest.Descriptor{}
	}
	raw, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := manifest.Parse(raw, m.MediaType)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// writeTarball writes images sequentially and returns the bytes.
func writeTarball(t testing.TB, images []tarball.Entry, opts *tarball.WriteOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := tarball.Write(context.Background(), &buf, images, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// openBytes opens a tarball held in memory.
func openBytes(t testing.TB, b []byte) *tarball.Reader {
	t.Helper()
	r, err := tarball.Open(bytes.NewReader(b), int64(len(b)), &tarball.OpenOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// uncompressed returns a layer blob's tar bytes.
func uncompressed(t testing.TB, blob []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(blob, []byte{0x1f, 0x8b}) {
		return blob
	}
	return testtool.Gunzip(t, blob)
}

// checkImage fetches the image desc names from r and compares its config
// and its layers' uncompressed contents with want's.
func checkImage(t testing.TB, r manifest.Fetcher, desc manifest.Descriptor, want *testImage) *manifest.Document {
	t.Helper()
	doc, err := manifest.FetchDocument(context.Background(), r, desc)
	if err != nil {
		t.Fatalf("manifest %s: %v", desc.Digest, err)
	}
	if doc.Manifest == nil {
		t.Fatalf("%s is not a manifest", desc.Digest)
	}
	if got := testtool.FetchAll(t, r, doc.Manifest.Config); !bytes.Equal(got, want.config) {
		t.Errorf("config = %s, want %s", got, want.config)
	}
	if len(doc.Manifest.Layers) != len(want.layers) {
		t.Fatalf("%d layers, want %d", len(doc.Manifest.Layers), len(want.layers))
	}
	for i, l := range doc.Manifest.Layers {
		got := uncompressed(t, testtool.FetchAll(t, r, l))
		if manifest.FromBytes(got) != want.diffIDs[i] {
			t.Errorf("layer %d (%s): diffID %s, want %s", i, l.MediaType, manifest.FromBytes(got), want.diffIDs[i])
		}
	}
	return doc
}

// isErr reports whether err wraps target or is of target's type.
func isErr[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
