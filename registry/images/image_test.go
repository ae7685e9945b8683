package images_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

// edited opens example/app:1.0 and adds a layer and an env variable.
func edited(t *testing.T) (*images.Image, *registry.Repository) {
	t.Helper()
	ref, _ := reference.Parse(testHost + "/example/app:1.0")
	repo := (&registry.Client{}).Repository(ref)
	img, err := images.OpenFrom(t.Context(), repo, "1.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromFiles(map[string]tarball.File{"a": {Data: []byte("a")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Remove() })
	if img, err = img.AppendLayer(l, manifest.History{CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	return img.EditConfig(images.ConfigChanges{Env: []string{"X=1"}}), repo
}

// TestWriteEverywhere writes one edited image to a registry, a layout and
// a tarball: each store, read back by skiff (and the layout and tarball
// by skopeo), holds the same manifest digest and every blob.
func TestWriteEverywhere(t *testing.T) {
	img, _ := edited(t)
	want, err := img.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	dstRef, _ := reference.Parse(testHost + "/everywhere/app:1")
	repo := (&registry.Client{}).Repository(dstRef)
	if d, err := img.Write(ctx, repo, "1", nil); err != nil || d.Digest != want.Digest {
		t.Fatalf("registry: %v %v", d.Digest, err)
	}
	dir := t.TempDir()
	lay, err := layout.Create(filepath.Join(dir, "lay"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.Write(ctx, lay, "1", nil); err != nil {
		t.Fatal(err)
	}
	tb := tarball.Entry{Tags: []string{"everywhere/app:1"}, Source: img}
	tarPath := filepath.Join(dir, "app.tar")
	if err := tarball.WriteFile(ctx, tarPath, []tarball.Entry{tb}, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := tarball.OpenFile(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for name, store := range map[string]manifest.ReadOnlyStore{"registry": repo, "layout": lay, "tarball": tr} {
		ref := "1"
		if name == "tarball" {
			ref = "everywhere/app:1"
		}
		got, err := images.OpenFrom(ctx, store, ref, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d, _ := got.Descriptor(); d.Digest != want.Digest {
			t.Errorf("%s holds %s, want %s", name, d.Digest, want.Digest)
		}
		for _, l := range got.Layers() {
			if _, err := manifest.FetchAll(ctx, store, l, l.Size); err != nil {
				t.Errorf("%s: layer %s: %v", name, l.Digest, err)
			}
		}
	}
	skopeo := testtool.Need(t, "skopeo")
	for _, src := range []string{"oci:" + filepath.Join(dir, "lay") + ":1", "docker-archive:" + tarPath} {
		out, err := exec.Command(skopeo, "inspect", "--raw", src).Output()
		if err != nil {
			t.Fatalf("skopeo inspect %s: %v", src, err)
		}
		if manifest.FromBytes(out) != want.Digest {
			var m manifest.Manifest
			json.Unmarshal(out, &m)
			// docker-archive: skopeo 1.9 reads manifest.json as docker save
			// wrote it and names each layer by its uncompressed digest.
			diffIDs := img.Config().RootFS.DiffIDs
			if !slices.EqualFunc(m.Layers, diffIDs, func(a manifest.Descriptor, d manifest.Digest) bool { return a.Digest == d }) {
				t.Errorf("skopeo reads %s as other content: %s", src, out)
			}
		}
	}
}

// TestEditsDoNotChangeTheOriginal: every edit returns a new value.
func TestEditsDoNotChangeTheOriginal(t *testing.T) {
	ref, _ := reference.Parse(testHost + "/example/app:1.0")
	img, err := images.OpenFrom(t.Context(), (&registry.Client{}).Repository(ref), "1.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := img.Descriptor()
	cfgBefore, _ := img.RawConfig()
	if _, err := img.RemoveLayer(0); err != nil {
		t.Fatal(err)
	}
	img.EditConfig(images.ConfigChanges{Env: []string{"Y=2"}})
	after, _ := img.Descriptor()
	cfgAfter, _ := img.RawConfig()
	if after.Digest != before.Digest || string(cfgAfter) != string(cfgBefore) || len(img.Layers()) != 2 {
		t.Fatal("an edit changed the image it was given")
	}
	if _, err := img.RemoveLayer(5); err == nil {
		t.Fatal("removing a layer that is not there succeeded")
	}
}

// TestDockerImageLayerTypes: a Docker image takes a gzip layer built with
// OCI's media type (the bytes are the same) under Docker's; a zstd layer,
// which Docker's manifests cannot name, makes it OCI; an uncompressed one
// is refused.
func TestDockerImageLayerTypes(t *testing.T) {
	ref, _ := reference.Parse(testHost + "/example/docker:1.0")
	img, err := images.OpenFrom(t.Context(), (&registry.Client{}).Repository(ref), "1.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	gz := fakeLayer{desc: manifest.Descriptor{MediaType: manifest.MediaTypeOCILayerGzip, Digest: manifest.FromString("g"), Size: 1}, diffID: manifest.FromString("t")}
	withGz, err := img.AppendLayer(gz, manifest.History{})
	if err != nil {
		t.Fatal(err)
	}
	if top := withGz.Layers()[len(withGz.Layers())-1]; top.MediaType != manifest.MediaTypeDockerLayer {
		t.Fatalf("a gzip layer in a Docker image has type %s", top.MediaType)
	}
	zst := fakeLayer{desc: manifest.Descriptor{MediaType: manifest.MediaTypeOCILayerZstd, Digest: manifest.FromString("z"), Size: 1}, diffID: manifest.FromString("t")}
	withZstd, err := withGz.AppendLayer(zst, manifest.History{})
	if err != nil {
		t.Fatalf("zstd on a Docker image: %v", err)
	}
	doc, _ := withZstd.Manifest()
	if doc.MediaType != manifest.MediaTypeOCIManifest || doc.Manifest.Config.MediaType != manifest.MediaTypeOCIConfig {
		t.Fatalf("a zstd layer left the image %s with config %s", doc.MediaType, doc.Manifest.Config.MediaType)
	}
	for _, l := range doc.Manifest.Layers {
		if l.MediaType != manifest.MediaTypeOCILayerGzip && l.MediaType != manifest.MediaTypeOCILayerZstd {
			t.Fatalf("a layer kept Docker's type %s", l.MediaType)
		}
	}
	foreign := fakeLayer{desc: manifest.Descriptor{MediaType: manifest.MediaTypeOCILayer, Digest: manifest.FromString("u"), Size: 1}, diffID: manifest.FromString("u")}
	if _, err := img.AppendLayer(foreign, manifest.History{}); !errors.Is(err, manifest.ErrUnsupportedMedia) {
		t.Fatalf("an uncompressed layer on a Docker image: %v", err)
	}
	if _, err := images.Scratch(manifest.Platform{OS: "linux", Architecture: "amd64"}).AppendLayer(zst, manifest.History{}); err != nil {
		t.Fatalf("an OCI image refused zstd: %v", err)
	}
}

type fakeLayer struct {
	desc   manifest.Descriptor
	diffID manifest.Digest
}

func (f fakeLayer) Describe() (manifest.Descriptor, manifest.Digest) { return f.desc, f.diffID }
func (f fakeLayer) Open() (io.ReadCloser, error)                     { return nil, errors.New("not here") }

// TestWriteSkipsStored: a blob the caller says it stored is not pushed.
func TestWriteSkipsStored(t *testing.T) {
	img, _ := edited(t)
	top := img.Layers()[len(img.Layers())-1]
	dstRef, _ := reference.Parse(testHost + "/stored/app:1")
	dst := (&registry.Client{}).Repository(dstRef)
	_, err := img.Write(t.Context(), dst, "1", &images.WriteOptions{Stored: []manifest.Digest{top.Digest}})
	if err == nil {
		t.Fatal("a manifest naming a layer the destination lacks was accepted: the layer was pushed anyway")
	}
	if ok, _ := dst.Exists(t.Context(), top); ok {
		t.Fatal("the layer said to be stored was pushed")
	}
}
