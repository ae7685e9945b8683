package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/skiffoci/skiff/tarball"
)

// tEntry describes one tar entry for a test archive; tReg, tDir, tSym and
// tHard make the common kinds.
type tEntry struct {
	name, link string
	typ        byte
	mode       int64
	data       string
}

func tReg(name, data string) tEntry {
	return tEntry{name: name, typ: tar.TypeReg, mode: 0o644, data: data}
}

func tDir(name string) tEntry {
	return tEntry{name: name, typ: tar.TypeDir, mode: 0o755}
}

func tSym(name, target string) tEntry {
	return tEntry{name: name, typ: tar.TypeSymlink, mode: 0o777, link: target}
}

func tHard(name, target string) tEntry {
	return tEntry{name: name, typ: tar.TypeLink, mode: 0o644, link: target}
}

func tMode(e tEntry, m int64) tEntry { e.mode = m; return e }

// tarOf returns a plain tar of entries, written as given.
func tarOf(t testing.TB, entries ...tEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("WriteHeader(%q): %v", e.name, err)
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzip(t testing.TB, b []byte) []byte {
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

// openers returns an Opener for each layer's bytes.
func openers(layers ...[]byte) []tarball.Opener {
	out := make([]tarball.Opener, len(layers))
	for i, b := range layers {
		out[i] = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return out
}

// readEntry is one entry read back from an archive.
type readEntry struct {
	hdr  *tar.Header
	data string
}

// readTar returns the entries of a plain or gzip tar, keyed by name, and
// their names in order.
func readTar(t testing.TB, b []byte) (map[string]readEntry, []string) {
	t.Helper()
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		b = gunzip(t, b)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	m := map[string]readEntry{}
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return m, names
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		m[hdr.Name] = readEntry{hdr: hdr, data: string(data)}
		names = append(names, hdr.Name)
	}
}
