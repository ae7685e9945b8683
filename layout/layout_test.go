package layout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	l, dir := create(t)
	im := buildImage(t, "amd64", map[string]string{"hello": "hi\n"}, true)
	pushImage(t, l, im, "v1")

	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := l.Resolve(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != im.manifest.desc.Digest || desc.Annotations[layout.RefNameAnnotation] != "v1" {
		t.Fatalf("resolved %+v, want %s named v1", desc, im.manifest.desc.Digest)
	}
	doc, err := manifest.FetchDocument(ctx, l, desc)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := manifest.FetchConfig(ctx, l, doc.Manifest.Config); err != nil {
		t.Fatal(err)
	}
	if got := testtool.FetchAll(t, l, doc.Manifest.Layers[0]); !bytes.Equal(got, im.layers[0].data) {
		t.Fatal("layer bytes differ")
	}
	byDigest, err := l.Resolve(ctx, string(im.manifest.desc.Digest))
	if err != nil || byDigest.Digest != desc.Digest {
		t.Fatalf("resolve by digest: %v, %v", byDigest, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err != nil || string(got) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout = %q, %v", got, err)
	}
	checkNoTemp(t, dir)
}

func TestMultiArchIndex(t *testing.T) {
	ctx := context.Background()
	l, _ := create(t)
	amd := buildImage(t, "amd64", map[string]string{"hello": "amd64\n"}, true)
	arm := buildImage(t, "arm64", map[string]string{"hello": "arm64\n"}, true)
	push(t, l, amd.blobs()...)
	push(t, l, arm.blobs()...)
	idx := buildIndex(t, amd, arm)
	push(t, l, idx)
	if err := l.Tag(ctx, idx.desc, "multi"); err != nil {
		t.Fatal(err)
	}
	desc, err := l.Resolve(ctx, "multi")
	if err != nil || desc.MediaType != manifest.MediaTypeOCIIndex {
		t.Fatalf("resolve multi: %+v, %v", desc, err)
	}
	doc, err := manifest.FetchDocument(ctx, l, desc)
	if err != nil {
		t.Fatal(err)
	}
	for _, child := range doc.Index.Manifests {
		// Children are not in index.json: Resolve reads them from blobs.
		got, err := l.Resolve(ctx, string(child.Digest))
		if err != nil || got.Digest != child.Digest || got.MediaType != manifest.MediaTypeOCIManifest {
			t.Fatalf("resolve child %s: %+v, %v", child.Digest, got, err)
		}
		if _, err := manifest.FetchDocument(ctx, l, child); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := l.Index(); len(list.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want 1", len(list.Manifests))
	}
}

func TestTwoImagesAndRetag(t *testing.T) {
	ctx := context.Background()
	l, _ := create(t)
	one := buildImage(t, "amd64", map[string]string{"hello": "one\n"}, false)
	two := buildImage(t, "amd64", map[string]string{"hello": "two\n"}, false)
	pushImage(t, l, one, "one")
	pushImage(t, l, two, "two")
	for tag, want := range map[string]image{"one": one, "two": two} {
		if d, err := l.Resolve(ctx, tag); err != nil || d.Digest != want.manifest.desc.Digest {
			t.Fatalf("resolve %s: %v, %v", tag, d.Digest, err)
		}
	}
	if err := l.Tag(ctx, two.manifest.desc, "one"); err != nil {
		t.Fatal(err)
	}
	if tags, err := l.Tags(ctx); err != nil || strings.Join(tags, ",") != "one,two" {
		t.Fatalf("Tags() = %q, %v", tags, err)
	}
	idx, err := l.Index()
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 2 || idx.Manifests[0].Annotations[layout.RefNameAnnotation] != "one" || idx.Manifests[0].Digest != two.manifest.desc.Digest {
		t.Fatalf("after retag, index.json = %+v", idx.Manifests)
	}
}

func TestUntaggedEntries(t *testing.T) {
	ctx := context.Background()
	l, _ := create(t)
	im := buildImage(t, "amd64", map[string]string{"a": "a"}, false)
	push(t, l, im.blobs()...)
	for range 2 {
		if err := l.AddDescriptor(ctx, im.manifest.desc); err != nil {
			t.Fatal(err)
		}
	}
	if idx, _ := l.Index(); len(idx.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want 1", len(idx.Manifests))
	}
	if tags, err := l.Tags(ctx); err != nil || len(tags) != 0 {
		t.Fatalf("Tags() of a layout with only an unnamed entry = %q, %v", tags, err)
	}
	if _, err := l.Resolve(ctx, string(im.manifest.desc.Digest)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(ctx, "latest"); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("resolve latest: %v, want ErrNotFound", err)
	}
	if _, err := l.Resolve(ctx, string(manifest.FromString("absent"))); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("resolve an absent digest: %v, want ErrNotFound", err)
	}
}

func TestTagRefusals(t *testing.T) {
	ctx := context.Background()
	l, _ := create(t)
	im := buildImage(t, "amd64", map[string]string{"a": "a"}, false)
	push(t, l, im.config, im.layers[0])
	if err := l.Tag(ctx, im.manifest.desc, "v1"); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("tag of an absent manifest: %v, want ErrNotFound", err)
	}
	push(t, l, im.manifest)
	for _, name := range []string{"", "-v1", "a//b", "a b", "v1/", "../x", string(im.manifest.desc.Digest)} {
		if err := l.Tag(ctx, im.manifest.desc, name); err == nil {
			t.Errorf("tag %q accepted", name)
		}
	}
	if err := l.Tag(ctx, im.layers[0].desc, "layer"); !errors.Is(err, manifest.ErrUnsupportedMedia) {
		t.Errorf("tag of a layer: %v, want ErrUnsupportedMedia", err)
	}
	for _, name := range []string{"latest", "v1.2.3-rc1", "example.com/app:v1", "a--b", "x@y+z"} {
		if err := l.Tag(ctx, im.manifest.desc, name); err != nil {
			t.Errorf("tag %q: %v", name, err)
		}
	}
}

