package tarball_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

func TestLayerFromFiles(t *testing.T) {
	files := map[string]tarball.File{
		"/usr/local/bin/tool": {Data: []byte("ELF"), Mode: 0o755},
		"etc/motd":            {Data: []byte("hi\n")},
		"./etc/secret":        {Data: []byte("s"), Mode: 0o600, Uid: 1000, Gid: 1000},
		"var/empty":           {Mode: fs.ModeDir | 0o700},
		"bin":                 {Mode: fs.ModeSymlink, Linkname: "usr/local/bin"},
		"tmp":                 {Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		"suid":                {Data: []byte("x"), Mode: fs.ModeSetuid | 0o755},
	}
	opts := &tarball.LayerOptions{TempDir: t.TempDir(), MediaType: manifest.MediaTypeDockerLayer}
	l, err := tarball.LayerFromFiles(files, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Remove()
	rc, _ := l.Open()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	m, names := readTar(t, buf.Bytes())
	want := "bin etc/ etc/motd etc/secret suid tmp/ usr/ usr/local/ usr/local/bin/ usr/local/bin/tool var/ var/empty/"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("entries\n %s\nwant\n %s", got, want)
	}
	for name, w := range map[string]struct {
		typ  byte
		mode int64
		data string
	}{
		"usr/":               {tar.TypeDir, 0o755, ""},
		"usr/local/bin/tool": {tar.TypeReg, 0o755, "ELF"},
		"etc/motd":           {tar.TypeReg, 0o644, "hi\n"},
		"etc/secret":         {tar.TypeReg, 0o600, "s"},
		"var/empty/":         {tar.TypeDir, 0o700, ""},
		"bin":                {tar.TypeSymlink, 0o777, ""},
		"tmp/":               {tar.TypeDir, 0o1777, ""},
		"suid":               {tar.TypeReg, 0o4755, "x"},
	} {
		g := m[name]
		if g.hdr.Typeflag != w.typ || g.hdr.Mode != w.mode || g.data != w.data || !g.hdr.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: type %c mode %o data %q mtime %v", name, g.hdr.Typeflag, g.hdr.Mode, g.data, g.hdr.ModTime)
		}
	}
	if g := m["etc/secret"].hdr; g.Uid != 1000 || g.Gid != 1000 {
		t.Errorf("owner %d:%d", g.Uid, g.Gid)
	}
	if m["bin"].hdr.Linkname != "usr/local/bin" {
		t.Errorf("symlink target %q", m["bin"].hdr.Linkname)
	}
	again, err := tarball.LayerFromFiles(files, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Remove()
	if again.Desc.Digest != l.Desc.Digest || again.DiffID != l.DiffID {
		t.Errorf("same files, different digests")
	}
}

func TestLayerFromFilesErrors(t *testing.T) {
	for name, files := range map[string]map[string]tarball.File{
		"escape":         {"../x": {}},
		"root":           {"./": {Mode: fs.ModeDir}},
		"duplicate":      {"a/b": {}, "a//b": {}},
		"file as parent": {"a": {}, "a/b": {}},
		"symlink no tgt": {"s": {Mode: fs.ModeSymlink}},
		"fifo":           {"p": {Mode: fs.ModeNamedPipe}},
		"dir with data":  {"d": {Mode: fs.ModeDir, Data: []byte("x")}},
	} {
		_, err := tarball.LayerFromFiles(files, &tarball.LayerOptions{TempDir: t.TempDir()})
		if err == nil || !strings.HasPrefix(err.Error(), "tarball: ") {
			t.Errorf("%s: err %v", name, err)
		}
		var upe *tarball.UnsafePathError
		if name == "escape" && !errors.As(err, &upe) {
			t.Errorf("escape: err %v is not an *UnsafePathError", err)
		}
	}
}
