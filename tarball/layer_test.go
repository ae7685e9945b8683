package tarball_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// makeTree fills dir with a small tree: files, a subdirectory, a symlink,
// an executable and, where the platform allows, a hard link.
func makeTree(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "etc", "app"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "etc", "app", "conf"), []byte("k=v\n"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	must(os.Symlink("etc/app/conf", filepath.Join(dir, "conf-link")))
	if runtime.GOOS != "windows" {
		must(os.Link(filepath.Join(dir, "run.sh"), filepath.Join(dir, "zz-hard")))
		must(os.Chmod(filepath.Join(dir, "run.sh"), 0o755))
	}
}

// buildDir builds a layer of dir into memory.
func buildDir(t *testing.T, dir string, opts *tarball.LayerOptions) ([]byte, manifest.Descriptor, manifest.Digest) {
	t.Helper()
	var buf bytes.Buffer
	lw := tarball.NewLayerWriter(&buf, opts)
	if err := lw.AddDir(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), lw.Descriptor(), lw.DiffID()
}

func TestLayerFromDirDeterministic(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	_, d1, id1 := buildDir(t, dir, nil)
	_, d2, id2 := buildDir(t, dir, nil)
	if d1.Digest != d2.Digest || id1 != id2 {
		t.Fatalf("same tree, different layers: %s/%s vs %s/%s", d1.Digest, id1, d2.Digest, id2)
	}
	later := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d.Type()&fs.ModeSymlink == 0 {
			os.Chtimes(p, later, later)
		}
		return err
	})
	if _, d3, _ := buildDir(t, dir, nil); d3.Digest != d1.Digest {
		t.Errorf("mtimes changed the digest although times are not kept")
	}
	if _, d4, _ := buildDir(t, dir, &tarball.LayerOptions{KeepTimes: true}); d4.Digest == d1.Digest {
		t.Errorf("KeepTimes gave the same digest as zeroed times")
	}
	fixed := &tarball.LayerOptions{ModTime: time.Unix(1700000000, 0)}
	b, d5, _ := buildDir(t, dir, fixed)
	if d5.Digest == d1.Digest {
		t.Errorf("ModTime gave the same digest as the epoch")
	}
	m, _ := readTar(t, b)
	if mt := m["run.sh"].hdr.ModTime; !mt.Equal(fixed.ModTime) {
		t.Errorf("ModTime = %v, want %v", mt, fixed.ModTime)
	}
}

func TestLayerDescriptorMatchesBytes(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	b, desc, diffID := buildDir(t, dir, nil)
	if desc.MediaType != manifest.MediaTypeOCILayerGzip {
		t.Errorf("media type %q", desc.MediaType)
	}
	if desc.Digest != manifest.FromBytes(b) || desc.Size != int64(len(b)) {
		t.Errorf("descriptor %s/%d, bytes %s/%d", desc.Digest, desc.Size, manifest.FromBytes(b), len(b))
	}
	if err := desc.Validate(); err != nil {
		t.Error(err)
	}
	plain := testtool.Gunzip(t, b)
	if diffID != manifest.FromBytes(plain) {
		t.Errorf("diffID %s, sha256 of the tar %s", diffID, manifest.FromBytes(plain))
	}
	if b[3] != 0 || !bytes.Equal(b[4:8], []byte{0, 0, 0, 0}) || b[9] != 255 {
		t.Errorf("gzip header not canonical: % x", b[:10])
	}
	gz, err := exec.LookPath("gzip")
	if err != nil {
		t.Skip("no gzip binary:", err)
	}
	cmd := exec.Command(gz, "-d", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gzip -d: %v", err)
	}
	if !bytes.Equal(out, plain) {
		t.Errorf("gzip -d and compress/gzip disagree")
	}
}

func TestLayerFromDirEntries(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	b, _, _ := buildDir(t, dir, nil)
	m, names := readTar(t, b)
	want := []string{"conf-link", "empty", "etc/", "etc/app/", "etc/app/conf", "run.sh", "zz-hard"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("entries %q, want %q", names, want)
	}
	check := func(name string, typ byte, mode int64, link, data string) {
		t.Helper()
		g := m[name]
		if g.hdr.Typeflag != typ || g.hdr.Mode&0o7777 != mode || g.hdr.Linkname != link || g.data != data {
			t.Errorf("%s: type %c mode %o link %q data %q", name, g.hdr.Typeflag, g.hdr.Mode, g.hdr.Linkname, g.data)
		}
		if g.hdr.Uid != 0 || g.hdr.Gid != 0 || g.hdr.Uname != "" || g.hdr.Gname != "" || g.hdr.ModTime.Unix() != 0 {
			t.Errorf("%s: owner %d:%d %q:%q mtime %v", name, g.hdr.Uid, g.hdr.Gid, g.hdr.Uname, g.hdr.Gname, g.hdr.ModTime)
		}
		if g.hdr.Format == tar.FormatGNU {
			t.Errorf("%s: GNU format", name)
		}
	}
	check("etc/app/conf", tar.TypeReg, 0o640, "", "k=v\n")
	check("run.sh", tar.TypeReg, 0o755, "", "#!/bin/sh\necho hi\n")
	check("conf-link", tar.TypeSymlink, 0o777, "etc/app/conf", "")
	check("etc/", tar.TypeDir, 0o755, "", "")
	if runtime.GOOS != "windows" {
		check("zz-hard", tar.TypeLink, 0o755, "run.sh", "")
	}
}