func TestCreateAndOpen(t *testing.T) {
	l, dir := create(t)
	im := buildImage(t, "amd64", map[string]string{"a": "a"}, false)
	pushImage(t, l, im, "v1")
	if _, err := layout.Create(dir); err != nil {
		t.Fatalf("Create on an existing layout: %v", err)
	}
	if _, err := l.Resolve(context.Background(), "v1"); err != nil {
		t.Fatalf("Create changed the existing layout: %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "file"), nil, 0o644)
	if _, err := layout.Create(other); err == nil {
		t.Error("Create in a non-empty directory without oci-layout succeeded")
	}
	if _, err := layout.Open(filepath.Join(other, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing directory: %v, want fs.ErrNotExist", err)
	}
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"2.0.0"}`), 0o644)
	if _, err := layout.Open(dir); err == nil {
		t.Error("Open accepted imageLayoutVersion 2.0.0")
	}
}

func TestPushSkipsExisting(t *testing.T) {
	l, dir := create(t)
	b := blob{desc: manifest.DescriptorFor(manifest.MediaTypeOCILayer, []byte("data")), data: []byte("data")}
	push(t, l, b)
	if err := l.Push(context.Background(), b.desc, &errReader{err: errBoom}); err != nil {
		t.Fatalf("second push read its reader: %v", err)
	}
	if got, _ := os.ReadFile(blobFile(dir, b.desc.Digest)); string(got) != "data" {
		t.Fatalf("blob = %q", got)
	}
}

func TestConcurrentTags(t *testing.T) {
	l, _ := create(t)
	im := buildImage(t, "amd64", map[string]string{"a": "a"}, false)
	push(t, l, im.blobs()...)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Tag(context.Background(), im.manifest.desc, fmt.Sprintf("t%d", i)); err != nil {
				t.Error(err)
			}
			// Pushes of the same blob race to rename; each is whole.
			if err := l.Push(context.Background(), im.config.desc, bytes.NewReader(im.config.data)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if idx, _ := l.Index(); len(idx.Manifests) != 16 {
		t.Fatalf("index.json has %d entries, want 16", len(idx.Manifests))
	}
}
