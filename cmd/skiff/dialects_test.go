package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
)

// Digests in testdata/tarball/containerd-export*.tar (see its README).
const (
	ctrIndex = "sha256:455585b1a2420d3ebf1de9016341936bc580b50ea05f38095963b7f1be5556fc"
	ctrAMD64 = "sha256:e06c6a04ca439730942f8ee7576661edeff3e1744d81f70ef3195a3bacdda8df"
)

// fetchDoc reads host/name's manifest.
func fetchDoc(t *testing.T, name string) *manifest.Document {
	t.Helper()
	ref, err := reference.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := (&registry.Client{}).Repository(ref).FetchManifest(t.Context(), ref.Identifier())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestPushContainerdExport pushes what `ctr images export` wrote: the
// platform it holds when the index's others are absent, saying so; the
// whole index, digest kept, when all are there; its ref.name resolves; a
// platform it lacks is a one-line error naming what is there.
func TestPushContainerdExport(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	partial := "../../testdata/tarball/containerd-export.tar"
	code, stdout, stderr := runSkiff(t, t.Context(), "", "push", partial, srv.Host+"/ctr/app:1")
	if code != exitOK || strings.TrimSpace(stdout) != ctrAMD64 || !strings.Contains(stderr, "linux/arm64, which the archive does not hold; copying linux/amd64") {
		t.Fatalf("push: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if out := mustRun(t, "copy", "oci-archive:"+partial+":v1", srv.Host+"/ctr/app:2"); strings.TrimSpace(out) != ctrAMD64 {
		t.Errorf("oci-archive:FILE:v1 (the ref.name) copied %q", out)
	}
	if out := mustRun(t, "push", "../../testdata/tarball/containerd-export-all.tar", srv.Host+"/ctr/app:all"); strings.TrimSpace(out) != ctrIndex {
		t.Errorf("every platform present: pushed %q, want the index", out)
	}
	code, _, stderr = runSkiff(t, t.Context(), "", "push", "--platform", "linux/arm64", partial, srv.Host+"/ctr/app:arm")
	if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "holds linux/amd64") || !strings.Contains(stderr, "absent: linux/arm64") {
		t.Errorf("an absent platform: exit %d, %q", code, stderr)
	}
}

// TestAirGapArchiveRoundTrip runs the README's air gap: an image with its
// signature and SBOMs into one oci-archive, named by nothing, and back out
// into a registry, named by nothing.
func TestAirGapArchiveRoundTrip(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	dst := registrytest.NewServer(t, nil)
	image, attached := signedImage(t, src, "demo/app")
	archive := filepath.Join(t.TempDir(), "air.tar")
	mustRun(t, "copy", "--quiet", "--referrers", src.Host+"/demo/app:1", "oci-archive:"+archive)
	out := mustRun(t, "copy", "--referrers", "oci-archive:"+archive, dst.Host+"/far/app:1")
	if strings.TrimSpace(out) != string(image.Digest) {
		t.Fatalf("copied %q, want the image %s", out, image.Digest)
	}
	ref, _ := reference.Parse(dst.Host + "/far/app")
	repo := (&registry.Client{}).Repository(ref)
	for _, d := range attached {
		if ok, err := repo.Exists(t.Context(), manifest.Descriptor{Digest: d, MediaType: manifest.MediaTypeOCIManifest}); err != nil || !ok {
			t.Errorf("%s did not cross the air gap: %v", d, err)
		}
	}
}

// TestPushLegacyTarballDigestIsCranes: a tarball without manifests gets
// the same digest from skiff push and crane push.
func TestPushLegacyTarballDigestIsCranes(t *testing.T) {
	crane := testtool.Need(t, "crane")
	srv := registrytest.NewServer(t, nil)
	im, err := testimage.New(testimage.Options{LayerSizes: []int{3000, 10}, Docker: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(srv.Host + "/legacy/src:1")
	if err := testimage.Push(t.Context(), (&registry.Client{}).Repository(ref), im, "1"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ggcr.tar")
	if out, err := exec.Command(crane, "pull", "--format", "tarball", srv.Host+"/legacy/src:1", file).CombinedOutput(); err != nil {
		t.Fatalf("crane pull: %v\n%s", err, out)
	}
	out, err := exec.Command(crane, "push", file, srv.Host+"/legacy/crane:1").CombinedOutput()
	if err != nil {
		t.Fatalf("crane push: %v\n%s", err, out)
	}
	craneDigest := strings.TrimSpace(string(out[bytes.LastIndexByte(out, '@')+1:]))
	skiffDigest := strings.TrimSpace(mustRun(t, "push", file, srv.Host+"/legacy/skiff:1"))
	if skiffDigest != craneDigest {
		t.Fatalf("skiff push gave %s, crane push %s", skiffDigest, craneDigest)
	}
}

// dockerArchive writes a docker-archive of a Docker-typed image with
// skopeo, whose layers are plain tars as docker save's are.
func dockerArchive(t *testing.T, srv *registrytest.Server) string {
	t.Helper()
	skopeo := testtool.Need(t, "skopeo")
	im, err := testimage.New(testimage.Options{LayerSizes: []int{200 << 10, 10}, Compressible: true, Docker: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(srv.Host + "/save/src:1")
	if err := testimage.Push(t.Context(), (&registry.Client{}).Repository(ref), im, "1"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "saved.tar")
	cmd := exec.Command(skopeo, "copy", "--src-tls-verify=false", "docker://"+srv.Host+"/save/src:1", "docker-archive:"+file+":save/src:1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	return file
}

// TestPushPlainLayersCompressed: the plain layers of a docker-archive go up
// gzip-compressed, which crane validate accepts, and as they are with
// --keep-uncompressed; the diffIDs stay.
func TestPushPlainLayersCompressed(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	file := dockerArchive(t, srv)
	code, _, stderr := runSkiff(t, t.Context(), "", "push", file, srv.Host+"/save/zipped:1")
	if code != exitOK || !strings.Contains(stderr, "gzip-compressed 2 plain-tar layers") {
		t.Fatalf("push: exit %d, %q", code, stderr)
	}
	doc := fetchDoc(t, srv.Host+"/save/zipped:1")
	for _, l := range doc.Manifest.Layers {
		if l.MediaType != manifest.MediaTypeDockerLayer {
			t.Errorf("layer %s is %s", l.Digest, l.MediaType)
		}
	}
	if doc.Manifest.Config.Digest != fetchDoc(t, srv.Host+"/save/src:1").Manifest.Config.Digest {
		t.Error("the config changed")
	}
	mustRun(t, "push", "--keep-uncompressed", file, srv.Host+"/save/plain:1")
	if l := fetchDoc(t, srv.Host+"/save/plain:1").Manifest.Layers[0]; l.MediaType != "application/vnd.docker.image.rootfs.diff.tar" {
		t.Errorf("--keep-uncompressed pushed a %s layer", l.MediaType)
	}
	crane := testtool.Need(t, "crane")
	if out, err := exec.Command(crane, "validate", "--remote", srv.Host+"/save/zipped:1").CombinedOutput(); err != nil {
		t.Fatalf("crane validate: %v\n%s", err, out)
	}
}

// TestSkopeoReadsOCIMediaTypes: with --oci-media-types, a Docker-typed
// image copied into a layout is one skopeo finds by its tag.
func TestSkopeoReadsOCIMediaTypes(t *testing.T) {
	skopeo := testtool.Need(t, "skopeo")
	srv := registrytest.NewServer(t, nil)
	im := seedDockerImage(t, srv, "docker/app:1")
	dir := t.TempDir()
	code, stdout, stderr := runSkiff(t, t.Context(), "", "copy", "--oci-media-types", srv.Host+"/docker/app:1", "oci:"+dir+"/lay:v1")
	if code != exitOK || strings.TrimSpace(stdout) == string(im.Manifest.Digest) || !strings.Contains(stderr, "converted") {
		t.Fatalf("copy: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	out, err := exec.Command(skopeo, "inspect", "oci:"+dir+"/lay:v1").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(strings.TrimSpace(stdout))) {
		t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	mustRun(t, "copy", srv.Host+"/docker/app:1", "oci:"+dir+"/asis:v1")
	if out, err := exec.Command(skopeo, "inspect", "oci:"+dir+"/asis:v1").CombinedOutput(); err != nil {
		t.Logf("as skopeo 1.9 does, without --oci-media-types: %s", bytes.TrimSpace(out))
	}
}

// seedDockerImage pushes a Docker-typed image to srv.
func seedDockerImage(t *testing.T, srv *registrytest.Server, name string) *testimage.Image {
	t.Helper()
	im, err := testimage.New(testimage.Options{LayerSizes: []int{1000}, Docker: true, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse(srv.Host + "/" + name)
	if err := testimage.Push(t.Context(), (&registry.Client{}).Repository(ref), im, ref.Tag); err != nil {
		t.Fatal(err)
	}
	return im
}

// TestPullFormatOCIKeepsEveryPlatform: --help promises every platform for
// --format oci, as crane pull --format oci keeps the index.
func TestPullFormatOCIKeepsEveryPlatform(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	_, idx := multiArch(t, srv.Host, "multi/app:1")
	dir := filepath.Join(t.TempDir(), "lay")
	mustRun(t, "pull", "--format", "oci", srv.Host+"/multi/app:1", dir)
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := l.Resolve(t.Context(), "1"); err != nil || d.Digest != idx.Digest {
		t.Fatalf("the layout holds %s, %v; want the index %s", d.Digest, err, idx.Digest)
	}
}

// keepsTags is a registry that, like go-containerregistry's, keeps a tag
// after the manifest it names is deleted by digest, until the tag itself
// is deleted.
type keepsTags struct {
	mu      sync.Mutex
	digest  string
	tagged  bool
	deletes []string
}

func (k *keepsTags) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case r.URL.Path == "/v2/":
	case r.Method == http.MethodDelete:
		k.deletes = append(k.deletes, r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/manifests/1") {
			k.tagged = false
		}
		w.WriteHeader(http.StatusAccepted)
	case strings.HasSuffix(r.URL.Path, "/manifests/1") && k.tagged:
		w.Header().Set("Content-Type", manifest.MediaTypeOCIManifest)
		w.Header().Set("Docker-Content-Digest", k.digest)
		w.Header().Set("Content-Length", "2")
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestDeleteTagKeptByRegistry: skiff deletes the tag too when the
// registry still serves it after the delete by digest, and says so.
func TestDeleteTagKeptByRegistry(t *testing.T) {
	k := &keepsTags{digest: string(manifest.FromString("{}")), tagged: true}
	srv := httptest.NewServer(k)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	code, stdout, stderr := runSkiff(t, t.Context(), "", "delete", host+"/app:1")
	if code != exitOK || strings.TrimSpace(stdout) != k.digest || !strings.Contains(stderr, "kept tag 1") {
		t.Fatalf("delete: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if want := []string{"/v2/app/manifests/" + k.digest, "/v2/app/manifests/1"}; strings.Join(k.deletes, " ") != strings.Join(want, " ") {
		t.Errorf("DELETEs %v, want %v", k.deletes, want)
	}
}

// TestUnauthorizedPushSaysHowToLogIn: a 401 names skiff login and --user.
func TestUnauthorizedPushSaysHowToLogIn(t *testing.T) {
	srv := registrytest.NewServer(t, &registrytest.Options{Auth: registrytest.Auth{Mode: registrytest.AuthBasic, Users: map[string]string{"u": "pw"}}})
	code, _, stderr := runSkiff(t, t.Context(), "", "push", "../../testdata/layout/basic:v1", srv.Host+"/a/b:1")
	if code != exitError || !strings.Contains(stderr, `"skiff login `+srv.Host+`"`) || !strings.Contains(stderr, "--user") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

// TestAirGapLayoutRoundTrip: the same with an OCI layout named without a
// tag.
func TestAirGapLayoutRoundTrip(t *testing.T) {
	src := registrytest.NewServer(t, nil)
	image, _ := signedImage(t, src, "demo/app")
	dir := filepath.Join(t.TempDir(), "lay")
	mustRun(t, "copy", "--quiet", "--referrers", src.Host+"/demo/app:1", "oci:"+dir)
	out := mustRun(t, "copy", "--referrers", "oci:"+dir, src.Host+"/far/app:1")
	if strings.TrimSpace(out) != string(image.Digest) {
		t.Fatalf("copied %q, want the image %s", out, image.Digest)
	}
}
