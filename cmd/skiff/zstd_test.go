package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/internal/zstd"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// zstdOf compresses b with the zstd command (skipped without it, a failure
// under SKIFF_INTEGRATION=1).
func zstdOf(t *testing.T, b []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(distribution.RequireTool(t, "zstd"), append([]string{"-q", "-c"}, args...)...)
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zstd: %v", err)
	}
	return out
}

// writeFile writes b to name in a new directory and returns its path.
func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// exportOf runs skiff export on src and returns the tar.
func exportOf(t *testing.T, src string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rootfs.tar")
	mustRun(t, "export", "--quiet", src, out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppendZstd appends a zstd'd tar, from a file and from stdin: it goes
// up as given, as an OCI zstd layer with the diffID of the tar inside, and
// a Docker base becomes an OCI image, as Docker's schema 2 has no zstd
// layer type.
func TestAppendZstd(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "app/web:1", 1000, 2000)
	layerTar := tarOf(t, 50_000)
	zst := zstdOf(t, layerTar, "-19")
	runWithStdin(t, nil, "append", "--quiet", "-f", writeFile(t, "layer.tar.zst", zst), srv.Host+"/app/web:1", srv.Host+"/app/web:2")
	doc, cfg := fetchImage(t, srv, "app/web:2")
	m := doc.Manifest
	if doc.MediaType != manifest.MediaTypeOCIManifest || m.Config.MediaType != manifest.MediaTypeOCIConfig ||
		m.Layers[0].MediaType != manifest.MediaTypeOCILayerGzip || m.Layers[1].MediaType != manifest.MediaTypeOCILayerGzip {
		t.Fatalf("a zstd layer on a Docker base: want an OCI image, got %s", doc.Raw)
	}
	if l := m.Layers[2]; l.MediaType != manifest.MediaTypeOCILayerZstd || l.Digest != manifest.FromBytes(zst) ||
		l.Size != int64(len(zst)) || cfg.RootFS.DiffIDs[2] != manifest.FromBytes(layerTar) {
		t.Fatalf("zstd layer %+v, diffID %s; want the bytes as given and the tar's digest", l, cfg.RootFS.DiffIDs[2])
	}

	runWithStdin(t, zst, "append", "--quiet", "--platform", "linux/amd64", "--base", "scratch", srv.Host+"/new/z:1")
	doc, cfg = fetchImage(t, srv, "new/z:1")
	if l := doc.Manifest.Layers[0]; l.MediaType != manifest.MediaTypeOCILayerZstd || l.Digest != manifest.FromBytes(zst) ||
		cfg.RootFS.DiffIDs[0] != manifest.FromBytes(layerTar) {
		t.Fatalf("zstd layer from stdin: %s", doc.Raw)
	}
	if !bytes.Contains(exportOf(t, srv.Host+"/new/z:1"), layerTar[512:50_512]) {
		t.Fatal("export of the zstd layer lost the file's contents")
	}
}

// tarFiles returns a tar of the named files, in order; a name ending in
// "/" is a directory.
func tarFiles(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, name := range files {
		if strings.HasSuffix(name, "/") {
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755})
			continue
		}
		body := bytes.Repeat([]byte(name+" "), 1000+i*300)
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZstdTarballs reads zstd through every tarball path: a docker tarball
// whose layers are zstd, the same tarball compressed with zstd (push, and
// copy docker-archive:), a compressed oci-archive:, and a docker save
// style tarball (manifest.json only) with a zstd layer file.
func TestZstdTarballs(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	base, top := tarFiles(t, "etc/", "etc/os-release", "bin/sh"), tarFiles(t, "app/", "app/main", "etc/.wh.os-release")
	src := srv.Host + "/z/img:2"
	runWithStdin(t, zstdOf(t, base), "append", "--quiet", "--platform", "linux/amd64", "--base", "scratch", srv.Host+"/z/img:1")
	want := runWithStdin(t, nil, "append", "--quiet", "-f", writeFile(t, "top.tar.zst", zstdOf(t, top, "-9")), srv.Host+"/z/img:1", src)
	rootfs := exportOf(t, src)

	dir := t.TempDir()
	file := filepath.Join(dir, "img.tar")
	mustRun(t, "pull", "--quiet", src, file)
	plain, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	zfile := writeFile(t, "img.tar.zst", zstdOf(t, plain))
	mustRun(t, "copy", "--quiet", src, "oci-archive:"+filepath.Join(dir, "img.oci.tar")+":v1")
	oci, _ := os.ReadFile(filepath.Join(dir, "img.oci.tar"))
	ociz := writeFile(t, "img.oci.tar.zst", zstdOf(t, oci))
	for i, args := range [][]string{
		{"push", file, srv.Host + "/z/pushed:1"},
		{"push", zfile, srv.Host + "/z/pushed:2"},
		{"copy", "docker-archive:" + zfile, srv.Host + "/z/copied:1"},
		{"copy", "oci-archive:" + ociz + ":v1", srv.Host + "/z/copied:2"},
	} {
		if got := strings.TrimSpace(mustRun(t, args...)); got != want {
			t.Errorf("%d: %s gave %s, want the image %s", i, strings.Join(args[:2], " "), got, want)
		}
	}
	for _, ref := range []string{"docker-archive:" + zfile, "oci-archive:" + ociz + ":v1", srv.Host + "/z/copied:1"} {
		if !bytes.Equal(exportOf(t, ref), rootfs) {
			t.Errorf("export of %s differs from the registry's", ref)
		}
	}

	// docker save's shape: manifest.json, a config, and the layer as a file.
	zlayer := zstdOf(t, top)
	cfg, _ := json.Marshal(manifest.Config{OS: "linux", Architecture: "amd64",
		RootFS: manifest.RootFS{Type: "layers", DiffIDs: []manifest.Digest{manifest.FromBytes(top)}}})
	mj, _ := json.Marshal([]map[string]any{{"Config": "c.json", "RepoTags": []string{"old:1"}, "Layers": []string{"l/layer.tar"}}})
	saved := writeFile(t, "saved.tar", tarEntries(t, "manifest.json", mj, "c.json", cfg, "l/layer.tar", zlayer))
	mustRun(t, "push", "--quiet", saved, srv.Host+"/z/saved:1")
	doc, _ := fetchImage(t, srv, "z/saved:1")
	if l := doc.Manifest.Layers[0]; doc.MediaType != manifest.MediaTypeOCIManifest || l.MediaType != manifest.MediaTypeOCILayerZstd ||
		l.Digest != manifest.FromBytes(zlayer) {
		t.Errorf("docker save tarball with a zstd layer: %s", doc.Raw)
	}
}

// tarEntries returns a tar of name, contents pairs.
func tarEntries(t *testing.T, kv ...any) []byte {
	t.Helper()
	var entries []testtool.Entry
	for i := 0; i < len(kv); i += 2 {
		entries = append(entries, testtool.Entry{Name: kv[i].(string), Data: string(kv[i+1].([]byte))})
	}
	return testtool.Tar(t, entries...)
}

// TestSkopeoZstdExport is issue 17's integration check: an image pushed to
// Debian's docker-registry, recompressed by skopeo to zstd and to
// zstd:chunked (whose metadata sits in skippable frames), exports to
// exactly the tar of the gzip original, and each zstd layer decompresses
// to the diffID its config records. Each copy goes to a registry of its
// own: skopeo 1.9 reuses a blob the destination can reach, gzip or not.
func TestSkopeoZstdExport(t *testing.T) {
	reg := distribution.Start(t, nil)
	skopeo := distribution.RequireTool(t, "skopeo")
	src := reg.Host + "/zstd/app:gzip"
	base := tarFiles(t, "etc/", "etc/os-release", "usr/", "usr/bin/", "usr/bin/tool", "var/cache/")
	top := tarFiles(t, "app/", "app/main", "etc/.wh.os-release", "var/cache/.wh..wh..opq", "var/cache/new")
	runWithStdin(t, base, "append", "--quiet", "--platform", "linux/amd64", "--base", "scratch", src)
	runWithStdin(t, top, "append", "--quiet", src)
	want := exportOf(t, src)
	for _, format := range []string{"zstd", "zstd:chunked"} {
		dst := distribution.Start(t, nil).Host + "/zstd/app:" + strings.ReplaceAll(format, ":", "-")
		runTool(t, skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
			"--dest-compress-format", format, "docker://"+src, "docker://"+dst)
		if got := exportOf(t, dst); !bytes.Equal(got, want) {
			t.Errorf("%s: skiff export gives %d bytes that differ from the gzip original's %d", format, len(got), len(want))
		}
		doc := checkZstdDiffIDs(t, dst)
		if _, chunked := doc.Manifest.Layers[0].Annotations["io.containers.zstd-chunked.manifest-checksum"]; chunked != (format == "zstd:chunked") {
			t.Errorf("%s: layer annotations %v", format, doc.Manifest.Layers[0].Annotations)
		}
	}
}

// checkZstdDiffIDs fetches every layer of the image at name, checks that it
// is zstd and that it decompresses to the diffID of the config. It returns
// the manifest.
func checkZstdDiffIDs(t *testing.T, name string) *manifest.Document {
	t.Helper()
	ref, _ := reference.Parse(name)
	repo := (&registry.Client{}).Repository(ref)
	doc, err := repo.FetchManifest(t.Context(), ref.Identifier())
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := manifest.FetchConfig(t.Context(), repo, doc.Manifest.Config)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range doc.Manifest.Layers {
		if l.MediaType != manifest.MediaTypeOCILayerZstd {
			t.Errorf("%s layer %d: media type %s", name, i, l.MediaType)
			continue
		}
		rc, err := repo.Fetch(t.Context(), l)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, zstd.NewReader(rc, nil))
		rc.Close()
		if err != nil {
			t.Fatalf("%s layer %d: %v", name, i, err)
		}
		if got := manifest.Digest("sha256:" + hexString(h.Sum(nil))); got != cfg.RootFS.DiffIDs[i] {
			t.Errorf("%s layer %d decompresses to %s, the config says %s", name, i, got, cfg.RootFS.DiffIDs[i])
		}
	}
	return doc
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestZstdMaxWindow: a zstd layer that asks for a window above 128 MiB
// (zstd --long=28 from a stream) is refused with one line that names the
// flag; --zstd-max-window raises the limit for append and export.
func TestZstdMaxWindow(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	layerTar := tarOf(t, 20_000)
	zst := zstdOf(t, layerTar, "--long=28")
	file := writeFile(t, "layer.tar.zst", zst)
	dst := srv.Host + "/big/window:1"
	code, _, stderr := runSkiff(t, t.Context(), "", "append", "--quiet", "--platform", "linux/amd64", "--base", "scratch", "-f", file, dst)
	if code != exitError || !strings.Contains(stderr, "window too large") || !strings.Contains(stderr, "--zstd-max-window") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("a 256 MiB window by default: exit %d, %q", code, stderr)
	}
	runWithStdin(t, nil, "append", "--quiet", "--zstd-max-window", "256", "--platform", "linux/amd64", "--base", "scratch", "-f", file, dst)
	if code, _, stderr := runSkiff(t, t.Context(), "", "export", dst, filepath.Join(t.TempDir(), "x.tar")); code != exitError || !strings.Contains(stderr, "--zstd-max-window") {
		t.Fatalf("export without the flag: exit %d, %q", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "fs.tar")
	mustRun(t, "export", "--zstd-max-window", "256", dst, out)
	if b, _ := os.ReadFile(out); !bytes.Contains(b, layerTar[512:20_512]) {
		t.Fatal("the export lost the layer's contents")
	}
}
