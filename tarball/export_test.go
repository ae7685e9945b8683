package tarball_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

func flatten(t *testing.T, layers ...[]byte) (map[string]readEntry, []string, error) {
	t.Helper()
	var buf bytes.Buffer
	err := tarball.Flatten(context.Background(), &buf, openers(layers...), nil)
	if err != nil {
		return nil, nil, err
	}
	m, names := readTar(t, buf.Bytes())
	return m, names, nil
}

// sortedNames returns the names of m, sorted.
func sortedNames(m map[string]readEntry) string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

func TestFlattenWhiteouts(t *testing.T) {
	base := testtool.Tar(t,
		tDir("etc/"), tReg("etc/keep", "k"), tReg("etc/gone", "g"),
		tDir("opq/"), tReg("opq/old", "o"), tDir("opq/sub/"), tReg("opq/sub/deep", "d"),
		tDir("re/"), tReg("re/old", "o"),
		tDir("swap/"), tReg("swap/inner", "i"),
		tReg("shadow", "base"),
	)
	mid := testtool.Tar(t,
		tReg("etc/.wh.gone", ""),
		tDir("opq/"), tReg("opq/new", "n"), tReg("opq/.wh..wh..opq", ""),
		tReg(".wh.re", ""),
		tReg("swap", "now a file"),
		tReg("shadow", "mid"),
		tReg(".wh..wh.plnk", ""),
	)
	top := testtool.Tar(t,
		tDir("re/"), tReg("re/new", "n"),
		tReg("shadow", "top"),
	)
	m, _, err := flatten(t, testtool.Gzip(t, base, gzip.DefaultCompression), mid, testtool.Gzip(t, top, gzip.DefaultCompression))
	if err != nil {
		t.Fatal(err)
	}
	want := "etc/ etc/keep opq/ opq/new re/ re/new shadow swap"
	if got := sortedNames(m); got != want {
		t.Errorf("flattened\n %s\nwant\n %s", got, want)
	}
	if m["shadow"].data != "top" || m["swap"].data != "now a file" {
		t.Errorf("shadow %q swap %q", m["shadow"].data, m["swap"].data)
	}
}

func TestFlattenOpaqueRoot(t *testing.T) {
	m, _, err := flatten(t, testtool.Tar(t, tReg("a", "1"), tDir("d/")), testtool.Tar(t, tReg(".wh..wh..opq", ""), tReg("b", "2")))
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedNames(m); got != "b" {
		t.Errorf("flattened %q, want b", got)
	}
}

func TestFlattenImpliedDirs(t *testing.T) {
	// A higher layer's a/b needs a directory at a: a lower file there is
	// hidden, a lower directory keeps its metadata.
	m, names, err := flatten(t,
		testtool.Tar(t, tMode(tDir("d/"), 0o700), tReg("f", "file")),
		testtool.Tar(t, tReg("d/x", "x"), tReg("f/y", "y")))
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedNames(m); got != "d/ d/x f/y" {
		t.Errorf("flattened %q", got)
	}
	if m["d/"].hdr.Mode != 0o700 || names[0] != "d/x" {
		t.Errorf("order %q, d/ mode %o", names, m["d/"].hdr.Mode)
	}
}

func TestFlattenHardlinks(t *testing.T) {
	base := testtool.Tar(t, tReg("bin/tool", "T"), tReg("gone", "G"))
	top := testtool.Tar(t, tReg("own", "O"), tHard("own-link", "own"), tHard("/bin/alias", "/bin/tool"),
		tHard("kept", "gone"), tReg(".wh.gone", ""))
	m, names, err := flatten(t, base, top)
	if err != nil {
		t.Fatal(err)
	}
	// bin/alias follows bin/tool; kept links to a file whited out in the
	// same layer, so it takes the file's contents.
	if got := strings.Join(names, " "); got != "own own-link bin/tool bin/alias kept" {
		t.Errorf("order %q", got)
	}
	if k := m["kept"]; k.hdr.Typeflag != tar.TypeReg || k.data != "G" {
		t.Errorf("kept: type %c data %q", k.hdr.Typeflag, k.data)
	}
	if a := m["bin/alias"]; a.hdr.Typeflag != tar.TypeLink || a.hdr.Linkname != "bin/tool" {
		t.Errorf("bin/alias: type %c -> %q", a.hdr.Typeflag, a.hdr.Linkname)
	}
}

func TestFlattenHardlinkToShadowedFile(t *testing.T) {
	// The link's own layer holds its target, which a higher layer
	// replaces: the layer is read again for the old contents.
	lower := testtool.Tar(t, tReg("t", "old"), tHard("l1", "t"), tHard("l2", "l1"), tHard("l3", "t"))
	upper := testtool.Tar(t, tReg("t", "new"))
	m, _, err := flatten(t, lower, testtool.Gzip(t, upper, gzip.DefaultCompression))
	if err != nil {
		t.Fatal(err)
	}
	if m["t"].data != "new" || m["l1"].data != "old" || m["l1"].hdr.Typeflag != tar.TypeReg {
		t.Errorf("t %q, l1 %c %q", m["t"].data, m["l1"].hdr.Typeflag, m["l1"].data)
	}
	for _, n := range []string{"l2", "l3"} {
		if h := m[n].hdr; h.Typeflag != tar.TypeLink || h.Linkname != "l1" {
			t.Errorf("%s: type %c -> %q", n, h.Typeflag, h.Linkname)
		}
	}
}

