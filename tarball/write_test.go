package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/")
	}
}

// updating reports whether the test run was asked to rewrite golden files.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goldenImages are two small images sharing a layer; one is tagged twice,
// the other named by digest. Layers are stored gzip streams, so the bytes
// do not depend on the version of compress/flate.
func goldenImages(t testing.TB) ([]tarball.Entry, *memStore, []*testImage) {
	store := newMemStore()
	a := buildImage(t, store, spec{layers: []string{"hello, skiff\n", "shared\n"}, level: gzip.NoCompression})
	b := buildImage(t, store, spec{layers: []string{"shared\n"}, level: gzip.NoCompression, docker: true, arch: "arm64"})
	return []tarball.Entry{
		a.image(store, "skiff/tiny:v1", "skiff/tiny:latest"),
		b.image(store, "ghcr.io/skiff/other@"+string(b.doc.Digest)),
	}, store, []*testImage{a, b}
}

func TestWriteGolden(t *testing.T) {
	images, _, _ := goldenImages(t)
	for _, tc := range []struct {
		file string
		opts *tarball.WriteOptions
	}{
		{"docker25.tar", nil},
		{"legacy.tar", &tarball.WriteOptions{Legacy: true}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := writeTarball(t, images, tc.opts)
			path := filepath.Join("..", "testdata", "tarball", tc.file)
			if updating() {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (%d bytes, want %d); run with -update if the change is intended", path, len(got), len(want))
			}
		})
	}
}

// tarEntries lists the headers of a tar.
func tarEntries(t testing.TB, b []byte) []*tar.Header {
	t.Helper()
	var hs []*tar.Header
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func TestWriteDocker25Shape(t *testing.T) {
	images, _, imgs := goldenImages(t)
	out := writeTarball(t, images, nil)
	a, b := imgs[0], imgs[1]
	want := []string{"oci-layout", "index.json", "manifest.json", "blobs/", "blobs/sha256/",
		blobName(a.doc.Digest), blobName(manifest.FromBytes(a.config)),
		blobName(manifest.FromBytes(a.layers[0])), blobName(manifest.FromBytes(a.layers[1])),
		blobName(b.doc.Digest), blobName(manifest.FromBytes(b.config))}
	var names []string
	for _, h := range tarEntries(t, out) {
		names = append(names, h.Name)
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || (h.Mode != 0o644 && h.Mode != 0o755) {
			t.Errorf("%s: header not normalized: %+v", h.Name, h)
		}
	}
	if !equalStrings(names, want) {
		t.Errorf("entries\n %q\nwant\n %q", names, want)
	}
	var mj []tarball.ManifestEntry
	json.Unmarshal(entryBytes(t, out, "manifest.json"), &mj)
	if len(mj) != 2 || !equalStrings(mj[0].RepoTags, []string{"skiff/tiny:v1", "skiff/tiny:latest"}) ||
		!equalStrings(mj[1].RepoTags, []string{"ghcr.io/skiff/other:" + tarball.DigestTag}) {
		t.Errorf("manifest.json = %+v", mj)
	}
	if mj[0].Config != blobName(manifest.FromBytes(a.config)) || mj[1].Layers[0] != blobName(manifest.FromBytes(b.layers[0])) {
		t.Errorf("manifest.json paths = %+v", mj)
	}
	var idx manifest.Index
	json.Unmarshal(entryBytes(t, out, "index.json"), &idx)
	if len(idx.Manifests) != 3 || idx.Manifests[1].Annotations[tarball.AnnotationContainerdName] != "docker.io/skiff/tiny:latest" ||
		idx.Manifests[1].Annotations[tarball.AnnotationRefName] != "latest" || idx.Manifests[2].Digest != b.doc.Digest {
		t.Errorf("index.json = %+v", idx)
	}
}

func TestWriteLegacyShape(t *testing.T) {
	images, _, imgs := goldenImages(t)
	out := writeTarball(t, images, &tarball.WriteOptions{Legacy: true})
	a, b := imgs[0], imgs[1]
	want := []string{"manifest.json", string(manifest.FromBytes(a.config)),
		manifest.FromBytes(a.layers[0]).Hex() + ".tar.gz", manifest.FromBytes(a.layers[1]).Hex() + ".tar.gz",
		string(manifest.FromBytes(b.config))}
	var names []string
	for _, h := range tarEntries(t, out) {
		names = append(names, h.Name)
	}
	if !equalStrings(names, want) {
		t.Errorf("entries\n %q\nwant\n %q", names, want)
	}
}

func blobName(d manifest.Digest) string { return "blobs/" + d.Algorithm() + "/" + d.Hex() }

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// entryBytes returns the content of the tar entry name.
func entryBytes(t testing.TB, b []byte, name string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.Name == name {
			data, _ := io.ReadAll(tr)
			return data
		}
	}
}