func TestLayerFromDirSkipsSockets(t *testing.T) {
	dir, err := os.MkdirTemp("", "sk")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Skip("no unix sockets:", err)
	}
	defer l.Close()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	b, _, _ := buildDir(t, dir, nil)
	if _, names := readTar(t, b); len(names) != 1 || names[0] != "f" {
		t.Errorf("entries %q, want only f", names)
	}
}

func TestLayerKeepOwners(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	b, _, _ := buildDir(t, dir, &tarball.LayerOptions{KeepOwners: true})
	m, _ := readTar(t, b)
	if uid := m["f"].hdr.Uid; uid != os.Getuid() && runtime.GOOS != "windows" {
		t.Errorf("uid %d, want %d", uid, os.Getuid())
	}
}

func TestLayerMediaTypes(t *testing.T) {
	files := map[string]tarball.File{"a": {Data: []byte("hello")}}
	for _, mt := range []string{manifest.MediaTypeDockerLayer, manifest.MediaTypeOCILayerGzip, manifest.MediaTypeOCILayer} {
		var buf bytes.Buffer
		lw := tarball.NewLayerWriter(&buf, &tarball.LayerOptions{MediaType: mt, Level: 9})
		if err := lw.AddFiles(files); err != nil {
			t.Fatal(err)
		}
		if err := lw.Close(); err != nil {
			t.Fatal(err)
		}
		desc := lw.Descriptor()
		if desc.MediaType != mt || desc.Digest != manifest.FromBytes(buf.Bytes()) {
			t.Errorf("%s: descriptor %+v", mt, desc)
		}
		gzipped := bytes.HasPrefix(buf.Bytes(), []byte{0x1f, 0x8b})
		if gzipped == (mt == manifest.MediaTypeOCILayer) {
			t.Errorf("%s: gzip %v", mt, gzipped)
		}
		if mt == manifest.MediaTypeOCILayer && lw.DiffID() != desc.Digest {
			t.Errorf("uncompressed layer: diffID %s != digest %s", lw.DiffID(), desc.Digest)
		}
	}
	lw := tarball.NewLayerWriter(io.Discard, &tarball.LayerOptions{MediaType: manifest.MediaTypeOCILayerZstd})
	if err := lw.AddFiles(files); err == nil || !strings.HasPrefix(err.Error(), "tarball: ") {
		t.Errorf("zstd media type: err %v", err)
	}
	if lw.Close() == nil || lw.Descriptor().Digest != "" || lw.DiffID() != "" {
		t.Errorf("failed writer reports success")
	}
}

func TestLayerWriterNotClosed(t *testing.T) {
	lw := tarball.NewLayerWriter(io.Discard, nil)
	lw.WriteHeader(&tar.Header{Name: "a", Mode: 0o644, Typeflag: tar.TypeReg})
	if lw.Descriptor().Digest != "" || lw.DiffID() != "" {
		t.Errorf("descriptor before Close")
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if lw.Close() != nil || lw.Descriptor().Validate() != nil {
		t.Errorf("second Close or descriptor failed")
	}
}

func TestLayerWriterWriteError(t *testing.T) {
	lw := tarball.NewLayerWriter(failWriter{}, &tarball.LayerOptions{MediaType: manifest.MediaTypeOCILayer})
	err := lw.AddFiles(map[string]tarball.File{"a": {Data: bytes.Repeat([]byte("x"), 1<<16)}})
	if err == nil {
		err = lw.Close()
	}
	if !errors.Is(err, errFail) || !strings.HasPrefix(err.Error(), "tarball: ") {
		t.Errorf("err %v, want wrapped errFail", err)
	}
}

var errFail = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

func TestLayerFileOpenVerifies(t *testing.T) {
	tmp := t.TempDir()
	src := t.TempDir()
	makeTree(t, src)
	l, err := tarball.LayerFromDir(context.Background(), src, &tarball.LayerOptions{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || manifest.FromBytes(b) != l.Desc.Digest || manifest.FromBytes(testtool.Gunzip(t, b)) != l.DiffID {
		t.Fatalf("read back: %v", err)
	}
	paths, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(paths) != 1 {
		t.Fatalf("temp dir holds %q", paths)
	}
	b[len(b)-1] ^= 1
	os.WriteFile(paths[0], b, 0o600)
	rc, _ = l.Open()
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Errorf("tampered layer: err %v", err)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if paths, _ := filepath.Glob(filepath.Join(tmp, "*")); len(paths) != 0 {
		t.Errorf("left behind %q", paths)
	}
}

func TestLayerFromDirFailureLeavesNoFile(t *testing.T) {
	tmp := t.TempDir()
	_, err := tarball.LayerFromDir(context.Background(), filepath.Join(tmp, "missing"), &tarball.LayerOptions{TempDir: tmp})
	if err == nil || !strings.HasPrefix(err.Error(), "tarball: ") {
		t.Errorf("missing dir: err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := t.TempDir()
	makeTree(t, src)
	if _, err := tarball.LayerFromDir(ctx, src, &tarball.LayerOptions{TempDir: tmp}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err %v", err)
	}
	if paths, _ := filepath.Glob(filepath.Join(tmp, "*")); len(paths) != 0 {
		t.Errorf("left behind %q", paths)
	}
}
