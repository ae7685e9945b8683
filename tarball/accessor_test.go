package tarball_test

import (
	"context"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// Images, Candidates and Resolve hand out copies: changing what they
// return changes nothing of the Reader.
func TestReaderAccessorsAreCopies(t *testing.T) {
	store := newMemStore()
	img := buildImage(t, store, spec{layers: []string{"a\n"}, level: 1})
	files := ociFiles(t, img, "", nil)
	desc := img.doc.Descriptor()
	desc.Annotations = map[string]string{tarball.AnnotationRefName: "v1"}
	desc.Platform = &manifest.Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"f"}}
	for i := range files {
		if files[i].name == "index.json" {
			files[i].body = mustJSON(t, manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{desc}})
		}
	}
	r := openBytes(t, mkTar(t, files...))
	if im := r.Images(); len(im) != 1 || im[0].Descriptor.Platform == nil {
		t.Fatalf("Images() = %+v, want one image with its platform", im)
	}
	before := mustJSON(t, r.Images())
	got := r.Images()
	got[0].Descriptor.Platform.Architecture = "changed"
	got[0].Tags = append(got[0].Tags[:0], "changed")
	got[0].RefNames[0] = "changed"
	c := r.Candidates()
	c[0].Descriptor.Platform.OSFeatures[0] = "changed"
	for _, ref := range []string{"v1", ""} {
		d, err := r.Resolve(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		d.Platform.OS = "changed"
	}
	if after := mustJSON(t, r.Images()); after != before {
		t.Errorf("changing what the Reader returned changed it:\nbefore %+v\nafter  %+v", before, after)
	}
}
