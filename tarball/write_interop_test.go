package tarball_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// needSkopeo skips the test when skopeo is not installed, or fails it when
// SKIFF_INTEGRATION=1 asks for every integration test to run.
func needSkopeo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		if os.Getenv("SKIFF_INTEGRATION") == "1" {
			t.Fatal("skopeo is not on PATH, and SKIFF_INTEGRATION=1 forbids skipping")
		}
		t.Skip("skopeo is not on PATH: skipping the interop test (install skopeo to run it)")
	}
}

// skopeo runs skopeo with args and returns its standard output.
func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("skopeo", append([]string{"--insecure-policy"}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo %q: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// inspect runs skopeo inspect on ref and decodes the fields checked here.
func inspect(t *testing.T, ref string) (arch, digest string, layers int) {
	var v struct {
		Architecture string
		Digest       string
		Layers       []string
	}
	if err := json.Unmarshal(skopeo(t, "inspect", ref), &v); err != nil {
		t.Fatal(err)
	}
	return v.Architecture, v.Digest, len(v.Layers)
}

func TestSkopeoReadsSkiffTarballs(t *testing.T) {
	needSkopeo(t)
	images, _, imgs := goldenImages(t)
	dir := t.TempDir()
	docker25, legacy := filepath.Join(dir, "d25.tar"), filepath.Join(dir, "legacy.tar")
	if err := tarball.WriteFile(context.Background(), docker25, images, &tarball.WriteOptions{Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteFile(context.Background(), legacy, images, &tarball.WriteOptions{Legacy: true}); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{docker25, legacy} {
		for ref, want := range map[string]string{
			"skiff/tiny:v1": "amd64", "skiff/tiny:latest": "amd64", "ghcr.io/skiff/other:i-was-a-digest": "arm64",
		} {
			if arch, _, n := inspect(t, "docker-archive:"+file+":"+ref); arch != want || n == 0 {
				t.Errorf("%s %s: architecture %q with %d layers, want %s", filepath.Base(file), ref, arch, n, want)
			}
		}
	}
	oci := filepath.Join(dir, "oci")
	skopeo(t, "copy", "docker-archive:"+docker25+":skiff/tiny:latest", "oci:"+oci+":copied")
	if _, err := os.Stat(filepath.Join(oci, "index.json")); err != nil {
		t.Error(err)
	}
	// The Docker 25 shape is also an OCI archive, with the original manifests.
	if _, digest, _ := inspect(t, "oci-archive:"+docker25+":v1"); digest != string(imgs[0].doc.Digest) {
		t.Errorf("oci-archive: digest %s, want %s", digest, imgs[0].doc.Digest)
	}
}

func TestSkiffReadsSkopeoTarballs(t *testing.T) {
	needSkopeo(t)
	store := newMemStore()
	img := buildImage(t, store, spec{layers: []string{"one\n", "two\n"}, level: gzip.DefaultCompression})
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	os.Mkdir(layoutDir, 0o755)
	for _, f := range ociFiles(t, img, "", map[string]string{tarball.AnnotationRefName: "v1"}) {
		p := filepath.Join(layoutDir, f.name)
		if f.typ == '5' {
			os.MkdirAll(p, 0o755)
			continue
		}
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(dir, "docker-archive.tar")
	skopeo(t, "copy", "--additional-tag", "skiff/extra:v2", "oci:"+layoutDir+":v1", "docker-archive:"+archive+":skiff/from-skopeo:v1")
	r := openFile(t, archive)
	images := r.Images()
	if len(images) != 1 || len(images[0].Tags) != 2 {
		t.Fatalf("Images() = %+v", images)
	}
	for _, ref := range []string{"skiff/from-skopeo:v1", "docker.io/skiff/extra:v2"} {
		desc, err := r.Resolve(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, r, desc, img)
	}

	ociArchive := filepath.Join(dir, "oci-archive.tar")
	skopeo(t, "copy", "oci:"+layoutDir+":v1", "oci-archive:"+ociArchive+":v1")
	r2 := openFile(t, ociArchive)
	desc, err := r2.Resolve(context.Background(), "v1")
	if err != nil || desc.Digest != img.doc.Digest {
		t.Fatalf("oci-archive: Resolve(v1) = %s, %v; want %s", desc.Digest, err, img.doc.Digest)
	}
	doc := checkImage(t, r2, desc, img)
	for i, l := range doc.Manifest.Layers {
		if !bytes.Equal(testtool.FetchAll(t, r2, l), img.layers[i]) || l.Digest != manifest.FromBytes(img.layers[i]) {
			t.Errorf("layer %d differs", i)
		}
	}
}

func openFile(t *testing.T, path string) *tarball.Reader {
	t.Helper()
	r, err := tarball.OpenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
