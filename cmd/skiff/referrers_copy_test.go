package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/images"
	"github.com/skiffoci/skiff/tarball"
)

// signedImage pushes an image to srv with what cosign and the referrers
// API attach to it: a signature under cosign's .sig tag, an SBOM that
// refers to the image, and a signature that refers to the SBOM.
func signedImage(t *testing.T, srv *registrytest.Server, name string) (image manifest.Descriptor, attached []manifest.Digest) {
	t.Helper()
	im := seedImage(t, srv, name+":1", 2000)
	ref, _ := reference.Parse(srv.Host + "/" + name)
	repo := (&registry.Client{}).Repository(ref)
	subject := im.Manifest.Descriptor()
	sig := artifact(t, repo, "application/vnd.dev.cosign.simplesigning.v1+json", nil)
	if err := testimage.PushDocument(t.Context(), repo, sig, must(manifest.CosignTag(subject.Digest, ".sig"))); err != nil {
		t.Fatal(err)
	}
	sbom := artifact(t, repo, "application/spdx+json", &subject)
	sbomDesc := sbom.Descriptor()
	sbomSig := artifact(t, repo, "application/vnd.example.sig", &sbomDesc)
	for _, d := range []*manifest.Document{sbom, sbomSig} {
		if err := testimage.PushDocument(t.Context(), repo, d, ""); err != nil {
			t.Fatal(err)
		}
	}
	return subject, []manifest.Digest{sig.Digest, sbom.Digest, sbomSig.Digest}
}

// artifact builds an artifact manifest of one small layer, pushing the
// layer and its empty config.
func artifact(t *testing.T, repo *registry.Repository, artifactType string, subject *manifest.Descriptor) *manifest.Document {
	t.Helper()
	payload := []byte(artifactType + " payload")
	layer := manifest.DescriptorFor(artifactType, payload)
	empty := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	for _, b := range []struct {
		d    manifest.Descriptor
		data []byte
	}{{layer, payload}, {empty, []byte("{}")}} {
		if err := repo.Push(t.Context(), b.d, bytes.NewReader(b.data)); err != nil {
			t.Fatal(err)
		}
	}
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, ArtifactType: artifactType,
		Config: empty, Layers: []manifest.Descriptor{layer}, Subject: subject}
	doc, err := manifest.Marshal(manifest.MediaTypeOCIManifest, &m)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// attachedTo finds what the walker finds attached to image in store.
func attachedTo(t *testing.T, store manifest.Fetcher, image manifest.Descriptor) []manifest.Digest {
	t.Helper()
	g, err := images.Walk(t.Context(), store, image, &images.WalkOptions{Referrers: true})
	if err != nil {
		t.Fatal(err)
	}
	var found []manifest.Digest
	for _, d := range g.Docs[1:] {
		found = append(found, d.Digest)
	}
	for _, td := range g.Tagged {
		found = append(found, td.Doc.Digest)
	}
	slices.Sort(found)
	return found
}

// TestCopyReferrers: copy --referrers carries a signature under cosign's
// tag, an SBOM found through the referrers API and the SBOM's own
// signature, from a registry with the API to one without it (tag schema),
// into a layout and from there to a third registry.
func TestCopyReferrers(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	noAPI := registrytest.NewServer(t, &registrytest.Options{NoReferrers: true})
	last := registrytest.NewServer(t, nil)
	image, attached := signedImage(t, src, "demo/app")
	slices.Sort(attached)
	lay := filepath.Join(t.TempDir(), "lay")
	archive := filepath.Join(t.TempDir(), "app.tar")
	hops := [][2]string{
		{src.Host + "/demo/app:1", noAPI.Host + "/mirror/app:1"},
		{noAPI.Host + "/mirror/app:1", "oci:" + lay + ":1"},
		{"oci:" + lay + ":1", "oci-archive:" + archive + ":1"},
		{"oci-archive:" + archive + ":1", last.Host + "/back/app:1"},
	}
	for _, hop := range hops {
		mustRun(t, "copy", "--quiet", "--referrers", hop[0], hop[1])
		store := storeAt(t, hop[1])
		if got := attachedTo(t, store, image); !slices.Equal(got, attached) {
			t.Fatalf("after copy --referrers to %s: attached %v, want %v", hop[1], got, attached)
		}
	}
	// Without --referrers nothing is attached at the destination.
	plain := registrytest.NewServer(t, nil)
	mustRun(t, "copy", "--quiet", src.Host+"/demo/app:1", plain.Host+"/plain/app:1")
	if got := attachedTo(t, storeAt(t, plain.Host+"/plain/app:1"), image); len(got) != 0 {
		t.Fatalf("a plain copy carried %v", got)
	}
	// The archive is a tar of a layout and nothing else: no partial
	// layout is left beside it.
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(archive), ".*")); len(left) != 0 {
		t.Fatalf("left beside the archive: %v", left)
	}
	for _, dst := range []string{"docker-archive:" + filepath.Join(t.TempDir(), "x.tar"), "oci-archive:-"} {
		code, _, stderr := runSkiff(t, context.Background(), "", "copy", "--referrers", src.Host+"/demo/app:1", dst)
		if code != exitUsage || !strings.Contains(stderr, "--referrers") {
			t.Fatalf("--referrers to %s: exit %d %s", dst, code, stderr)
		}
	}
}

