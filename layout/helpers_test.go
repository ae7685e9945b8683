package layout_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// blob is content with its descriptor.
type blob struct {
	desc manifest.Descriptor
	data []byte
}

// image is a manifest, its config and layers, as blobs to push.
type image struct {
	manifest blob
	config   blob
	layers   []blob
}

// blobs lists the image's blobs, children before the manifest.
func (im image) blobs() []blob {
	return append(append([]blob{im.config}, im.layers...), im.manifest)
}

// buildImage makes a linux image for arch with one layer holding files,
// gzip-compressed when compress is set.
func buildImage(t testing.TB, arch string, files map[string]string, compress bool) image {
	t.Helper()
	im, err := testimage.New(testimage.Options{
		Tars:         [][]byte{testtool.Tar(t, testtool.Files(files, 0o755)...)},
		Uncompressed: !compress, GzipLevel: gzip.DefaultCompression,
		Platform: manifest.Platform{OS: "linux", Architecture: arch},
		Env:      []string{"PATH=/usr/bin:/bin"}, Cmd: []string{"/hello"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := im.Manifest.Manifest
	return image{manifest: blob{desc: im.Manifest.Descriptor(), data: im.Manifest.Raw}, config: blob{desc: m.Config, data: im.Config},
		layers: []blob{{desc: m.Layers[0], data: im.Layers[0]}}}
}

// buildIndex makes an OCI index of images, with their platforms.
func buildIndex(t testing.TB, images ...image) blob {
	t.Helper()
	idx := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex}
	for _, im := range images {
		cfg, err := manifest.ParseConfig(im.config.data)
		if err != nil {
			t.Fatal(err)
		}
		d := im.manifest.desc
		p := cfg.Platform()
		d.Platform = &p
		idx.Manifests = append(idx.Manifests, d)
	}
	return jsonBlob(t, manifest.MediaTypeOCIIndex, idx)
}

func jsonBlob(t testing.TB, mt string, v any) blob {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return blob{desc: manifest.DescriptorFor(mt, b), data: b}
}

func create(t testing.TB) (*layout.Layout, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l, dir
}

func push(t testing.TB, l *layout.Layout, blobs ...blob) {
	t.Helper()
	for _, b := range blobs {
		if err := l.Push(context.Background(), b.desc, bytes.NewReader(b.data)); err != nil {
			t.Fatalf("push %s: %v", b.desc.Digest, err)
		}
	}
}

// pushImage pushes every blob of im and tags its manifest.
func pushImage(t testing.TB, l *layout.Layout, im image, tag string) {
	t.Helper()
	push(t, l, im.blobs()...)
	if err := l.Tag(context.Background(), im.manifest.desc, tag); err != nil {
		t.Fatal(err)
	}
}

// fetchErr returns the error of fetching and reading desc whole.
func fetchErr(f manifest.Fetcher, desc manifest.Descriptor) error {
	rc, err := f.Fetch(context.Background(), desc)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func blobFile(dir string, d manifest.Digest) string {
	return filepath.Join(dir, "blobs", d.Algorithm(), d.Hex())
}

// tree returns every file under dir by slash path, with its content.
func tree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkNoTemp fails if a temporary file is left anywhere under dir.
func checkNoTemp(t testing.TB, dir string) {
	t.Helper()
	for name := range tree(t, dir) {
		if strings.HasPrefix(filepath.Base(name), ".tmp-") {
			t.Errorf("temporary file left behind: %s", name)
		}
	}
}

// errReader fails with err after yielding data.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var errBoom = errors.New("boom")
