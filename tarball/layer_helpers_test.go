package tarball_test

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/tarball"
)

// tEntry describes one tar entry for a test archive; tReg, tDir, tSym and
// tHard make the common kinds, testtool.Tar the archive.
type tEntry = testtool.Entry

func tReg(name, data string) tEntry {
	return tEntry{Name: name, Type: tar.TypeReg, Mode: 0o644, Data: data}
}

func tDir(name string) tEntry {
	return tEntry{Name: name, Type: tar.TypeDir, Mode: 0o755}
}

func tSym(name, target string) tEntry {
	return tEntry{Name: name, Type: tar.TypeSymlink, Mode: 0o777, Link: target}
}

func tHard(name, target string) tEntry {
	return tEntry{Name: name, Type: tar.TypeLink, Mode: 0o644, Link: target}
}

func tMode(e tEntry, m int64) tEntry { e.Mode = m; return e }

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
		b = testtool.Gunzip(t, b)
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