// TestReferrersArchiveStalePartial: an oci-archive written with
// --referrers is assembled in a partial layout (resuming it is among
// resumeCases); one left by a run for another image is discarded, the
// archive holds the image and its referrers, and the same copy writes the
// same bytes.
func TestReferrersArchiveStalePartial(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	image, attached := signedImage(t, src, "demo/app")
	other := seedImage(t, src, "demo/other:1", 3000)
	dir := t.TempDir()
	archive := filepath.Join(dir, "app.tar")
	partial := filepath.Join(dir, ".app.tar.layout.skiff-partial")
	// A layout some earlier run of another image left: discarded.
	mustRun(t, "copy", "--quiet", src.Host+"/demo/other:1", "oci:"+partial+":1")
	stale := filepath.Join(partial, "blobs", "sha256", other.Manifest.Manifest.Layers[0].Digest.Hex())
	if _, err := os.Stat(stale); err != nil {
		t.Fatal(err)
	}
	d, err := safefile.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := resume.OpenState(d, ".app.tar.layout.skiff-state", [32]byte{1}, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	mustRun(t, "copy", "--quiet", "--referrers", src.Host+"/demo/app:1", "oci-archive:"+archive+":1")
	if _, err := os.Stat(partial); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the partial layout is still there: %v", err)
	}
	r, err := tarball.OpenFile(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ok, _ := r.Exists(t.Context(), other.Manifest.Manifest.Layers[0]); ok {
		t.Fatal("the archive holds a blob of the stale partial")
	}
	slices.Sort(attached)
	if got := attachedTo(t, r, image); !slices.Equal(got, attached) {
		t.Fatalf("the archive's referrers %v, want %v", got, attached)
	}
	// Written twice, the same bytes.
	first, _ := os.ReadFile(archive)
	mustRun(t, "copy", "--quiet", "--referrers", src.Host+"/demo/app:1", "oci-archive:"+archive+":1")
	if again, _ := os.ReadFile(archive); !bytes.Equal(first, again) {
		t.Fatal("the same copy wrote different bytes")
	}
}

// storeAt opens the registry repository or layout a copy destination names.
func storeAt(t *testing.T, loc string) manifest.Fetcher {
	t.Helper()
	l, err := parseLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := images.OpenSource(t.Context(), l, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Store
}

// TestReferrersArchiveSkopeo: skopeo reads the oci-archive copy
// --referrers writes as the image, by the tag given. (skopeo reads OCI
// media types only from a layout; a Docker-typed image keeps its types,
// and so its digest and signatures, in the archive.)
func TestReferrersArchiveSkopeo(t *testing.T) {
	skopeo := testtool.Need(t, "skopeo")
	src := registrytest.NewServer(t, nil)
	im, err := testimage.New(testimage.Options{LayerSizes: []int{3000}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(src.Host + "/demo/app:1")
	repo := (&registry.Client{}).Repository(ref)
	if err := testimage.Push(t.Context(), repo, im, "1"); err != nil {
		t.Fatal(err)
	}
	image := im.Descriptor()
	sbom := artifact(t, repo, "application/spdx+json", &image)
	if err := testimage.PushDocument(t.Context(), repo, sbom, ""); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "app.tar")
	mustRun(t, "copy", "--quiet", "--referrers", src.Host+"/demo/app:1", "oci-archive:"+archive+":1")
	cmd := exec.Command(skopeo, "inspect", "--raw", "oci-archive:"+archive+":1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v: %s", err, stderr.Bytes())
	}
	if got := manifest.FromBytes(out); got != image.Digest {
		t.Fatalf("skopeo read manifest %s from the archive, want %s", got, image.Digest)
	}
}
