package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/images"
)

// readIndex reads the index at location.
func readIndex(t *testing.T, location string) *manifest.Document {
	t.Helper()
	ix, err := images.OpenIndex(t.Context(), location, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	doc, err := ix.Document()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// platforms lists the platforms of an index's entries.
func platforms(doc *manifest.Document) string {
	var ps []string
	for _, d := range doc.Index.Manifests {
		ps = append(ps, d.Platform.String())
	}
	return strings.Join(ps, " ")
}

var (
	amd64 = manifest.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = manifest.Platform{OS: "linux", Architecture: "arm64"}
	armv7 = manifest.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
)

// TestIndexCommands runs create, add, remove and annotate against the
// in-process registry: platforms from configs, the media type from the
// children, duplicates refused, replaced or kept, and dry runs that push
// nothing.
func TestIndexCommands(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	h := srv.Host
	pushPlatform(t, h, "src/amd:1", amd64, 1, true)
	pushPlatform(t, h, "src/amd:2", amd64, 2, true)
	pushPlatform(t, h, "src/arm:1", arm64, 3, true)
	v7 := pushPlatform(t, h, "other/v7:1", armv7, 4, false)
	dst := h + "/app/multi:1"

	digest := strings.TrimSpace(mustRun(t, "index", "create", dst, h+"/src/amd:1", h+"/src/arm:1"))
	doc := readIndex(t, dst)
	if string(doc.Digest) != digest || doc.MediaType != manifest.MediaTypeDockerManifestList || platforms(doc) != "linux/amd64 linux/arm64" {
		t.Fatalf("create printed %s; the tag holds %s %s %q", digest, doc.Digest, doc.MediaType, platforms(doc))
	}
	mustRun(t, "index", "create", "--media-type", "oci", "--annotation", "a=b", h+"/app/oci:1", h+"/src/amd:1", h+"/src/arm:1")
	if doc := readIndex(t, h+"/app/oci:1"); doc.MediaType != manifest.MediaTypeOCIIndex || doc.Index.Annotations["a"] != "b" {
		t.Errorf("--media-type oci --annotation a=b: %s %v", doc.MediaType, doc.Index.Annotations)
	}
	failWith(t, "--allow-duplicate-platforms", "index", "create", h+"/app/dup:1", h+"/src/amd:1", h+"/src/amd:2")
	mustRun(t, "index", "create", "--allow-duplicate-platforms", h+"/app/dup:1", h+"/src/amd:1", h+"/src/amd:2")
	if doc := readIndex(t, h+"/app/dup:1"); platforms(doc) != "linux/amd64 linux/amd64" {
		t.Errorf("--allow-duplicate-platforms: %q", platforms(doc))
	}

	mustRun(t, "index", "add", dst, h+"/other/v7:1") // mounted from another repository
	doc = readIndex(t, dst)
	if doc.MediaType != manifest.MediaTypeOCIIndex || platforms(doc) != "linux/amd64 linux/arm64 linux/arm/v7" {
		t.Fatalf("after add: %s %q, want an OCI index of three", doc.MediaType, platforms(doc))
	}
	mustRun(t, "index", "add", dst, h+"/src/amd:2")
	if doc = readIndex(t, dst); len(doc.Index.Manifests) != 3 || doc.Index.Manifests[0].Digest == readIndex(t, h+"/app/dup:1").Index.Manifests[0].Digest {
		t.Errorf("add of another linux/amd64 did not replace it: %q", platforms(doc))
	}
	mustRun(t, "index", "add", "--keep", dst, h+"/src/amd:1")
	if doc = readIndex(t, dst); platforms(doc) != "linux/amd64 linux/arm64 linux/arm/v7 linux/amd64" {
		t.Errorf("add --keep: %q", platforms(doc))
	}
	mustRun(t, "index", "remove", dst, "--platform", "linux/amd64")
	mustRun(t, "index", "remove", dst, "--digest", string(v7.Manifest.Digest))
	if doc = readIndex(t, dst); platforms(doc) != "linux/arm64" {
		t.Errorf("after removing linux/amd64 and v7's digest: %q", platforms(doc))
	}
	mustRun(t, "index", "annotate", dst, "--annotation", "org.opencontainers.image.version=1")
	mustRun(t, "index", "annotate", dst, "--platform", "linux/arm64", "--annotation", "runner=arm-3")
	if doc = readIndex(t, dst); doc.Index.Annotations["org.opencontainers.image.version"] != "1" || doc.Index.Manifests[0].Annotations["runner"] != "arm-3" {
		t.Errorf("annotations: %v, %v", doc.Index.Annotations, doc.Index.Manifests[0].Annotations)
	}

	srv.Log.Reset()
	out := mustRun(t, "index", "create", "--dry-run", h+"/app/dry:1", h+"/src/amd:1", h+"/other/v7:1")
	var dry manifest.Index
	if err := json.Unmarshal([]byte(out), &dry); err != nil || dry.MediaType != manifest.MediaTypeOCIIndex || len(dry.Manifests) != 2 {
		t.Errorf("create --dry-run printed %q (%v)", out, err)
	}
	out = mustRun(t, "index", "add", "--dry-run", dst, h+"/other/v7:1")
	if err := json.Unmarshal([]byte(out), &dry); err != nil || len(dry.Manifests) != 2 {
		t.Errorf("add --dry-run printed %q (%v)", out, err)
	}
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Method != "GET" && r.Method != "HEAD" }); n != 0 {
		t.Errorf("dry runs sent %d requests that write", n)
	}
}

