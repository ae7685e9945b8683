package testtool

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

// Entry is one entry of a tar a test builds.
type Entry struct {
	Name string
	Type byte  // tar.TypeReg when 0
	Mode int64 // 0o644 when 0
	Link string
	Data string
}

// Tar returns a plain tar of entries in the order given, every time at
// the epoch: the same entries give the same bytes.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Link, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %q: %v", e.Name, err)
		}
		if _, err := io.WriteString(tw, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Files returns regular-file entries for files, by name, with mode.
func Files(files map[string]string, mode int64) []Entry {
	out := make([]Entry, 0, len(files))
	for name, data := range files {
		out = append(out, Entry{Name: name, Mode: mode, Data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Gzip compresses b at compress/gzip's level, with no name and no time in
// the header: the same bytes give the same result.
func Gzip(t testing.TB, b []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Gunzip returns what the gzip stream b holds.
func Gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FetchAll returns the content desc names, fetched from f and verified.
func FetchAll(t testing.TB, f manifest.Fetcher, desc manifest.Descriptor) []byte {
	t.Helper()
	b, err := manifest.FetchAll(context.Background(), f, desc, 1<<30)
	if err != nil {
		t.Fatalf("fetch %s: %v", desc.Digest, err)
	}
	return b
}

// CheckGraph fetches, verified, every document and blob d reaches in f:
// an index's manifests, a manifest's config and layers.
func CheckGraph(t testing.TB, f manifest.Fetcher, d manifest.Descriptor) {
	t.Helper()
	doc, err := manifest.FetchDocument(context.Background(), f, d)
	if err != nil {
		t.Fatalf("%s: %v", d.Digest, err)
	}
	if doc.Index != nil {
		for _, child := range doc.Index.Manifests {
			CheckGraph(t, f, child)
		}
		return
	}
	for _, b := range append([]manifest.Descriptor{doc.Manifest.Config}, doc.Manifest.Layers...) {
		if _, err := manifest.FetchAll(context.Background(), f, b, 1<<30); err != nil {
			t.Fatalf("manifest %s: blob %s: %v", d.Digest, b.Digest, err)
		}
	}
}

// DirNames returns the names in dir, sorted.
func DirNames(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}
