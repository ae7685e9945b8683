package tarball_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// Digests in testdata/tarball/containerd-export*.tar (see its README).
const (
	ctrIndex = "sha256:455585b1a2420d3ebf1de9016341936bc580b50ea05f38095963b7f1be5556fc"
	ctrAMD64 = "sha256:e06c6a04ca439730942f8ee7576661edeff3e1744d81f70ef3195a3bacdda8df"
)

func openFixture(t *testing.T, name string) *tarball.Reader {
	t.Helper()
	r, err := tarball.OpenFile("../testdata/tarball/"+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestContainerdExportIsOneImage reads what `ctr images export` wrote: one
// name is one image, found by its containerd name, its familiar form, its
// ref.name and its digest; of the index, the platform held is what loads.
func TestContainerdExportIsOneImage(t *testing.T) {
	ctx := context.Background()
	r := openFixture(t, "containerd-export.tar")
	imgs := r.Images()
	if len(imgs) != 1 || imgs[0].Descriptor.Digest != ctrIndex || imgs[0].Attached {
		t.Fatalf("Images() = %+v, want the one index", imgs)
	}
	for _, name := range []string{"", "v1", "app:v1", "docker.io/library/app:v1", ctrIndex} {
		if d, err := r.Resolve(ctx, name); err != nil || d.Digest != ctrIndex {
			t.Errorf("Resolve(%q) = %s, %v", name, d.Digest, err)
		}
	}
	held, absent, err := r.Loadable(ctx, imgs[0].Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	if held.Digest != ctrAMD64 || len(absent) != 1 || absent[0].Platform.Architecture != "arm64" {
		t.Fatalf("Loadable = %s, absent %+v; want the amd64 manifest, arm64 absent", held.Digest, absent)
	}
	if _, err := manifest.FetchDocument(ctx, r, held); err != nil {
		t.Fatal(err)
	}

	all := openFixture(t, "containerd-export-all.tar")
	held, absent, err = all.Loadable(ctx, all.Images()[0].Descriptor)
	if err != nil || held.Digest != ctrIndex || len(absent) != 0 {
		t.Fatalf("all platforms: Loadable = %s, %v, %v; want the index itself", held.Digest, absent, err)
	}
}

// indexTar builds an OCI archive whose index.json names idx (as ref name
// v1) and which holds the index and the blobs of imgs.
func indexTar(t *testing.T, idx *manifest.Document, imgs ...*testImage) []byte {
	t.Helper()
	desc := idx.Descriptor()
	desc.Annotations = map[string]string{tarball.AnnotationRefName: "v1"}
	top := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{desc}}
	files := []tfile{
		{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`},
		{name: "index.json", body: mustJSON(t, top)},
		{name: blobName(idx.Digest), body: string(idx.Raw)},
	}
	for _, img := range imgs {
		files = append(files, tfile{name: blobName(img.doc.Digest), body: string(img.doc.Raw)},
			tfile{name: blobName(manifest.FromBytes(img.config)), body: string(img.config)})
		for _, l := range img.layers {
			files = append(files, tfile{name: blobName(manifest.FromBytes(l)), body: string(l)})
		}
	}
	return mkTar(t, files...)
}

func threePlatforms(t *testing.T) (*manifest.Document, []*testImage) {
	t.Helper()
	store := newMemStore()
	var imgs []*testImage
	var entries []manifest.Descriptor
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		img := buildImage(t, store, spec{layers: []string{arch + "\n", "shared\n"}, level: 6, arch: arch})
		d := img.doc.Descriptor()
		d.Platform = &manifest.Platform{OS: "linux", Architecture: arch}
		imgs, entries = append(imgs, img), append(entries, d)
	}
	idx, err := manifest.Marshal(manifest.MediaTypeOCIIndex, &manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: entries})
	if err != nil {
		t.Fatal(err)
	}
	return idx, imgs
}

// TestLoadableSeveralPlatforms: an archive holding two of three platforms
// gives an index of those two, served by the reader; one holding none is
// an error naming the platforms absent; a manifest without its layer is
// not held.
func TestLoadableSeveralPlatforms(t *testing.T) {
	ctx := context.Background()
	idx, imgs := threePlatforms(t)
	r := openBytes(t, indexTar(t, idx, imgs[0], imgs[2]))
	held, absent, err := r.Loadable(ctx, idx.Descriptor())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := manifest.FetchDocument(ctx, r, held)
	if err != nil || doc.Index == nil || len(doc.Index.Manifests) != 2 {
		t.Fatalf("held %s: %+v, %v; want an index of two", held.Digest, doc, err)
	}
	if doc.Index.Manifests[0].Digest != imgs[0].doc.Digest || doc.Index.Manifests[1].Digest != imgs[2].doc.Digest {
		t.Errorf("held index lists %+v", doc.Index.Manifests)
	}
	if len(absent) != 1 || absent[0].Digest != imgs[1].doc.Digest {
		t.Errorf("absent = %+v, want arm64", absent)
	}

	r = openBytes(t, indexTar(t, idx))
	_, _, err = r.Loadable(ctx, idx.Descriptor())
	if err == nil || !strings.Contains(err.Error(), "linux/amd64, linux/arm64, linux/s390x") {
		t.Errorf("nothing held: %v", err)
	}

	partial := *imgs[1]
	partial.layers = partial.layers[1:] // the manifest is there, its own layer not
	r = openBytes(t, indexTar(t, idx, imgs[0], &partial, imgs[2]))
	if _, absent, err := r.Loadable(ctx, idx.Descriptor()); err != nil || len(absent) != 1 || absent[0].Digest != imgs[1].doc.Digest {
		t.Errorf("a manifest without a layer: absent %+v, %v", absent, err)
	}
}

// TestAttachedAreNoCandidates: in skiff's air-gap archive, what refers to
// the image (a referrer, a cosign tag) is listed but never the image a
// name-less reference means.
func TestAttachedAreNoCandidates(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	img := buildImage(t, store, spec{layers: []string{"app\n"}, level: 6})
	sig := buildImage(t, store, spec{layers: []string{"sig\n"}, level: 6}) // a cosign .sig manifest is image-shaped
	subject := img.doc.Descriptor()
	empty := []byte("{}")
	ref, err := manifest.Marshal(manifest.MediaTypeOCIManifest, &manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest,
		ArtifactType: "application/spdx+json", Config: manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, empty),
		Layers: []manifest.Descriptor{manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, empty)}, Subject: &subject})
	if err != nil {
		t.Fatal(err)
	}
	named := func(d manifest.Descriptor, name string) manifest.Descriptor {
		if name != "" {
			d.Annotations = map[string]string{tarball.AnnotationRefName: name}
		}
		return d
	}
	top := manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{
		named(img.doc.Descriptor(), "v1"),
		named(sig.doc.Descriptor(), cosignTag(t, img.doc.Digest, ".sig")),
		named(ref.Descriptor(), ""),
	}}
	files := []tfile{{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`}, {name: "index.json", body: mustJSON(t, top)},
		{name: blobName(ref.Digest), body: string(ref.Raw)}, {name: blobName(manifest.FromBytes(empty)), body: "{}"}}
	for _, im := range []*testImage{img, sig} {
		files = append(files, tfile{name: blobName(im.doc.Digest), body: string(im.doc.Raw)},
			tfile{name: blobName(manifest.FromBytes(im.config)), body: string(im.config)},
			tfile{name: blobName(manifest.FromBytes(im.layers[0])), body: string(im.layers[0])})
	}
	r := openBytes(t, mkTar(t, files...))
	if n := len(r.Images()); n != 3 {
		t.Fatalf("Images() lists %d entries, want 3", n)
	}
	if c := r.Candidates(); len(c) != 1 || c[0].Descriptor.Digest != img.doc.Digest {
		t.Fatalf("Candidates() = %+v, want the image alone", c)
	}
	if d, err := r.Resolve(ctx, ""); err != nil || d.Digest != img.doc.Digest {
		t.Fatalf(`Resolve("") = %s, %v`, d.Digest, err)
	}
	if d, err := r.Resolve(ctx, cosignTag(t, img.doc.Digest, ".sig")); err != nil || d.Digest != sig.doc.Digest {
		t.Errorf("the signature by its tag: %s, %v", d.Digest, err)
	}
}

// TestSynthesizedManifestIsCranes: the manifest made for a tarball without
// one is, byte for byte, the one go-containerregistry makes (crane push):
// compact JSON, descriptors ordered mediaType, size, digest.
func TestSynthesizedManifestIsCranes(t *testing.T) {
	store := newMemStore()
	img := buildImage(t, store, spec{layers: []string{"a\n", "b\n"}, level: 6, docker: true})
	r := openBytes(t, ggcrSave(t, img, "ghcr.io/o/r:v1"))
	desc := r.Images()[0].Descriptor
	got := testtool.FetchAll(t, r, desc)
	var want strings.Builder
	want.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":`)
	want.WriteString(`{"mediaType":"application/vnd.docker.container.image.v1+json","size":` + strconv.Itoa(len(img.config)) + `,"digest":"` + string(manifest.FromBytes(img.config)) + `"},"layers":[`)
	for i, l := range img.layers {
		if i > 0 {
			want.WriteString(",")
		}
		want.WriteString(`{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":` + strconv.Itoa(len(l)) + `,"digest":"` + string(manifest.FromBytes(l)) + `"}`)
	}
	want.WriteString("]}")
	if string(got) != want.String() {
		t.Fatalf("synthesized manifest\n got %s\nwant %s", got, want.String())
	}
}

// TestCompressLayers: docker save's plain layers come out gzip-compressed,
// typed as such, with the diffIDs and config unchanged; the bytes Fetch
// serves hash to the new digests, every time, from any offset.
func TestCompressLayers(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	plain := buildImage(t, store, spec{layers: []string{"a\n", strings.Repeat("big\n", 200000), "a\n"}, level: -2, docker: true})
	for _, tc := range []struct {
		name    string
		tar     []byte
		layerMT string
	}{
		{"docker-save", legacySave(t, plain, "busybox:latest"), manifest.MediaTypeDockerLayer},
		{"docker25", docker25Save(t, plain, "busybox:latest"), manifest.MediaTypeDockerLayer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := openBytes(t, tc.tar)
			before := r.Images()[0].Descriptor
			after, rep, err := r.CompressLayers(ctx, before)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Layers != 2 || rep.After >= rep.Before || after.Digest == before.Digest {
				t.Fatalf("report %+v, digest %s (was %s)", rep, after.Digest, before.Digest)
			}
			doc := checkImage(t, r, after, plain)
			for _, l := range doc.Manifest.Layers {
				if l.MediaType != tc.layerMT {
					t.Errorf("layer %s typed %s", l.Digest, l.MediaType)
				}
				blob := testtool.FetchAll(t, r, l)
				if !bytes.HasPrefix(blob, []byte{0x1f, 0x8b}) || !bytes.Equal(blob, testtool.FetchAll(t, r, l)) {
					t.Errorf("layer %s: not gzip, or not the same bytes twice", l.Digest)
				}
				rc, err := r.FetchFrom(ctx, l, 10)
				if err != nil {
					t.Fatal(err)
				}
				var tail bytes.Buffer
				tail.ReadFrom(rc)
				rc.Close()
				if !bytes.Equal(tail.Bytes(), blob[10:]) {
					t.Errorf("layer %s from offset 10 differs", l.Digest)
				}
			}
			again, _, err := r.CompressLayers(ctx, after)
			if err != nil || again.Digest != after.Digest {
				t.Errorf("compressing a compressed image: %s, %v", again.Digest, err)
			}
		})
	}
}

// TestCompressLayersChecksDiffIDs: a plain layer whose bytes are not its
// diffID is refused.
func TestCompressLayersChecksDiffIDs(t *testing.T) {
	store := newMemStore()
	plain := buildImage(t, store, spec{layers: []string{"a\n"}, level: -2, docker: true})
	bad := *plain
	bad.layers = [][]byte{mkTar(t, tfile{name: "file", body: "not a\n"})}
	r, err := tarball.Open(bytes.NewReader(legacySave(t, &bad, "x:1")), int64(len(legacySave(t, &bad, "x:1"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, _, err = r.CompressLayers(context.Background(), r.Images()[0].Descriptor)
	if !errors.Is(err, manifest.ErrDigestMismatch) && !errors.Is(err, manifest.ErrSizeMismatch) {
		t.Fatalf("a layer that is not its diffID: %v", err)
	}
}

// cosignTag is manifest.CosignTag for a digest that has one.
func cosignTag(t testing.TB, d manifest.Digest, suffix string) string {
	t.Helper()
	tag, err := manifest.CosignTag(d, suffix)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
