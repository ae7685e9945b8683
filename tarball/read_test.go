package tarball_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// mustJSON marshals v.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// legacyID is a fake v1 image ID for layer i.
func legacyID(i int) string { return manifest.FromString(fmt.Sprint("layer ", i)).Hex() }

// legacySave builds a tarball as `docker save` wrote it before Docker 25:
// uncompressed layers under "<id>/layer.tar", a repeated layer as a
// symlink to the first copy, "<id>/json", "<id>/VERSION", "repositories".
func legacySave(t testing.TB, img *testImage, tag string) []byte {
	var files []tfile
	var paths []string
	first := map[manifest.Digest]string{}
	for i, blob := range img.layers {
		id := legacyID(i)
		files = append(files, tfile{name: id + "/VERSION", body: "1.0"}, tfile{name: id + "/json", body: `{"id":"` + id + `"}`})
		if prev, ok := first[img.diffIDs[i]]; ok {
			files = append(files, symlink(id+"/layer.tar", "../"+prev+"/layer.tar"))
		} else {
			first[img.diffIDs[i]] = id
			files = append(files, tfile{name: id + "/layer.tar", body: string(blob)})
		}
		paths = append(paths, id+"/layer.tar")
	}
	cfg := manifest.FromBytes(img.config).Hex() + ".json"
	mj := []tarball.ManifestEntry{{Config: cfg, RepoTags: []string{tag}, Layers: paths}}
	files = append(files, tfile{name: cfg, body: string(img.config)},
		tfile{name: "manifest.json", body: mustJSON(t, mj)},
		tfile{name: "repositories", body: `{"busybox":{"latest":"` + legacyID(len(paths)-1) + `"}}`})
	return mkTar(t, files...)
}

// ggcrSave builds a tarball as go-containerregistry writes it.
func ggcrSave(t testing.TB, img *testImage, tag string) []byte {
	cfg := string(manifest.FromBytes(img.config))
	files := []tfile{{name: cfg, body: string(img.config)}}
	me := tarball.ManifestEntry{Config: cfg, RepoTags: []string{tag}}
	for _, blob := range img.layers {
		name := manifest.FromBytes(blob).Hex() + ".tar.gz"
		files = append(files, tfile{name: name, body: string(blob)})
		me.Layers = append(me.Layers, name)
	}
	files = append(files, tfile{name: "manifest.json", body: mustJSON(t, []tarball.ManifestEntry{me})})
	return mkTar(t, files...)
}

// ociFiles returns an OCI layout holding img, named by annotations, with
// every name after prefix.
func ociFiles(t testing.TB, img *testImage, prefix string, annotations map[string]string) []tfile {
	desc := img.doc.Descriptor()
	desc.Annotations = annotations
	idx := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{desc}}
	files := []tfile{
		{name: prefix + "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`},
		{name: prefix + "index.json", body: mustJSON(t, idx)},
		{name: prefix + "blobs/", typ: '5'},
		{name: prefix + "blobs/sha256/", typ: '5'},
		{name: prefix + blobName(img.doc.Digest), body: string(img.doc.Raw)},
		{name: prefix + blobName(manifest.FromBytes(img.config)), body: string(img.config)},
	}
	for _, blob := range img.layers {
		files = append(files, tfile{name: prefix + blobName(manifest.FromBytes(blob)), body: string(blob)})
	}
	return files
}

// docker25Save builds a tarball as Docker 25 writes it.
func docker25Save(t testing.TB, img *testImage, tag string) []byte {
	files := ociFiles(t, img, "", map[string]string{
		tarball.AnnotationContainerdName: "docker.io/library/" + tag, tarball.AnnotationRefName: "latest"})
	me := tarball.ManifestEntry{Config: blobName(manifest.FromBytes(img.config)), RepoTags: []string{tag}}
	for _, blob := range img.layers {
		me.Layers = append(me.Layers, blobName(manifest.FromBytes(blob)))
	}
	files = append(files, tfile{name: "manifest.json", body: mustJSON(t, []tarball.ManifestEntry{me})},
		tfile{name: "repositories", body: "{}"})
	return mkTar(t, files...)
}

// ociArchive builds a tar of an OCI layout, as skopeo's oci-archive: does,
// with "./" before every name.
func ociArchive(t testing.TB, img *testImage, tag string) []byte {
	return mkTar(t, ociFiles(t, img, "./", map[string]string{tarball.AnnotationRefName: tag})...)
}