// sizeCases are image sets with contents of awkward sizes, a sha512 layer
// (whose long name needs a PAX header) and no layer at all.
func sizeCases(t *testing.T) map[string][]tarball.Entry {
	images, store, _ := goldenImages(t)
	big := buildImage(t, store, spec{layers: []string{string(make([]byte, 512-10)), string(make([]byte, 1000))}, level: gzip.BestSpeed})
	empty := buildImage(t, store, spec{})
	return map[string][]tarball.Entry{
		"golden": images,
		"big":    {big.image(store, "big")},
		"empty":  {empty.image(store)},
		"sha512": {sha512Image(t, store)},
		"all":    append(images, big.image(store, "a/b:c"), empty.image(store, "e")),
	}
}

// sha512Image is an image whose one layer is named by a sha512 digest.
func sha512Image(t testing.TB, store *memStore) tarball.Entry {
	raw := mkTar(t, tfile{name: "file", body: "sha512"})
	g := manifest.NewDigester(manifest.SHA512)
	g.Write(raw)
	layer := manifest.Descriptor{MediaType: manifest.MediaTypeOCILayer, Digest: g.Digest(), Size: int64(len(raw))}
	store.mu.Lock()
	store.blobs[layer.Digest] = raw
	store.mu.Unlock()
	cfg := configJSON(t, "amd64", []manifest.Digest{manifest.FromBytes(raw)})
	store.put(cfg)
	doc := manifestDoc(t, false, manifest.DescriptorFor(manifest.MediaTypeOCIConfig, cfg), []manifest.Descriptor{layer})
	return tarball.Entry{Tags: []string{"long:names"}, Manifest: doc, Fetcher: store}
}

func TestCalculateSizeEqualsWritten(t *testing.T) {
	for name, images := range sizeCases(t) {
		for _, legacy := range []bool{false, true} {
			opts := &tarball.WriteOptions{Legacy: legacy}
			size, err := tarball.CalculateSize(images, opts)
			if err != nil {
				t.Fatal(err)
			}
			out := writeTarball(t, images, opts)
			if size != int64(len(out)) {
				t.Errorf("%s legacy=%v: CalculateSize = %d, wrote %d", name, legacy, size, len(out))
			}
			tarEntries(t, out) // archive/tar reads it
		}
	}
}

