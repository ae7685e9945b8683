package images_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// referrerStore is a memStore that lists referrers, as registries with
// the referrers API do.
type referrerStore struct {
	*memStore
	refs map[manifest.Digest][]manifest.Descriptor
}

func (s *referrerStore) Referrers(_ context.Context, d manifest.Descriptor, _ string) ([]manifest.Descriptor, error) {
	return s.refs[d.Digest], nil
}

// putArtifact stores an artifact manifest with one layer, refering to
// subject when it is not nil.
func (m *memStore) putArtifact(t *testing.T, payload string, subject *manifest.Descriptor) manifest.Descriptor {
	t.Helper()
	layer := m.put("application/vnd.example+json", []byte(payload))
	cfg := m.put(manifest.MediaTypeOCIEmpty, []byte("{}"))
	raw, _ := json.Marshal(manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, ArtifactType: "application/vnd.example",
		Config: cfg, Layers: []manifest.Descriptor{layer}, Subject: subject})
	return m.put(manifest.MediaTypeOCIManifest, raw)
}

// TestWalkReferrers: with Referrers, the walk adds what the referrers API
// lists (recursively: a signature of an SBOM) and what cosign tags after
// each manifest's digest, with their blobs; without it, none of them.
func TestWalkReferrers(t *testing.T) {
	src := &referrerStore{memStore: newMemStore(), refs: map[manifest.Digest][]manifest.Descriptor{}}
	amd := src.putImage(t, "amd64", 10)
	arm := src.putImage(t, "arm64", 20)
	root := src.putIndex(amd, arm)
	sbom := src.putArtifact(t, "sbom", &amd)
	sbomSig := src.putArtifact(t, "sig of sbom", &sbom)
	src.refs[amd.Digest] = []manifest.Descriptor{sbom}
	src.refs[sbom.Digest] = []manifest.Descriptor{sbomSig}
	sig := src.putArtifact(t, "cosign sig", nil)
	src.tags[cosignTag(t, root.Digest, ".sig")] = sig
	plain, err := images.Walk(t.Context(), src, root, nil)
	if err != nil || len(plain.Docs) != 3 || len(plain.Tagged) != 0 {
		t.Fatalf("plain walk: %d docs, %d tagged, %v", len(plain.Docs), len(plain.Tagged), err)
	}
	g, err := images.Walk(t.Context(), src, root, &images.WalkOptions{Referrers: true})
	if err != nil {
		t.Fatal(err)
	}
	var docs []manifest.Digest
	for _, d := range g.Docs {
		docs = append(docs, d.Digest)
	}
	want := []manifest.Digest{amd.Digest, arm.Digest, root.Digest, sbom.Digest, sbomSig.Digest}
	if !slices.Equal(docs, want) || g.Root.Digest != root.Digest {
		t.Fatalf("docs %v, want %v (children, root, then referrers after their subjects)", docs, want)
	}
	if len(g.Tagged) != 1 || g.Tagged[0].Tag != "sha256-"+root.Digest.Hex()+".sig" || g.Tagged[0].Doc.Digest != sig.Digest {
		t.Fatalf("tagged %+v", g.Tagged)
	}
	if len(g.Blobs) != len(plain.Blobs)+4 { // each artifact's layer, and the empty config once
		t.Fatalf("%d blobs, %d without referrers", len(g.Blobs), len(plain.Blobs))
	}
	dst := newMemStore()
	if err := images.CopyGraph(t.Context(), dst, src, g, &images.CopyOptions{Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
	if dst.tags["v1"].Digest != root.Digest || dst.tags[g.Tagged[0].Tag].Digest != sig.Digest || len(dst.blobs) != len(src.blobs) {
		t.Fatalf("copied: tags %v, %d of %d blobs", dst.tags, len(dst.blobs), len(src.blobs))
	}
}

// TestWalkReferrerCycle: referrers that refer to each other end the walk.
func TestWalkReferrerCycle(t *testing.T) {
	src := &referrerStore{memStore: newMemStore(), refs: map[manifest.Digest][]manifest.Descriptor{}}
	img := src.putImage(t, "amd64", 10)
	a := src.putArtifact(t, "a", &img)
	src.refs[img.Digest] = []manifest.Descriptor{a}
	src.refs[a.Digest] = []manifest.Descriptor{img} // a claims the image refers back to it
	g, err := images.Walk(t.Context(), src, img, &images.WalkOptions{Referrers: true})
	if err != nil || len(g.Docs) != 2 {
		t.Fatalf("%v, %d docs", err, len(g.Docs))
	}
	src.tags[cosignTag(t, img.Digest, ".att")] = manifest.Descriptor{MediaType: manifest.MediaTypeOCIManifest, Digest: manifest.FromString("gone"), Size: 4}
	if _, err := images.Walk(t.Context(), src, img, &images.WalkOptions{Referrers: true}); err == nil || !strings.Contains(err.Error(), "fetching") {
		t.Fatalf("a cosign tag naming a missing manifest: %v", err)
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
