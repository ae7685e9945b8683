package artifact_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	artifact "github.com/skiffoci/skiff/registry/artifact"
)

// TestPullRefusesHostile pulls artifacts a hostile pusher made: each is
// refused with one line naming what was wrong, and nothing is written in
// the directory or outside it.
func TestPullRefusesHostile(t *testing.T) {
	tests := []struct {
		name   string
		layers []blobLayer
		want   string
	}{
		{"dot-dot title", []blobLayer{titled("../escape", []byte("x"))}, "climbs out"},
		{"dot-dot inside a title", []blobLayer{titled("a/../../escape", []byte("x"))}, ".."},
		{"absolute title", []blobLayer{titled("/tmp/escape", []byte("x"))}, "absolute"},
		{"backslash title", []blobLayer{titled(`..\escape`, []byte("x"))}, ".."},
		{"two of a title", []blobLayer{titled("a", []byte("x")), titled("a", []byte("y"))}, "two layers"},
		{"entry outside its directory", []blobLayer{dirLayer(t, "d", tarEntry{name: "d/", typ: tar.TypeDir}, tarEntry{name: "other/x", typ: tar.TypeReg, data: "x"})}, "outside the directory"},
		{"entry climbing", []blobLayer{dirLayer(t, "d", tarEntry{name: "d/../../x", typ: tar.TypeReg, data: "x"})}, ""},
		{"symlink out, absolute", []blobLayer{dirLayer(t, "d", tarEntry{name: "d/l", link: "/etc", typ: tar.TypeSymlink})}, "outside"},
		{"symlink out, relative", []blobLayer{dirLayer(t, "d", tarEntry{name: "d/l", link: "../../x", typ: tar.TypeSymlink})}, "outside"},
		{"symlink then through it", []blobLayer{dirLayer(t, "d", tarEntry{name: "d/l", link: "..", typ: tar.TypeSymlink}, tarEntry{name: "d/l/x", typ: tar.TypeReg, data: "x"})}, "outside"},
		{"hard link out", []blobLayer{dirLayer(t, "d", tarEntry{name: "d/h", link: "etc/passwd", typ: tar.TypeLink})}, "hard link"},
		{"whiteout", []blobLayer{dirLayer(t, "d", tarEntry{name: "d/.wh.x", typ: tar.TypeReg})}, "whiteout"},
		{"tar digest", []blobLayer{wrongTarDigest(dirLayer(t, "d", tarEntry{name: "d/x", typ: tar.TypeReg, data: "x"}))}, "digest"},
		{"not gzip", []blobLayer{{data: []byte("plain"), annotations: map[string]string{artifact.AnnotationTitle: "d", artifact.AnnotationUnpack: "true"}}}, "no tar+gzip"},
		{"no title", []blobLayer{{data: []byte("x")}}, "no layer has a title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			os.Mkdir(out, 0o755)
			src, _ := handMade(t, tt.layers...)
			_, err := artifact.Pull(t.Context(), src, out, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Pull: %v, want one line mentioning %q", err, tt.want)
			}
			if got := tree(t, parent); len(got) != 1 {
				t.Errorf("a refused pull left %v", got)
			}
		})
	}
}

// wrongTarDigest says the directory's tar has another digest.
func wrongTarDigest(l blobLayer) blobLayer {
	l.annotations[artifact.AnnotationDigest] = string(manifest.FromBytes([]byte("other")))
	return l
}

// TestPullThroughPlantedLink puts a link to another directory where a
// title leads: the file is not written there.
func TestPullThroughPlantedLink(t *testing.T) {
	out, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(out, "sub")); err != nil {
		t.Fatal(err)
	}
	for _, l := range []blobLayer{titled("sub/x", []byte("x")), dirLayer(t, "sub/d", tarEntry{name: "sub/d/x", typ: tar.TypeReg, data: "x"})} {
		src, _ := handMade(t, l)
		for _, overwrite := range []bool{false, true} {
			if _, err := artifact.Pull(t.Context(), src, out, &artifact.PullOptions{Overwrite: overwrite}); err == nil {
				t.Errorf("a pull through a link out of the directory succeeded (overwrite %v)", overwrite)
			}
			if got := tree(t, outside); len(got) != 0 {
				t.Fatalf("the pull wrote %v outside its directory", got)
			}
		}
	}
}