// TestPlanOffsets checks every planned offset against the bytes written.
func TestPlanOffsets(t *testing.T) {
	for name, images := range sizeCases(t) {
		plan, err := tarball.NewPlan(images, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := writeTarball(t, images, nil)
		hs := tarEntries(t, out)
		if len(hs) != len(plan.Files) {
			t.Fatalf("%s: %d entries written, %d planned", name, len(hs), len(plan.Files))
		}
		for i, e := range plan.Files {
			if hs[i].Name != e.Name || hs[i].Size != e.Size {
				t.Errorf("%s: entry %d is %s (%d bytes), planned %s (%d)", name, i, hs[i].Name, hs[i].Size, e.Name, e.Size)
			}
			if e.Blob.Digest != "" && manifest.FromBytes(out[e.Offset:e.Offset+e.Size]) != e.Blob.Digest && e.Blob.Digest.Algorithm() == "sha256" {
				t.Errorf("%s: %s: bytes at the planned offset do not match", name, e.Name)
			}
			if !bytes.Contains(out[e.HeaderOffset:e.Offset], []byte(filepath.Base(e.Name))) {
				t.Errorf("%s: %s: no header at %d", name, e.Name, e.HeaderOffset)
			}
		}
	}
}

func TestWriteFileParallel(t *testing.T) {
	images, store, _ := goldenImages(t)
	for name, more := range sizeCases(t) {
		if name != "golden" {
			images = append(images, more...)
		}
	}
	want := writeTarball(t, images, nil)
	path := filepath.Join(t.TempDir(), "out.tar")
	if err := tarball.WriteFile(context.Background(), path, images, &tarball.WriteOptions{Jobs: 3}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Errorf("WriteFile wrote %d bytes unlike Write's %d", len(got), len(want))
	}
	synced := filepath.Join(t.TempDir(), "synced.tar")
	if err := tarball.WriteFile(context.Background(), synced, images, &tarball.WriteOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(synced); !bytes.Equal(got, want) {
		t.Errorf("WriteFile with Sync wrote %d bytes unlike Write's %d", len(got), len(want))
	}
	shared := manifest.FromBytes([]byte(mkTarGz(t, "shared\n")))
	if n := store.fetches[shared]; n != 3 {
		t.Errorf("shared layer fetched %d times by three writes, want 3", n)
	}
}

func mkTarGz(t testing.TB, body string) []byte {
	return testtool.Gzip(t, mkTar(t, tfile{name: "file", body: body}), gzip.NoCompression)
}

func TestWriteVerifiesBlobs(t *testing.T) {
	images, store, imgs := goldenImages(t)
	bad := manifest.FromBytes(imgs[0].layers[0])
	store.blobs[bad] = flipByte(store.blobs[bad], 20)
	err := tarball.Write(context.Background(), io.Discard, images, nil)
	if !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Errorf("Write with a corrupt blob: %v, want a digest mismatch", err)
	}
	store.blobs[bad] = store.blobs[bad][1:]
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.tar")
	os.WriteFile(path, []byte("old"), 0o644)
	err = tarball.WriteFile(context.Background(), path, images, nil)
	if !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Errorf("WriteFile with a short blob: %v, want a size mismatch", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Error("WriteFile replaced the file after a failure")
	}
	// What is left is the one partial set, to resume from; a run that
	// succeeds removes it.
	if got := testtool.DirNames(t, dir); !slices.Equal(got, []string{".keep.tar.skiff-partial", ".keep.tar.skiff-state", "keep.tar"}) {
		t.Errorf("after a failed WriteFile the directory holds %v", got)
	}
	store.blobs[bad] = imgs[0].layers[0]
	if err := tarball.WriteFile(context.Background(), path, images, nil); err != nil {
		t.Fatal(err)
	}
	if got := testtool.DirNames(t, dir); !slices.Equal(got, []string{"keep.tar"}) {
		t.Errorf("after a WriteFile that succeeded the directory holds %v", got)
	}
}

func TestWriteRejects(t *testing.T) {
	images, store, imgs := goldenImages(t)
	index := manifestIndexDoc(t, imgs[0].doc.Descriptor())
	cases := map[string]tarball.Entry{
		"index":      {Manifest: index, Fetcher: store},
		"no fetcher": {Manifest: imgs[0].doc},
		"bad tag":    imgs[0].image(store, "Upper/Case:x"),
		"bad config": {Manifest: imgs[0].doc, Fetcher: store, Config: []byte("{}")},
		"no doc":     {Fetcher: store},
	}
	for name, im := range cases {
		if _, err := tarball.NewPlan([]tarball.Entry{images[0], im}, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := tarball.NewPlan(nil, nil); err == nil {
		t.Error("no image: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tarball.Write(ctx, io.Discard, images, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if err := tarball.WriteFile(ctx, filepath.Join(t.TempDir(), "x"), images, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteFile canceled: %v", err)
	}
}

func manifestIndexDoc(t testing.TB, descs ...manifest.Descriptor) *manifest.Document {
	raw, _ := json.Marshal(manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: descs})
	doc, err := manifest.Parse(raw, "")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestWriteMergesDuplicates(t *testing.T) {
	images, store, imgs := goldenImages(t)
	dup := imgs[0].image(store, "skiff/tiny:v1", "docker.io/skiff/tiny:v2")
	out := writeTarball(t, append(images, dup), nil)
	var mj []tarball.ManifestEntry
	json.Unmarshal(entryBytes(t, out, "manifest.json"), &mj)
	if len(mj) != 2 || !equalStrings(mj[0].RepoTags, []string{"skiff/tiny:v1", "skiff/tiny:latest", "skiff/tiny:v2"}) {
		t.Errorf("manifest.json = %+v", mj)
	}
}

// flipByte returns a copy of b with the byte at i changed.
func flipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0xff
	return b
}
