package tarball_test

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/tarball"
)

// TestLayerFromDirPrefix packs a directory under a name as oras packs one:
// the directory entry first, every entry under the prefix, and a file
// with two links written whole each time, never as a hard link.
func TestLayerFromDirPrefix(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	b, _, _ := buildDir(t, dir, &tarball.LayerOptions{Prefix: "conf/x"})
	m, names := readTar(t, b)
	want := []string{"conf/x/", "conf/x/conf-link", "conf/x/empty", "conf/x/etc/", "conf/x/etc/app/", "conf/x/etc/app/conf", "conf/x/run.sh", "conf/x/zz-hard"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("entries %q, want %q", names, want)
	}
	if h := m["conf/x/zz-hard"]; runtime.GOOS != "windows" && (h.hdr.Typeflag != '0' || h.data != m["conf/x/run.sh"].data) {
		t.Errorf("the second link of run.sh is %c %q, want the whole file", h.hdr.Typeflag, h.data)
	}
	if m["conf/x/conf-link"].hdr.Linkname != "etc/app/conf" {
		t.Errorf("a symbolic link's target changed: %q", m["conf/x/conf-link"].hdr.Linkname)
	}
	for _, bad := range []string{"../x", "/abs", "a/../b", "./a"} {
		lw := tarball.NewLayerWriter(io.Discard, &tarball.LayerOptions{Prefix: bad})
		if err := lw.AddDir(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("Prefix %q: %v, want it refused", bad, err)
		}
	}
}