// TestIndexBadInput: every mistake is one line on stderr and a non-zero
// exit; usage mistakes add the usage line and exit 2.
func TestIndexBadInput(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	h := srv.Host
	pushPlatform(t, h, "src/amd:1", amd64, 1, false)
	pushPlatform(t, h, "src/amd:2", amd64, 2, false)
	pushPlatform(t, h, "src/dock:1", amd64, 3, true)
	mustRun(t, "index", "create", h+"/app/multi:1", h+"/src/amd:1")
	mustRun(t, "index", "create", h+"/app/list:1", h+"/src/dock:1")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"index"}, exitUsage, "the subcommands are"},
		{[]string{"index", "frob"}, exitUsage, "the subcommands are"},
		{[]string{"index", "create", h + "/app/x:1"}, exitUsage, "at least one SRC"},
		{[]string{"index", "create", "docker-archive:x.tar", h + "/src/amd:1"}, exitUsage, "a registry or an oci: layout"},
		{[]string{"index", "create", "--media-type", "zip", h + "/app/x:1", h + "/src/amd:1"}, exitUsage, "want oci or docker"},
		{[]string{"index", "create", "--annotation", "novalue", h + "/app/x:1", h + "/src/amd:1"}, exitUsage, "KEY=VALUE"},
		{[]string{"index", "create", "--platform", "linux", h + "/app/x:1", h + "/src/amd:1"}, exitUsage, "--platform"},
		{[]string{"index", "remove", h + "/app/multi:1"}, exitUsage, "one of --platform and --digest"},
		{[]string{"index", "remove", h + "/app/multi:1", "--platform", "linux/amd64", "--digest", "sha256:00"}, exitUsage, "one of --platform and --digest"},
		{[]string{"index", "remove", h + "/app/multi:1", "--digest", "sha256:../x"}, exitUsage, "--digest"},
		{[]string{"index", "annotate", h + "/app/multi:1"}, exitUsage, "--annotation"},
		{[]string{"index", "create", h + "/app/x:1", h + "/src/none:1"}, exitError, "manifest unknown"},
		{[]string{"index", "remove", h + "/app/multi:1", "--platform", "linux/s390x"}, exitError, "no entry for linux/s390x"},
		{[]string{"index", "remove", h + "/app/none:1", "--platform", "linux/amd64"}, exitError, "does not exist"},
		{[]string{"index", "add", h + "/src/amd:1", h + "/src/amd:1"}, exitError, "a single image, not an index"},
		{[]string{"index", "add", h + "/app/multi@sha256:" + strings.Repeat("a", 64), h + "/src/amd:1"}, exitError, "names a digest"},
		{[]string{"index", "add", "oci:" + t.TempDir(), h + "/src/amd:1"}, exitError, "oci:DIR:TAG"},
		{[]string{"index", "add", h + "/app/x:1", h + "/src/amd:1", h + "/src/amd:2"}, exitError, "--keep keeps both"},
	} {
		code, stdout, stderr := runSkiff(t, t.Context(), "", tt.args...)
		lines := 1
		if tt.code == exitUsage {
			lines = 2
		}
		if code != tt.code || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != lines || stdout != "" {
			t.Errorf("skiff %s: exit %d, stderr %q; want exit %d and %d line(s) mentioning %q", strings.Join(tt.args, " "), code, stderr, tt.code, lines, tt.want)
		}
	}
	// A Docker manifest list has no annotations: annotating one makes it
	// an OCI index, its entries unchanged.
	mustRun(t, "index", "annotate", h+"/app/list:1", "--annotation", "a=b")
	if got := mustRun(t, "manifest", h+"/app/list:1"); !strings.Contains(got, `"application/vnd.oci.image.index.v1+json"`) || !strings.Contains(got, `"a": "b"`) && !strings.Contains(got, `"a":"b"`) {
		t.Errorf("annotated Docker manifest list:\n%s\nwant an OCI index with annotation a=b", got)
	}
}

