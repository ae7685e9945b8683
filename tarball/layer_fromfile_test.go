package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// emptyTemps points TMPDIR and LayerOptions.TempDir at empty directories
// and returns a check that they are still empty.
func emptyTemps(t *testing.T, opts *tarball.LayerOptions) func() {
	tmp, own := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	opts.TempDir = own
	return func() {
		t.Helper()
		for _, d := range []string{tmp, own} {
			if es, _ := os.ReadDir(d); len(es) != 0 {
				t.Errorf("%s holds %d files: the layer was copied", d, len(es))
			}
		}
	}
}

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readLayer(t *testing.T, l *tarball.Layer) []byte {
	t.Helper()
	rc, err := l.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A gzip'd tar (and a plain one for an uncompressed layer) is the layer
// where it lies: its digest is the file's, nothing is copied, and Remove
// leaves the file.
func TestLayerFromFileInPlace(t *testing.T) {
	plain := testtool.Tar(t, tDir("app/"), tReg("app/main", strings.Repeat("code ", 1000)))
	for name, c := range map[string]struct {
		file []byte
		mt   string
	}{
		"gzip":  {testtool.Gzip(t, plain, gzip.BestSpeed), ""},
		"plain": {plain, manifest.MediaTypeOCILayer},
	} {
		t.Run(name, func(t *testing.T) {
			opts := &tarball.LayerOptions{MediaType: c.mt}
			check := emptyTemps(t, opts)
			path := writeFile(t, c.file)
			l, err := tarball.LayerFromFile(t.Context(), path, opts)
			if err != nil {
				t.Fatal(err)
			}
			if l.Desc.Digest != manifest.FromBytes(c.file) || l.Desc.Size != int64(len(c.file)) || l.DiffID != manifest.FromBytes(plain) {
				t.Errorf("layer %+v diffID %s: want the file's digest and the tar's diffID", l.Desc, l.DiffID)
			}
			if got := readLayer(t, l); !bytes.Equal(got, c.file) {
				t.Error("the layer's bytes are not the file's")
			}
			check()
			if err := l.Remove(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("Remove removed the caller's file: %v", err)
			}
		})
	}
}

// A plain tar bound for a gzip layer is compressed as it is read, to the
// bytes LayerFromTar would store, each time it is opened; nothing is
// copied.
func TestLayerFromFileCompressedOnOpen(t *testing.T) {
	plain := testtool.Tar(t, tDir("app/"), tReg("app/main", strings.Repeat("code ", 1000)))
	want, err := tarball.LayerFromTar(t.Context(), bytes.NewReader(plain), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Remove()
	opts := &tarball.LayerOptions{}
	check := emptyTemps(t, opts)
	l, err := tarball.LayerFromFile(t.Context(), writeFile(t, plain), opts)
	if err != nil {
		t.Fatal(err)
	}
	if l.Desc.Digest != want.Desc.Digest || l.Desc.Size != want.Desc.Size || l.Desc.MediaType != want.Desc.MediaType || l.DiffID != want.DiffID {
		t.Fatalf("LayerFromFile %+v %s, LayerFromTar %+v %s", l.Desc, l.DiffID, want.Desc, want.DiffID)
	}
	for range 2 {
		if got := readLayer(t, l); manifest.FromBytes(got) != want.Desc.Digest {
			t.Fatal("an open of the layer gave other bytes")
		}
	}
	check()
}

// A file changed after LayerFromFile is not served as the layer.
func TestLayerFromFileChanged(t *testing.T) {
	plain := testtool.Tar(t, tReg("a", "one"))
	path := writeFile(t, testtool.Gzip(t, plain, gzip.BestSpeed))
	l, err := tarball.LayerFromFile(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, testtool.Gzip(t, testtool.Tar(t, tReg("a", "two")), gzip.BestSpeed), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := l.Open()
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if err == nil {
		t.Fatal("a changed file was served as the layer")
	}
}

// LayerFromFile and Open stream: describing and reading a 32 MiB layer
// allocates a small fraction of it.
func TestLayerFromFileStreams(t *testing.T) {
	const size = 32 << 20
	data := make([]byte, size)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(data)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
	tw.Write(data)
	tw.Close()
	var zbuf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.HuffmanOnly)
	zw.Write(buf.Bytes())
	zw.Close()
	path := writeFile(t, zbuf.Bytes())
	data, buf, zbuf = nil, bytes.Buffer{}, bytes.Buffer{}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := tarball.LayerFromFile(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Open()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != l.Desc.Size {
		t.Fatalf("read %d of %d bytes: %v", n, l.Desc.Size, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("describing and reading a %d MiB layer allocated %d KiB", size>>20, alloc>>10)
	if alloc > size/4 {
		t.Errorf("describing and reading a %d MiB layer allocated %d MiB: it does not stream", size>>20, alloc>>20)
	}
}

// LayerFromTar takes a tar stream as it is: times and owners are not
// normalized (the package doc once said they were).
func TestLayerFromTarKeepsTimes(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	when := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg, ModTime: when, Uid: 1000})
	tw.Write([]byte("x"))
	tw.Close()
	l, err := tarball.LayerFromTar(t.Context(), bytes.NewReader(buf.Bytes()), &tarball.LayerOptions{MediaType: manifest.MediaTypeOCILayer})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Remove()
	hdr, err := tar.NewReader(bytes.NewReader(readLayer(t, l))).Next()
	if err != nil || !hdr.ModTime.Equal(when) || hdr.Uid != 1000 {
		t.Errorf("header %+v, %v: want the input's time and owner", hdr, err)
	}
}