func TestFlattenDanglingHardlink(t *testing.T) {
	for name, layer := range map[string][]byte{
		"missing": testtool.Tar(t, tHard("h", "nowhere")),
		"cycle":   testtool.Tar(t, tHard("a", "b"), tHard("b", "a")),
		"to dir":  testtool.Tar(t, tDir("d/"), tHard("h", "d")),
	} {
		if _, _, err := flatten(t, layer); err == nil || !strings.HasPrefix(err.Error(), "tarball: ") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestFlattenUnsafeNames(t *testing.T) {
	for _, e := range []tEntry{tReg("../x", ""), tReg("a/.wh...", ""), tReg(".wh..", ""), tHard("h", "../../etc/passwd"), tReg(`..\x`, "")} {
		_, _, err := flatten(t, testtool.Tar(t, e))
		var upe *tarball.UnsafePathError
		if !errors.As(err, &upe) || !strings.HasPrefix(err.Error(), "tarball: layer 0: ") {
			t.Errorf("%q: err %v", e.Name, err)
		}
	}
}

func TestFlattenDrainsToVerify(t *testing.T) {
	// The right length and the wrong hash: the tar reader stops at the end
	// marker, before the verifier sees EOF, so only a drain reports it.
	plain := append(testtool.Tar(t, tReg("a", "1")), make([]byte, 4096)...)
	for name, b := range map[string][]byte{"plain": plain, "gzip": testtool.Gzip(t, plain, gzip.DefaultCompression)} {
		desc := manifest.Descriptor{Digest: manifest.FromString("something else"), Size: int64(len(b))}
		open := func() (io.ReadCloser, error) {
			return manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(b)), desc), nil
		}
		err := tarball.Flatten(context.Background(), io.Discard, []tarball.Opener{open}, nil)
		if !errors.Is(err, manifest.ErrDigestMismatch) {
			t.Errorf("%s: err %v, want a digest mismatch", name, err)
		}
		desc.Digest = manifest.FromBytes(b)
		if err := tarball.Flatten(context.Background(), io.Discard, []tarball.Opener{open}, nil); err != nil {
			t.Errorf("%s: matching digest: %v", name, err)
		}
	}
}

func TestFlattenOpenError(t *testing.T) {
	open := func() (io.ReadCloser, error) { return nil, errFail }
	err := tarball.Flatten(context.Background(), io.Discard, []tarball.Opener{open}, nil)
	if !errors.Is(err, errFail) {
		t.Errorf("err %v", err)
	}
}

func TestExtractLayers(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	base := testtool.Tar(t,
		tDir("etc/"), tReg("etc/gone", "g"), tReg("etc/keep", "k"),
		tDir("opq/"), tReg("opq/old", "o"),
		tMode(tDir("ro/"), 0o555), tMode(tReg("ro/file", "r"), 0o444),
		tReg("bin/tool", "T"), tHard("bin/alias", "bin/tool"), tSym("link", "etc/keep"),
		tMode(tReg("suid", "s"), 0o4755),
	)
	top := testtool.Tar(t, tReg("etc/.wh.gone", ""), tReg("opq/.wh..wh..opq", ""), tReg("opq/new", "n"),
		tReg("./etc/added", "a"))
	if err := tarball.Extract(context.Background(), root, openers(testtool.Gzip(t, base, gzip.DefaultCompression), top), nil); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(root, "ro"), 0o755)
	want := "bin bin/alias bin/tool etc etc/added etc/keep link opq opq/new ro ro/file suid"
	if got := listTree(t, root); got != want {
		t.Errorf("tree\n %s\nwant\n %s", got, want)
	}
	checkMode := func(name string, want os.FileMode) {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(root, name))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, want)
		}
	}
	checkMode("ro", os.ModeDir|0o555)
	checkMode("ro/file", 0o444)
	checkMode("suid", os.ModeSetuid|0o755)
	checkMode("link", os.ModeSymlink|0o777)
	a, _ := os.Stat(filepath.Join(root, "bin/alias"))
	b, _ := os.Stat(filepath.Join(root, "bin/tool"))
	if !os.SameFile(a, b) {
		t.Errorf("bin/alias is not a hard link to bin/tool")
	}
	if target, _ := os.Readlink(filepath.Join(root, "link")); target != "etc/keep" {
		t.Errorf("link -> %q", target)
	}
}

// ExtractRoot writes into the directory it was given open, even when
// another directory, or a link elsewhere, took its name since.
func TestExtractRootKeepsToTheOpenDirectory(t *testing.T) {
	parent := t.TempDir()
	dir, elsewhere := filepath.Join(parent, "work"), filepath.Join(parent, "elsewhere")
	for _, d := range []string{dir, elsewhere} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	moved := filepath.Join(parent, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Fatal(err)
	}
	if err := tarball.ExtractRoot(context.Background(), root, openers(testtool.Tar(t, tDir("d/"), tReg("d/f", "x"))), nil); err != nil {
		t.Fatal(err)
	}
	if got := listTree(t, moved); got != "d d/f" {
		t.Errorf("the open directory holds %q, want d d/f", got)
	}
	if got := listTree(t, elsewhere); got != "" {
		t.Errorf("the directory now under the name got %q", got)
	}
}

func TestExtractReplacesExisting(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "d", "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "d", "sub", "f"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(root, "file"), []byte("old"), 0o644)
	os.Symlink("file", filepath.Join(root, "sl"))
	layer := testtool.Tar(t, tReg("d", "now a file"), tDir("file/"), tReg("sl", "not a link"))
	if err := tarball.Extract(context.Background(), root, openers(layer), nil); err != nil {
		t.Fatal(err)
	}
	if got := listTree(t, root); got != "d file sl" {
		t.Errorf("tree %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "sl")); string(b) != "not a link" {
		t.Errorf("sl = %q", b)
	}
}

// listTree returns the slash paths under root, sorted, space-separated.
func listTree(t *testing.T, root string) string {
	t.Helper()
	var names []string
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}
