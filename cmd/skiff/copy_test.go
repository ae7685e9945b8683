package main

import (
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

func TestCopyMultiArchWholeAndByPlatform(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	dst := registrytest.NewServer(t, nil)
	ims, idx := multiArch(t, src.Host, "multi/app:1")
	read := func(name string) *manifest.Document {
		ref, _ := reference.Parse(dst.Host + "/" + name)
		doc, err := (&registry.Client{}).Repository(ref).FetchManifest(t.Context(), ref.Tag)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	if out := mustRun(t, "copy", src.Host+"/multi/app:1", dst.Host+"/multi/app:all"); strings.TrimSpace(out) != string(idx.Digest) {
		t.Fatalf("whole copy printed %q, want %s", out, idx.Digest)
	}
	if doc := read("multi/app:all"); doc.Digest != idx.Digest {
		t.Fatal("the index did not arrive whole")
	}
	mustRun(t, "copy", "--platform", "linux/arm64", src.Host+"/multi/app:1", dst.Host+"/multi/app:arm")
	if doc := read("multi/app:arm"); doc.Digest != ims[1].Manifest.Digest {
		t.Fatalf("by platform: got %s, want the arm64 manifest", doc.Digest)
	}
	mustRun(t, "copy", "--platform", "linux/arm64,linux/amd64", src.Host+"/multi/app:1", dst.Host+"/multi/app:two")
	if doc := read("multi/app:two"); doc.Digest != idx.Digest {
		t.Fatal("a platform list naming every platform did not copy the index as it is")
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "copy", "--platform", "linux/s390x", src.Host+"/multi/app:1", dst.Host+"/multi/app:none")
	if code != exitError || !strings.Contains(stderr, "no manifest for platform linux/s390x") || !strings.Contains(stderr, "linux/arm64") {
		t.Fatalf("a missing platform: exit %d, %q", code, stderr)
	}
}