// TestReliability52_ConcurrentIndexAdds runs three skiff index add at
// once into one tag, as three CI jobs would: all three platforms land.
// Run it many times (-count).
func TestReliability52_ConcurrentIndexAdds(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	concurrentAdds(t, srv.Host, srv.Host+"/race/multi:1")
}

// concurrentAdds pushes three images of three platforms to host and adds
// them to dst with three skiff index add at once.
func concurrentAdds(t *testing.T, host, dst string) {
	t.Helper()
	var srcs []string
	for i, p := range []manifest.Platform{amd64, arm64, armv7} {
		name := fmt.Sprintf("race/job:%d", i)
		pushPlatform(t, host, name, p, uint64(20+i), false)
		srcs = append(srcs, host+"/"+name)
	}
	var wg sync.WaitGroup
	for _, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, stderr := runSkiff(t, t.Context(), "", "index", "add", "--insecure", dst, src); code != exitOK {
				t.Errorf("index add %s: exit %d: %s", src, code, stderr)
			}
		}()
	}
	wg.Wait()
	got := strings.Fields(platforms(readIndex(t, dst)))
	slices.Sort(got)
	if strings.Join(got, " ") != "linux/amd64 linux/arm/v7 linux/arm64" {
		t.Errorf("after three concurrent adds %s holds %v", dst, got)
	}
}

// TestIndexLayoutsAndArchives assembles an index from a layout and both
// kinds of archive into a layout, then edits it there.
func TestIndexLayoutsAndArchives(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	h, dir := srv.Host, t.TempDir()
	pushPlatform(t, h, "src/amd:1", amd64, 1, false)
	pushPlatform(t, h, "src/arm:1", arm64, 2, true)
	pushPlatform(t, h, "src/v7:1", armv7, 3, false)
	lay, dar, oar := "oci:"+filepath.Join(dir, "in")+":amd", "docker-archive:"+filepath.Join(dir, "arm.tar"), "oci-archive:"+filepath.Join(dir, "v7.tar")
	mustRun(t, "copy", "--quiet", h+"/src/amd:1", lay)
	mustRun(t, "copy", "--quiet", h+"/src/arm:1", dar)
	mustRun(t, "copy", "--quiet", h+"/src/v7:1", oar)
	dst := "oci:" + filepath.Join(dir, "out") + ":multi"
	mustRun(t, "index", "create", dst, lay, dar)
	mustRun(t, "index", "add", dst, oar)
	mustRun(t, "index", "remove", dst, "--platform", "linux/amd64")
	if got := platforms(readIndex(t, dst)); got != "linux/arm64 linux/arm/v7" {
		t.Errorf("the layout's index: %q", got)
	}
	mustRun(t, "copy", "--quiet", dst, h+"/back/multi:1") // every blob is there
	mustRun(t, "index", "create", h+"/app/files:1", lay, dar, oar)
	if got := platforms(readIndex(t, h+"/app/files:1")); got != "linux/amd64 linux/arm64 linux/arm/v7" {
		t.Errorf("the registry's index: %q", got)
	}
}

func TestIndexHelp(t *testing.T) {
	for _, sub := range []string{"create", "add", "remove", "annotate"} {
		out := mustRun(t, "index", sub, "--help")
		if !strings.HasPrefix(out, "usage: skiff index "+sub+" ") || !strings.Contains(out, "examples:") {
			t.Errorf("index %s --help: %q", sub, out)
		}
	}
	if out := mustRun(t, "help", "index"); !strings.Contains(out, "skiff index create DST SRC") {
		t.Errorf("help index: %q", out)
	}
}

// pushPlatform pushes a one-layer image of platform p to host/name.
func pushPlatform(t *testing.T, host, name string, p manifest.Platform, seed uint64, docker bool) *testimage.Image {
	return testimage.PushNew(t, host+"/"+name, testimage.Options{LayerSizes: []int{200}, Seed: seed, Platform: p, Docker: docker})
}
