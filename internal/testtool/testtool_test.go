package testtool_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
)

// Tar writes the entries given, in order, the same bytes every time;
// Files lists files by name.
func TestTar(t *testing.T) {
	entries := append(testtool.Files(map[string]string{"b": "2", "a": "1"}, 0o755),
		testtool.Entry{Name: "d/", Type: tar.TypeDir}, testtool.Entry{Name: "l", Type: tar.TypeSymlink, Link: "a"})
	b := testtool.Tar(t, entries...)
	if !bytes.Equal(b, testtool.Tar(t, entries...)) {
		t.Fatal("the same entries gave other bytes")
	}
	tr := tar.NewReader(bytes.NewReader(b))
	for _, want := range []struct {
		name string
		typ  byte
		mode int64
		data string
	}{{"a", tar.TypeReg, 0o755, "1"}, {"b", tar.TypeReg, 0o755, "2"}, {"d/", tar.TypeDir, 0o644, ""}, {"l", tar.TypeSymlink, 0o644, ""}} {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if hdr.Name != want.name || hdr.Typeflag != want.typ || hdr.Mode != want.mode || string(data) != want.data || !hdr.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("entry %+v %q, want %+v", hdr, data, want)
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Fatalf("more entries: %v", err)
	}
}

func TestGzip(t *testing.T) {
	in := bytes.Repeat([]byte("skiff "), 1000)
	for _, level := range []int{gzip.NoCompression, gzip.BestSpeed, gzip.DefaultCompression} {
		z := testtool.Gzip(t, in, level)
		if !bytes.Equal(testtool.Gunzip(t, z), in) || !bytes.Equal(z, testtool.Gzip(t, in, level)) {
			t.Errorf("level %d: no round trip, or other bytes the second time", level)
		}
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := testtool.NewClock(start)
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("Now = %v", got)
	}
}