func TestReadShapes(t *testing.T) {
	store := newMemStore()
	plain := buildImage(t, store, spec{layers: []string{"a\n", "b\n", "a\n"}, level: -2, docker: true})
	zipped := buildImage(t, store, spec{layers: []string{"a\n", "b\n"}, level: gzip.BestSpeed, docker: true})
	shapes := []struct {
		name    string
		tar     []byte
		img     *testImage
		tag     string
		keepsMT bool // the original manifest is in the tarball, not synthesized
	}{
		{"docker-save", legacySave(t, plain, "busybox:latest"), plain, "busybox:latest", false},
		{"ggcr", ggcrSave(t, zipped, "ghcr.io/o/r:v1"), zipped, "ghcr.io/o/r:v1", false},
		{"docker25", docker25Save(t, zipped, "busybox:latest"), zipped, "busybox:latest", true},
		{"oci-archive", ociArchive(t, zipped, "v1"), zipped, "v1", true},
	}
	for _, s := range shapes {
		for _, comp := range []string{"none", "gzip", "zstd"} {
			t.Run(s.name+"/"+comp, func(t *testing.T) {
				b := s.tar
				switch comp {
				case "gzip":
					b = testtool.Gzip(t, b, gzip.BestSpeed)
				case "zstd":
					b = zstdOf(b)
				}
				r := openBytes(t, b)
				images := r.Images()
				if len(images) != 1 || !equalStrings(images[0].Tags, []string{s.tag}) {
					t.Fatalf("Images() = %+v", images)
				}
				desc, err := r.Resolve(context.Background(), s.tag)
				if err != nil {
					t.Fatal(err)
				}
				if s.keepsMT && desc.Digest != s.img.doc.Digest {
					t.Errorf("descriptor %s, original manifest %s", desc.Digest, s.img.doc.Digest)
				}
				checkImage(t, r, desc, s.img)
			})
		}
	}
}

// TestReadDockerSaveLayers checks what is exposed of uncompressed layers:
// Docker's uncompressed type, the diffID as digest, the file size.
func TestReadDockerSaveLayers(t *testing.T) {
	store := newMemStore()
	img := buildImage(t, store, spec{layers: []string{"a\n", "b\n", "a\n"}, level: -2, docker: true})
	r := openBytes(t, legacySave(t, img, "busybox:latest"))
	doc, err := manifest.FetchDocument(context.Background(), r, r.Images()[0].Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	if doc.MediaType != manifest.MediaTypeDockerManifest {
		t.Errorf("synthesized %s", doc.MediaType)
	}
	for i, l := range doc.Manifest.Layers {
		if l.MediaType != "application/vnd.docker.image.rootfs.diff.tar" || l.Digest != img.diffIDs[i] || l.Size != int64(len(img.layers[i])) {
			t.Errorf("layer %d = %+v", i, l)
		}
	}
	if doc.Manifest.Config.Digest != manifest.FromBytes(img.config) || doc.Manifest.Config.MediaType != manifest.MediaTypeDockerConfig {
		t.Errorf("config = %+v", doc.Manifest.Config)
	}
}

func TestRoundTrip(t *testing.T) {
	images, _, imgs := goldenImages(t)
	for _, legacy := range []bool{false, true} {
		r := openBytes(t, writeTarball(t, images, &tarball.WriteOptions{Legacy: legacy}))
		got := r.Images()
		if len(got) != 2 || !equalStrings(got[0].Tags, []string{"skiff/tiny:v1", "skiff/tiny:latest"}) ||
			!equalStrings(got[1].Tags, []string{"ghcr.io/skiff/other:" + tarball.DigestTag}) {
			t.Fatalf("legacy=%v: Images() = %+v", legacy, got)
		}
		for i, im := range got {
			if want := imgs[i].doc.Descriptor(); !legacy && (im.Descriptor.Digest != want.Digest || im.Descriptor.Size != want.Size || im.Descriptor.MediaType != want.MediaType) {
				t.Errorf("image %d: %+v, want %+v", i, im.Descriptor, imgs[i].doc.Descriptor())
			}
			doc := checkImage(t, r, im.Descriptor, imgs[i])
			for j, l := range doc.Manifest.Layers {
				if !bytes.Equal(testtool.FetchAll(t, r, l), imgs[i].layers[j]) {
					t.Errorf("image %d layer %d differs", i, j)
				}
			}
		}
	}
}

func TestResolve(t *testing.T) {
	images, _, imgs := goldenImages(t)
	r := openBytes(t, writeTarball(t, images, nil))
	a, b := imgs[0].doc.Digest, imgs[1].doc.Digest
	for ref, want := range map[string]manifest.Digest{
		"skiff/tiny:v1":                        a,
		"docker.io/skiff/tiny":                 a,
		"index.docker.io/skiff/tiny:latest":    a,
		string(b):                              b,
		"ghcr.io/skiff/other@" + string(b):     b,
		"ghcr.io/skiff/other:i-was-a-digest":   b,
		"whatever/name@" + string(a):           a,
		"skiff/tiny:v1@" + string(b):           b,
		"docker.io/skiff/tiny:v1@" + string(a): a,
	} {
		d, err := r.Resolve(context.Background(), ref)
		if err != nil || d.Digest != want {
			t.Errorf("Resolve(%q) = %s, %v; want %s", ref, d.Digest, err, want)
		}
	}
	for _, ref := range []string{"", "skiff/tiny:v3", "ghcr.io/skiff/other", "sha256:" + string(make([]byte, 3))} {
		if _, err := r.Resolve(context.Background(), ref); !errors.Is(err, manifest.ErrNotFound) {
			t.Errorf("Resolve(%q): %v, want not found", ref, err)
		}
	}
}

func TestExistsAndFetchErrors(t *testing.T) {
	images, _, imgs := goldenImages(t)
	r := openBytes(t, writeTarball(t, images, nil))
	ctx := context.Background()
	cfg := imgs[0].doc.Manifest.Config
	if ok, err := r.Exists(ctx, cfg); !ok || err != nil {
		t.Errorf("Exists(config) = %v, %v", ok, err)
	}
	missing := manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("missing"))
	if ok, err := r.Exists(ctx, missing); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
	if _, err := r.Fetch(ctx, missing); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("Fetch(missing): %v", err)
	}
	wrong := cfg
	wrong.Size++
	if _, err := r.Fetch(ctx, wrong); !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Errorf("Fetch(wrong size): %v", err)
	}
	if _, err := r.Fetch(ctx, manifest.Descriptor{Digest: "sha256:../../x"}); !errors.Is(err, manifest.ErrInvalidDigest) {
		t.Errorf("Fetch(bad digest): %v", err)
	}
}

