package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/manifest"
)

// TestIndexAgainstDistribution runs the index commands and rebase against
// Debian's docker-registry: an index assembled across registries (the
// children streamed from the in-process one), edited in place, three
// concurrent adds, rebases of an image and an index; skopeo then pulls
// each platform of the assembled index.
func TestIndexAgainstDistribution(t *testing.T) {
	reg := distribution.Start(t, nil)
	srv := registrytest.NewServer(t, nil)
	h, r := srv.Host, reg.Host
	pushPlatform(t, h, "src/amd:1", amd64, 1, true)
	pushPlatform(t, h, "src/arm:1", arm64, 2, true)
	pushPlatform(t, h, "src/v7:1", armv7, 3, false)
	dst := r + "/app/multi:1"
	mustRun(t, "index", "create", "--insecure", dst, h+"/src/amd:1", h+"/src/arm:1")
	if doc := readIndex(t, dst); doc.MediaType != manifest.MediaTypeDockerManifestList || platforms(doc) != "linux/amd64 linux/arm64" {
		t.Fatalf("created: %s %q", doc.MediaType, platforms(doc))
	}
	mustRun(t, "index", "add", "--insecure", dst, h+"/src/v7:1")
	mustRun(t, "index", "annotate", "--insecure", dst, "--platform", "linux/arm/v7", "--annotation", "runner=v7")
	mustRun(t, "index", "add", "--insecure", dst, h+"/src/v7:1") // there already: no change
	doc := readIndex(t, dst)
	if doc.MediaType != manifest.MediaTypeOCIIndex || platforms(doc) != "linux/amd64 linux/arm64 linux/arm/v7" || doc.Index.Manifests[2].Annotations["runner"] != "v7" {
		t.Fatalf("after add and annotate: %s %q %v", doc.MediaType, platforms(doc), doc.Index.Manifests[2].Annotations)
	}
	skopeoPullsEach(t, dst, doc)
	mustRun(t, "index", "remove", "--insecure", dst, "--platform", "linux/arm64")
	if got := platforms(readIndex(t, dst)); got != "linux/amd64 linux/arm/v7" {
		t.Errorf("after remove: %q", got)
	}
	t.Run("concurrent adds", func(t *testing.T) { concurrentAdds(t, r, r+"/race/multi:1") })
	t.Run("rebase", func(t *testing.T) { rebaseAndCheck(t, r) })
}

// skopeoPullsEach has skopeo copy every platform of the index at ref into
// a directory, and checks that it got the entry's manifest.
func skopeoPullsEach(t *testing.T, ref string, doc *manifest.Document) {
	t.Helper()
	skopeo := distribution.RequireTool(t, "skopeo")
	for _, d := range doc.Index.Manifests {
		out := filepath.Join(t.TempDir(), "img")
		args := []string{"--insecure-policy", "--override-os", d.Platform.OS, "--override-arch", d.Platform.Architecture}
		if d.Platform.Variant != "" {
			args = append(args, "--override-variant", d.Platform.Variant)
		}
		runTool(t, skopeo, append(args, "copy", "--src-tls-verify=false", "docker://"+ref, "dir:"+out)...)
		raw, err := os.ReadFile(filepath.Join(out, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := manifest.FromBytes(raw); got != d.Digest {
			t.Errorf("skopeo pulled %s for %s, want %s", got, d.Platform, d.Digest)
		}
	}
}

// TestIndexPodmanPulls has podman pull each platform of an index skiff
// assembled. podman is not among the tools CI installs: without it the
// test skips, with SKIFF_INTEGRATION=1 too.
func TestIndexPodmanPulls(t *testing.T) {
	podman := distribution.RequireTool(t, "podman")
	srv := registrytest.NewServer(t, nil)
	h := srv.Host
	pushPlatform(t, h, "src/amd:1", amd64, 1, false)
	pushPlatform(t, h, "src/arm:1", arm64, 2, false)
	mustRun(t, "index", "create", h+"/app/multi:1", h+"/src/amd:1", h+"/src/arm:1")
	doc := readIndex(t, h+"/app/multi:1")
	store := t.TempDir()
	for _, d := range doc.Index.Manifests {
		cmd := exec.Command(podman, "--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"),
			"pull", "--tls-verify=false", "--platform", d.Platform.String(), h+"/app/multi:1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("podman pull %s: %v\n%s", d.Platform, err, out)
		}
		out, err := exec.Command(podman, "--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"),
			"image", "inspect", "--format", "{{.Digest}}", h+"/app/multi:1").CombinedOutput()
		if err != nil || !strings.Contains(string(out), string(d.Digest)) && !strings.Contains(string(out), string(doc.Digest)) {
			t.Errorf("podman image inspect after pulling %s: %v %s", d.Platform, err, out)
		}
	}
}

// TestIndexCosignSigns has cosign sign an index skiff assembled, and
// verify the signature.
func TestIndexCosignSigns(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	c := newCosign(t, srv.Host)
	h := srv.Host
	pushPlatform(t, h, "src/amd:1", amd64, 1, false)
	pushPlatform(t, h, "src/arm:1", arm64, 2, false)
	digest := strings.TrimSpace(mustRun(t, "index", "create", h+"/app/multi:1", h+"/src/amd:1", h+"/src/arm:1"))
	c.mustRun("generate-key-pair", "--output-key-prefix", filepath.Join(c.dir, "cosign"))
	key, pub := filepath.Join(c.dir, "cosign.key"), filepath.Join(c.dir, "cosign.pub")
	ref := h + "/app/multi@" + digest
	c.sign(key, ref, cosignTagFlags)
	if out, err := c.verify(pub, ref); err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
	if out := mustRun(t, "verify", "--key", pub, h+"/app/multi:1"); !strings.Contains(out, "verified ") {
		t.Errorf("skiff verify: %q", out)
	}
}