// TestPullDigestMismatch serves a layer whose bytes do not match its
// digest: an error, and nothing under the title.
func TestPullDigestMismatch(t *testing.T) {
	src, l := handMade(t, titled("a.txt", []byte("right")))
	dir := strings.TrimSuffix(strings.TrimPrefix(src, "oci:"), ":1")
	blob := filepath.Join(dir, "blobs", "sha256", manifest.FromBytes([]byte("right")).Hex())
	if err := os.WriteFile(blob, []byte("wrong"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = l
	out := t.TempDir()
	_, err := artifact.Pull(t.Context(), src, out, nil)
	if !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Errorf("Pull: %v, want a digest mismatch", err)
	}
	if got := tree(t, out); len(got) != 0 {
		t.Errorf("a failed pull left %v", got)
	}
}

// TestPullTarBomb unpacks a small layer that inflates past the budget.
func TestPullTarBomb(t *testing.T) {
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	tw.WriteHeader(&tar.Header{Name: "d/zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: 8 << 20})
	tw.Write(make([]byte, 8<<20))
	tw.Close()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(plain.Bytes())
	zw.Close()
	src, _ := handMade(t, blobLayer{data: gz.Bytes(), annotations: map[string]string{artifact.AnnotationTitle: "d", artifact.AnnotationUnpack: "true"}})
	out := t.TempDir()
	_, err := artifact.Pull(t.Context(), src, out, &artifact.PullOptions{MaxUncompressed: 1 << 20})
	var limit *manifest.LimitError
	if !errors.As(err, &limit) {
		t.Errorf("Pull: %v, want a *manifest.LimitError", err)
	}
	if got := tree(t, out); len(got) != 0 {
		t.Errorf("a refused pull left %v", got)
	}
}

// TestPullOverwrite refuses to replace a file or a directory without
// Overwrite, leaving it as it was, and replaces both with it.
func TestPullOverwrite(t *testing.T) {
	src, _ := handMade(t, titled("a.txt", []byte("new")), dirLayer(t, "d", tarEntry{name: "d/", typ: tar.TypeDir}, tarEntry{name: "d/x", typ: tar.TypeReg, data: "new"}))
	for _, existing := range []string{"a.txt", "d/old"} {
		out := t.TempDir()
		os.MkdirAll(filepath.Join(out, filepath.Dir(existing)), 0o755)
		os.WriteFile(filepath.Join(out, existing), []byte("mine"), 0o644)
		before := tree(t, out)
		_, err := artifact.Pull(t.Context(), src, out, nil)
		if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), strings.Split(existing, "/")[0]) {
			t.Errorf("%s there: %v, want fs.ErrExist naming it", existing, err)
		}
		if after := tree(t, out); len(after) != len(before) || after[existing] != "mine" {
			t.Errorf("%s there: a refused pull changed the directory to %v", existing, after)
		}
		if _, err := artifact.Pull(t.Context(), src, out, &artifact.PullOptions{Overwrite: true}); err != nil {
			t.Fatalf("with Overwrite: %v", err)
		}
		want := map[string]string{"a.txt": "new", "d": "/", "d/x": "new"}
		if existing == "a.txt" {
			want = map[string]string{"a.txt": "new", "d": "/", "d/x": "new"}
		}
		if got := tree(t, out); len(got) != len(want) || got["a.txt"] != "new" || got["d/x"] != "new" {
			t.Errorf("with Overwrite: %v, want %v (a directory replaced whole)", got, want)
		}
	}
}

// TestPullDotTitle unpacks a directory titled "." into the directory
// itself, refusing to replace what is there.
func TestPullDotTitle(t *testing.T) {
	src, _ := handMade(t, dirLayer(t, ".", tarEntry{name: "./", typ: tar.TypeDir}, tarEntry{name: "x", typ: tar.TypeReg, data: "x"}))
	out := t.TempDir()
	if _, err := artifact.Pull(t.Context(), src, out, nil); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, out); got["x"] != "x" || len(got) != 1 {
		t.Errorf("pulled %v, want x", got)
	}
	if _, err := artifact.Pull(t.Context(), src, out, nil); !errors.Is(err, fs.ErrExist) {
		t.Errorf("again: %v, want fs.ErrExist", err)
	}
}