func TestOpenFileGzipCleansUp(t *testing.T) {
	images, _, imgs := goldenImages(t)
	dir, tmp := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "img.tar.gz")
	os.WriteFile(path, testtool.Gzip(t, writeTarball(t, images, nil), gzip.BestSpeed), 0o644)
	r, err := tarball.OpenFile(path, &tarball.OpenOptions{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if des, _ := os.ReadDir(tmp); len(des) != 1 {
		t.Errorf("%d temporary files while open, want 1", len(des))
	}
	checkImage(t, r, imgs[1].doc.Descriptor(), imgs[1])
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if des, _ := os.ReadDir(tmp); len(des) != 0 {
		t.Errorf("%d temporary files left after Close", len(des))
	}
	if _, err := tarball.OpenFile(filepath.Join(dir, "nope.tar"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenFile(missing): %v", err)
	}
}

func TestReadForeignLayers(t *testing.T) {
	store := newMemStore()
	img := buildImage(t, store, spec{layers: []string{"base\n", "app\n"}, level: gzip.BestSpeed, docker: true})
	layers := append([]manifest.Descriptor(nil), img.doc.Manifest.Layers...)
	layers[0].MediaType = manifest.MediaTypeDockerForeignLayer
	layers[0].URLs = []string{"https://example.com/base.tar.gz"}
	img.doc = manifestDoc(t, true, img.doc.Manifest.Config, layers)
	im := img.image(store, "win:1")
	if _, err := tarball.NewPlan([]tarball.Entry{im}, nil); err == nil {
		t.Error("foreign layer without Entry.Config: no error")
	}
	im.Config = img.config
	out := writeTarball(t, []tarball.Entry{im}, &tarball.WriteOptions{Legacy: true})
	var mj []tarball.ManifestEntry
	json.Unmarshal(entryBytes(t, out, "manifest.json"), &mj)
	if got := mj[0].LayerSources[img.diffIDs[0]]; got.Digest != layers[0].Digest || len(mj[0].LayerSources) != 1 {
		t.Fatalf("LayerSources = %+v", mj[0].LayerSources)
	}
	r := openBytes(t, out)
	doc := checkImage(t, r, r.Images()[0].Descriptor, img)
	if l := doc.Manifest.Layers[0]; l.MediaType != manifest.MediaTypeDockerForeignLayer || len(l.URLs) != 1 {
		t.Errorf("foreign layer read as %+v", l)
	}
}
