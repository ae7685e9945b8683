package artifact_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	artifact "github.com/skiffoci/skiff/registry/artifact"
)

// TestTree finds referrers of referrers in a layout, each once, and stops
// at Depth.
func TestTree(t *testing.T) {
	_, files := sample(t)
	dst := "oci:" + t.TempDir() + "/lay"
	img, err := artifact.Push(t.Context(), dst+":img", files[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	sbom, err := artifact.Push(t.Context(), dst, files[:1], &artifact.PushOptions{ArtifactType: "application/spdx+json", Subject: "img"})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := artifact.Push(t.Context(), dst, files[:1], &artifact.PushOptions{ArtifactType: "application/vnd.sig", Subject: string(sbom.Digest)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := layout.Open(strings.TrimPrefix(dst, "oci:"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := artifact.Tree(t.Context(), l, img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Referrers) != 1 || root.Referrers[0].Descriptor.Digest != sbom.Digest ||
		len(root.Referrers[0].Referrers) != 1 || root.Referrers[0].Referrers[0].Descriptor.Digest != sig.Digest {
		t.Errorf("tree %+v: want img <- sbom <- sig", root)
	}
	root, _ = artifact.Tree(t.Context(), l, img, &artifact.TreeOptions{Depth: 1})
	if len(root.Referrers) != 1 || len(root.Referrers[0].Referrers) != 0 {
		t.Errorf("Depth 1: %+v, want the sbom alone", root)
	}
	if _, err := artifact.Newest(t.Context(), l, img, "application/vnd.sig"); err == nil || !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("Newest of a type only deeper: %v, want ErrNotFound", err)
	}
}
