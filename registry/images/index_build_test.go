package images_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
)

var (
	linuxAMD64 = manifest.Platform{OS: "linux", Architecture: "amd64"}
	linuxARM64 = manifest.Platform{OS: "linux", Architecture: "arm64"}
	linuxARMv7 = manifest.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	windows    = manifest.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763.1234", OSFeatures: []string{"win32k"}}
)

// TestNewIndexFromPlatformsInConfigs assembles images of three
// repositories into a fourth: each entry's platform is its config's (os,
// architecture, variant, os.version, os.features), the children are
// mounted into the index's repository (no blob crosses), and the index
// is pushed last.
func TestNewIndexFromPlatformsInConfigs(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	var want []manifest.Digest
	for i, p := range []manifest.Platform{linuxAMD64, linuxARMv7, windows} {
		want = append(want, seedPlatform(t, srv.Host, "src/"+strings.ReplaceAll(p.OS+p.Architecture+p.Variant, "/", "")+":1", p, uint64(i), false).Manifest.Digest)
	}
	srcs := []string{srv.Host + "/src/linuxamd64:1", srv.Host + "/src/linuxarmv7:1", srv.Host + "/src/windowsamd64:1"}
	ctx := t.Context()
	ix, err := images.NewIndexFrom(ctx, srcs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Log.Reset()
	desc, err := images.WriteIndex(ctx, ix, srv.Host+"/app/multi:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != manifest.MediaTypeOCIIndex {
		t.Errorf("media type %s, want an OCI index", desc.MediaType)
	}
	reqs := srv.Log.Requests()
	for _, r := range reqs {
		if r.Method == "GET" && strings.Contains(r.Path, "/blobs/") || r.Method == "PATCH" {
			t.Errorf("%s %s: a blob crossed; it should have been mounted", r.Method, r.Path)
		}
	}
	if last := reqs[len(reqs)-1]; last.Method != "PUT" || !strings.HasSuffix(last.Path, "/manifests/1") {
		t.Errorf("last request %s %s, want the index's PUT", last.Method, last.Path)
	}
	back, err := images.OpenIndex(ctx, srv.Host+"/app/multi:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := back.Manifests()
	for i, p := range []manifest.Platform{linuxAMD64, linuxARMv7, windows} {
		if got[i].Digest != want[i] || got[i].Platform == nil || !samePlatformAll(*got[i].Platform, p) {
			t.Errorf("entry %d: %s %+v, want %s %+v", i, got[i].Digest, got[i].Platform, want[i], p)
		}
		if _, err := back.Image(ctx, p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func samePlatformAll(a, b manifest.Platform) bool {
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant &&
		a.OSVersion == b.OSVersion && slices.Equal(a.OSFeatures, b.OSFeatures)
}

// TestIndexMediaType: Docker-typed children make a Docker manifest list,
// any OCI child (or an annotation) an OCI index, and WithMediaType
// chooses, refusing a Docker list of OCI manifests.
func TestIndexMediaType(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedPlatform(t, srv.Host, "d/amd:1", linuxAMD64, 1, true)
	seedPlatform(t, srv.Host, "d/arm:1", linuxARM64, 2, true)
	seedPlatform(t, srv.Host, "o/arm:1", linuxARM64, 3, false)
	ctx := t.Context()
	open := func(srcs ...string) *images.Index {
		t.Helper()
		for i := range srcs {
			srcs[i] = srv.Host + "/" + srcs[i]
		}
		ix, err := images.NewIndexFrom(ctx, srcs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ix
	}
	typeOf := func(ix *images.Index) string {
		t.Helper()
		doc, err := ix.Document()
		if err != nil {
			t.Fatal(err)
		}
		return doc.MediaType
	}
	docker := open("d/amd:1", "d/arm:1")
	if mt := typeOf(docker); mt != manifest.MediaTypeDockerManifestList {
		t.Errorf("Docker children: %s, want a Docker manifest list", mt)
	}
	if mt := typeOf(docker.Annotate(map[string]string{"k": "v"})); mt != manifest.MediaTypeOCIIndex {
		t.Errorf("Docker children and an annotation: %s, want an OCI index", mt)
	}
	if mt := typeOf(open("d/amd:1", "o/arm:1")); mt != manifest.MediaTypeOCIIndex {
		t.Errorf("mixed children: %s, want an OCI index", mt)
	}
	oci, err := docker.WithMediaType(manifest.MediaTypeOCIIndex)
	if err != nil || typeOf(oci) != manifest.MediaTypeOCIIndex {
		t.Errorf("WithMediaType(OCI): %v", err)
	}
	list, err := open("d/amd:1", "o/arm:1").WithMediaType(manifest.MediaTypeDockerManifestList)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := list.Document(); err == nil || !strings.Contains(err.Error(), "Docker manifest list cannot list") {
		t.Errorf("a Docker list of an OCI manifest: %v", err)
	}
	if _, err := docker.WithMediaType("application/json"); err == nil {
		t.Error("WithMediaType took application/json")
	}
	d, err := images.WriteIndex(ctx, docker, srv.Host+"/d/multi:1", nil)
	if err != nil || d.MediaType != manifest.MediaTypeDockerManifestList {
		t.Errorf("written: %v %v", d.MediaType, err)
	}
}

// TestIndexDuplicates: two images of one platform are refused, kept or
// replaced as asked; the same image twice is one entry.
func TestIndexDuplicates(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	a := seedPlatform(t, srv.Host, "dup/a:1", linuxAMD64, 1, false)
	b := seedPlatform(t, srv.Host, "dup/b:1", manifest.Platform{OS: "linux", Architecture: "x86_64"}, 2, false)
	ctx := t.Context()
	imA, errA := images.Open(ctx, srv.Host+"/dup/a:1", nil)
	imB, errB := images.Open(ctx, srv.Host+"/dup/b:1", nil)
	if err := errors.Join(errA, errB); err != nil {
		t.Fatal(err)
	}
	if _, err := images.NewIndex(imA, imB); !errors.Is(err, images.ErrDuplicatePlatform) {
		t.Errorf("NewIndex of two linux/amd64 images: %v, want ErrDuplicatePlatform", err)
	}
	ix, err := images.NewIndex(imA, imA)
	if err != nil || len(ix.Manifests()) != 1 {
		t.Errorf("the same image twice: %v, %d entries", err, len(ix.Manifests()))
	}
	kept, err := ix.Add(imB, &images.AddOptions{Duplicates: images.KeepDuplicates})
	if err != nil || digests(kept) != string(a.Manifest.Digest)+" "+string(b.Manifest.Digest) {
		t.Errorf("kept: %v %s", err, digests(kept))
	}
	replaced, err := kept.Add(imA, nil) // replaces both linux/amd64 entries with one
	if err != nil || digests(replaced) != string(a.Manifest.Digest) {
		t.Errorf("replaced: %v %s", err, digests(replaced))
	}
	if _, err := images.NewIndexFrom(ctx, []string{srv.Host + "/dup/a:1", srv.Host + "/dup/b:1"}, &images.AddOptions{Duplicates: images.RefuseDuplicates}, nil); !errors.Is(err, images.ErrDuplicatePlatform) {
		t.Errorf("NewIndexFrom refusing: %v", err)
	}
}

func digests(ix *images.Index) string {
	var ds []string
	for _, d := range ix.Manifests() {
		ds = append(ds, string(d.Digest))
	}
	return strings.Join(ds, " ")
}

// TestIndexEdits removes and annotates entries, takes chosen platforms
// of another index with their attestations, and leaves the index it was
// given as it was.
func TestIndexEdits(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	ref := srv.Host + "/edit/multi:1"
	seedAttestedIndex(t, srv.Host, "edit/multi:1")
	orig, err := images.OpenIndex(ctx, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(orig.Manifests()); n != 3 {
		t.Fatalf("seeded %d entries", n)
	}
	removed, err := orig.Remove(linuxAMD64) // and its attestation
	if err != nil || len(removed.Manifests()) != 1 || removed.Manifests()[0].Platform.Architecture != "arm64" {
		t.Errorf("Remove: %v %v", err, removed.Manifests())
	}
	if _, err := removed.Remove(linuxAMD64); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("removing it again: %v", err)
	}
	if _, err := orig.RemoveDigest(orig.Manifests()[1].Digest); err != nil {
		t.Error(err)
	}
	noted, err := orig.AnnotateEntry(linuxARM64, map[string]string{"team": "arm"})
	if err != nil || noted.Manifests()[1].Annotations["team"] != "arm" {
		t.Errorf("AnnotateEntry: %v", err)
	}
	unnoted, _ := noted.AnnotateEntry(linuxARM64, map[string]string{"team": ""})
	if _, ok := unnoted.Manifests()[1].Annotations["team"]; ok {
		t.Error("an empty value did not remove the annotation")
	}
	top := orig.Annotate(map[string]string{"org.opencontainers.image.version": "1"})
	doc, _ := top.Document()
	if doc.Index.Annotations["org.opencontainers.image.version"] != "1" {
		t.Error("Annotate did not annotate the index")
	}
	empty, _ := images.NewIndex()
	some, err := empty.AddIndex(orig, &images.AddOptions{Platforms: []manifest.Platform{linuxAMD64}})
	if err != nil || len(some.Manifests()) != 2 {
		t.Errorf("AddIndex linux/amd64: %v, %d entries, want it and its attestation", err, len(some.Manifests()))
	}
	if _, err := empty.AddIndex(orig, &images.AddOptions{Platforms: []manifest.Platform{{OS: "linux", Architecture: "s390x"}}}); !errors.Is(err, manifest.ErrNotFound) {
		t.Errorf("AddIndex of a platform it lacks: %v", err)
	}
	if n := len(orig.Manifests()); n != 3 || len(orig.Manifests()[1].Annotations) != 0 {
		t.Errorf("the original changed: %d entries, %v", n, orig.Manifests()[1].Annotations)
	}
	if d, _ := orig.Document(); d.Digest == doc.Digest {
		t.Error("the annotated index has the original's digest")
	}
}

// seedAttestedIndex pushes an index of linux/amd64, linux/arm64 and an
// attestation of the amd64 image, as buildx lists it, to host/name.
func seedAttestedIndex(t *testing.T, host, name string) {
	t.Helper()
	ctx := t.Context()
	ref, _ := reference.Parse(host + "/" + name)
	repo := (&registry.Client{}).Repository(ref)
	var imgs []*testimage.Image
	for i, p := range []manifest.Platform{linuxAMD64, linuxARM64} {
		im, err := testimage.New(testimage.Options{LayerSizes: []int{100}, Seed: uint64(10 + i), Platform: p})
		if err != nil {
			t.Fatal(err)
		}
		if err := testimage.Push(ctx, repo, im, ""); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, im)
	}
	att, err := testimage.New(testimage.Options{LayerSizes: []int{50}, Seed: 99, Platform: manifest.Platform{OS: "unknown", Architecture: "unknown"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.Push(ctx, repo, att, ""); err != nil {
		t.Fatal(err)
	}
	idx, err := testimage.Index(false, imgs...)
	if err != nil {
		t.Fatal(err)
	}
	ad := att.Descriptor()
	ad.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": string(imgs[0].Manifest.Digest)}
	ix := *idx.Index
	ix.Manifests = append(ix.Manifests, ad)
	doc, err := manifest.Marshal(manifest.MediaTypeOCIIndex, &ix)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.PushDocument(ctx, repo, doc, ref.Tag); err != nil {
		t.Fatal(err)
	}
}

// TestNewIndexFromLayoutsAndArchives assembles an index from an OCI
// layout, a docker-archive and an oci-archive into a registry and into a
// layout; each child arrives whole.
func TestNewIndexFromLayoutsAndArchives(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	dir := t.TempDir()
	seedPlatform(t, srv.Host, "files/amd:1", linuxAMD64, 1, false)
	seedPlatform(t, srv.Host, "files/arm:1", linuxARM64, 2, false)
	seedPlatform(t, srv.Host, "files/v7:1", linuxARMv7, 3, true)
	for src, dst := range map[string]string{
		srv.Host + "/files/amd:1": "oci:" + filepath.Join(dir, "lay") + ":amd",
		srv.Host + "/files/arm:1": "docker-archive:" + filepath.Join(dir, "arm.tar"),
		srv.Host + "/files/v7:1":  "oci-archive:" + filepath.Join(dir, "v7.tar"),
	} {
		if _, err := images.Copy(ctx, src, dst, nil); err != nil {
			t.Fatal(err)
		}
	}
	srcs := []string{"oci:" + filepath.Join(dir, "lay") + ":amd", "docker-archive:" + filepath.Join(dir, "arm.tar"), "oci-archive:" + filepath.Join(dir, "v7.tar")}
	ix, err := images.NewIndexFrom(ctx, srcs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for _, dst := range []string{srv.Host + "/files/multi:1", "oci:" + filepath.Join(dir, "out") + ":multi"} {
		if _, err := images.WriteIndex(ctx, ix, dst, nil); err != nil {
			t.Fatalf("%s: %v", dst, err)
		}
		// A whole copy of it elsewhere reads every blob: the children are complete.
		if _, err := images.Copy(ctx, dst, "oci:"+filepath.Join(t.TempDir(), "check"), nil); err != nil {
			t.Errorf("%s: %v", dst, err)
		}
		back, err := images.OpenIndex(ctx, dst, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ps []string
		for _, d := range back.Manifests() {
			ps = append(ps, d.Platform.String())
		}
		back.Close()
		if got := strings.Join(ps, " "); got != "linux/amd64 linux/arm64 linux/arm/v7" {
			t.Errorf("%s: platforms %s", dst, got)
		}
	}
}

// TestNewIndexFromBadInput: a location that does not parse, and one that
// does not exist, fail before anything is written.
func TestNewIndexFromBadInput(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := context.Background()
	if _, err := images.NewIndexFrom(ctx, []string{"oci:"}, nil, nil); err == nil {
		t.Error("oci: with no path was taken")
	}
	_, err := images.NewIndexFrom(ctx, []string{srv.Host + "/no/such:1"}, nil, nil)
	if !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a missing image: %v", err)
	}
}

// TestIndexNoChangeKeepsBytes: an edit that changes nothing (an image
// already there, an annotation already set) leaves an index another tool
// wrote byte for byte, so that its digest stays.
func TestIndexNoChangeKeepsBytes(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	ctx := t.Context()
	im := seedPlatform(t, srv.Host, "keep/multi:amd", linuxAMD64, 1, false)
	d := im.Descriptor()
	d.Annotations = map[string]string{"k": "v"}
	raw, err := json.MarshalIndent(manifest.Index{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIIndex, Manifests: []manifest.Descriptor{d}}, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := manifest.Parse(raw, manifest.MediaTypeOCIIndex)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(srv.Host + "/keep/multi:1")
	if err := testimage.PushDocument(ctx, (&registry.Client{}).Repository(ref), doc, "1"); err != nil {
		t.Fatal(err)
	}
	ix, err := images.OpenIndex(ctx, srv.Host+"/keep/multi:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := images.Open(ctx, srv.Host+"/keep/multi:amd", nil)
	if err != nil {
		t.Fatal(err)
	}
	added, err := ix.Add(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	noted, err := added.AnnotateEntry(linuxAMD64, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := noted.Document(); got.Digest != doc.Digest {
		t.Errorf("no change made the digest %s, was %s", got.Digest, doc.Digest)
	}
}

// seedPlatform pushes a one-layer image of platform p to host/name:tag
// and returns it; seed varies its layer.
func seedPlatform(t *testing.T, host, name string, p manifest.Platform, seed uint64, docker bool) *testimage.Image {
	return testimage.PushNew(t, host+"/"+name, testimage.Options{LayerSizes: []int{300}, Seed: seed, Platform: p, Docker: docker})
}
