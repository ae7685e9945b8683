package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// gcFixture pushes, into a served root: in repository a, an image "keep"
// with a signature (a referrer whose subject is "keep"), an image "gone"
// deleted since, an index with one child, and a blob of a push that never
// finished; in repository b, an image sharing its layer with "gone". It
// stops the server and returns the root and the digests that must go
// from a's layout and from the store.
func gcFixture(t *testing.T) (root string, fromA, fromStore []manifest.Digest) {
	s := start(t, nil)
	keep := newImage("keep", 300, nil)
	s.push("a", "keep", keep)
	sig := newImage("sig", 50, map[string]any{"subject": keep.desc, "artifactType": "application/example.sig"})
	s.push("a", string(sig.desc.Digest), sig)
	child := newImage("child", 70, nil)
	s.push("a", string(child.desc.Digest), child)
	idx, _ := json.Marshal(manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{child.desc}})
	s.do("PUT", "/v2/a/manifests/multi", idx, "Content-Type", manifest.MediaTypeOCIIndex).want(t, 201)

	gone := newImage("gone", 200, nil)
	s.push("a", "gone", gone)
	shared := newImage("shared", 80, nil)
	shared.layer = gone.layer
	shared = rebuild(shared)
	s.push("b", "v1", shared)
	s.do("DELETE", "/v2/a/manifests/"+string(gone.desc.Digest), nil).want(t, 202)
	orphan := s.pushBlob("a", []byte("a layer whose manifest never came"))
	s.Close()
	cfg := manifest.FromBytes(gone.config)
	return s.root, []manifest.Digest{cfg, gone.layerDigest(), orphan}, []manifest.Digest{cfg, gone.desc.Digest, orphan}
}

// rebuild recomputes an image's manifest after its blobs changed.
func rebuild(im image) image {
	m := map[string]any{"schemaVersion": 2, "mediaType": manifest.MediaTypeOCIManifest,
		"config": manifest.DescriptorFor(manifest.MediaTypeOCIConfig, im.config),
		"layers": []manifest.Descriptor{manifest.DescriptorFor(manifest.MediaTypeOCILayer, im.layer)}}
	im.raw, _ = json.Marshal(m)
	im.desc = manifest.DescriptorFor(manifest.MediaTypeOCIManifest, im.raw)
	return im
}

func (im image) layerDigest() manifest.Digest { return manifest.FromBytes(im.layer) }

// TestGC: blobs no manifest of a repository references leave its layout;
// blobs no repository references leave the store; a referrer and its
// subject, an index and its child, and a layer another repository still
// uses all stay, and every layout is valid afterwards.
func TestGC(t *testing.T) {
	root, fromA, fromStore := gcFixture(t)
	res, err := server.GC(t.Context(), root, false)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range fromA {
		want = append(want, "a/blobs/sha256/"+d.Hex())
	}
	for _, d := range fromStore {
		want = append(want, ".blobs/sha256/"+d.Hex())
	}
	var got []string
	for _, f := range res.Removed {
		got = append(got, f.Path)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("removed\n%v\nwant\n%v", got, want)
	}
	for _, p := range want {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	if len(res.Skipped) != 0 || res.Freed <= 0 {
		t.Fatalf("skipped %v, freed %d", res.Skipped, res.Freed)
	}
	checkLayout(t, root, "a")
	checkLayout(t, root, "b")
	again, err := server.GC(t.Context(), root, false)
	if err != nil || len(again.Removed) != 0 {
		t.Fatalf("a second gc removed %v, %v", again.Removed, err)
	}
}

// TestGCDryRunChangesNothing: a dry run leaves every byte, name and mode
// under the root as it was, and lists what the real run then removes.
func TestGCDryRunChangesNothing(t *testing.T) {
	root, _, _ := gcFixture(t)
	os.WriteFile(filepath.Join(root, ".blobs", "sha256", ".tmp-left"), []byte("partial"), 0o644)
	before := tree(t, root)
	dry, err := server.GC(t.Context(), root, true)
	if err != nil {
		t.Fatal(err)
	}
	if after := tree(t, root); after != before {
		t.Fatalf("the dry run changed the root:\n%s\nwas\n%s", after, before)
	}
	real, err := server.GC(t.Context(), root, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dry.Removed, real.Removed) || dry.Freed != real.Freed || len(dry.Removed) != 7 {
		t.Fatalf("dry run %+v, real run %+v", dry, real)
	}
}

// A repository whose index.json names a manifest gc cannot read is left
// alone, and said so; the others are collected.
func TestGCSkipsUnreadableRepository(t *testing.T) {
	root, _, _ := gcFixture(t)
	idx, err := os.ReadFile(filepath.Join(root, "b", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index manifest.Index
	json.Unmarshal(idx, &index)
	d := index.Manifests[0].Digest
	os.Remove(filepath.Join(root, "b", "blobs", "sha256", d.Hex()))
	before := files(t, filepath.Join(root, "b"))
	res, err := server.GC(t.Context(), root, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0], "b: ") {
		t.Fatalf("skipped %v", res.Skipped)
	}
	if after := files(t, filepath.Join(root, "b")); len(after) != len(before) {
		t.Fatalf("files of b: %v, were %v", after, before)
	}
	checkLayout(t, root, "a")
}

// tree describes every entry under root: path, mode, size, mtime and
// contents.
func tree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		var content []byte
		if info.Mode().IsRegular() {
			content, _ = os.ReadFile(p)
		}
		rel, _ := filepath.Rel(root, p)
		b.WriteString(rel + " " + info.Mode().String() + " " + info.ModTime().String() + " " + string(manifest.FromBytes(content)) + "\n")
		return nil
	})
	return b.String()
}
