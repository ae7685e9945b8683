package layout_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

func TestUntagAndRemoveDescriptor(t *testing.T) {
	l, err := layout.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cfg := []byte("{}")
	cd := manifest.DescriptorFor(manifest.MediaTypeOCIConfig, cfg)
	l.Push(ctx, cd, bytes.NewReader(cfg))
	doc, _ := manifest.Marshal(manifest.MediaTypeOCIManifest, &manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, Config: cd, Layers: []manifest.Descriptor{}})
	if err := l.Push(ctx, doc.Descriptor(), bytes.NewReader(doc.Raw)); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"a", "b"} {
		if err := l.Tag(ctx, doc.Descriptor(), tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Untag(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(ctx, "a"); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("untagged name still resolves: %v", err)
	}
	if d, err := l.Resolve(ctx, "b"); err != nil || d.Digest != doc.Digest {
		t.Fatalf("the other tag went too: %v", err)
	}
	if err := l.Untag(ctx, "a"); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("untagging a missing name: %v", err)
	}
	if err := l.RemoveDescriptor(ctx, doc.Digest); err != nil {
		t.Fatal(err)
	}
	if idx, _ := l.Index(); len(idx.Manifests) != 0 {
		t.Fatalf("entries left: %v", idx.Manifests)
	}
	if ok, _ := l.Exists(ctx, doc.Descriptor()); !ok {
		t.Fatal("RemoveDescriptor removed the content")
	}
}
