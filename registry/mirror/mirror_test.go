package mirror_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/mirror"
)

// TestSyncIncremental: the first sync moves every blob once (the base two
// images share included), and the target's tags name the source's
// digests; the second moves no blob byte and writes nothing; after a new
// tag at the source the third moves only that image's config and layer.
func TestSyncIncremental(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "mirror/o/app")
	ims := family(t, src, "1.0", "1.1", "2.0")
	a.Log.Reset()
	rep, err := mirror.Sync(t.Context(), dst, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); got != "1.0:copied 1.1:copied 2.0:copied" {
		t.Fatalf("first sync: %s", got)
	}
	want := blobBytes(ims["1.0"], ims["1.1"], ims["2.0"])
	if got, tot := blobGETs(a), rep.Totals(); got != want || tot.Bytes != want || tot.Images != 3 || tot.Tags != 3 {
		t.Fatalf("first sync fetched %d blob bytes and reports %+v; the images' distinct blobs are %d", got, tot, want)
	}
	for tag, im := range ims {
		if d, err := dst.Resolve(t.Context(), tag); err != nil || d.Digest != im.Manifest.Digest {
			t.Fatalf("target %s: %v %v, want %s", tag, d.Digest, err, im.Manifest.Digest)
		}
	}

	a.Log.Reset()
	b.Log.Reset()
	rep, err = mirror.Sync(t.Context(), dst, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); got != "1.0:unchanged 1.1:unchanged 2.0:unchanged" {
		t.Fatalf("second sync: %s", got)
	}
	if n, w, tot := blobGETs(a), writes(b), rep.Totals(); n != 0 || w != 0 || tot.Bytes != 0 || tot.Blobs != 0 {
		t.Fatalf("second sync: %d blob bytes fetched, %d writes, %+v", n, w, tot)
	}
	if heads := b.Log.Count(nil); heads != 3 {
		t.Fatalf("second sync sent %d requests to the target, want one HEAD per tag", heads)
	}

	base, _ := testimage.New(testimage.Options{LayerSizes: []int{60 << 10, 20 << 10}, Seed: 1})
	added := pushOnBase(t, src, base, "2.1", 7)
	a.Log.Reset()
	rep, err = mirror.Sync(t.Context(), dst, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); got != "1.0:unchanged 1.1:unchanged 2.0:unchanged 2.1:copied" {
		t.Fatalf("third sync: %s", got)
	}
	own := added.Manifest.Manifest.Config.Size + added.Manifest.Manifest.Layers[2].Size
	if got, im := blobGETs(a), rep.Images[3]; got != own || im.Bytes != own || im.Blobs != 2 || im.Skipped != 2 {
		t.Fatalf("third sync fetched %d blob bytes, reports %+v; the new image's own blobs are %d", got, im, own)
	}
}

// TestSyncToLayout mirrors into an OCI layout: the second run reads
// index.json, asks the target nothing over the network and changes no
// file.
func TestSyncToLayout(t *testing.T) {
	a := registrytest.NewServer(t, nil)
	src := repo(t, a, "o/app")
	family(t, src, "v1", "v2")
	dir := filepath.Join(t.TempDir(), "o", "app")
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mirror.Sync(t.Context(), l, src, nil); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(t, l); got != "v1,v2" {
		t.Fatalf("layout tags %q", got)
	}
	before := snapshot(t, dir)
	a.Log.Reset()
	rep, err := mirror.Sync(t.Context(), l, src, nil)
	if err != nil || actions(rep) != "v1:unchanged v2:unchanged" {
		t.Fatalf("second sync: %s, %v", actions(rep), err)
	}
	if n := blobGETs(a); n != 0 || !equal(before, snapshot(t, dir)) {
		t.Fatalf("second sync fetched %d blob bytes or changed the layout", n)
	}
}

// TestSyncFilters mirrors only the tags the patterns select, and never
// the tags cosign names after digests as images of their own.
func TestSyncFilters(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	ims := family(t, src, "1.2.0", "1.9.3", "2.0.0", "2.0.0-rc1", "latest", "dev")
	sig := cosignTag(t, ims["latest"].Manifest.Digest, ".sig")
	if err := src.Tag(t.Context(), ims["dev"].Manifest.Descriptor(), sig); err != nil {
		t.Fatal(err)
	}
	rep, err := mirror.Sync(t.Context(), dst, src, &mirror.Options{Tags: patterns(t, ">=1.2 <2", "lat*")})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); got != "1.2.0:copied 1.9.3:copied latest:copied" {
		t.Fatalf("synced %s", got)
	}
	if got := tagsOf(t, dst); got != "1.2.0,1.9.3,latest" {
		t.Fatalf("target tags %q", got)
	}
	rep, err = mirror.Sync(t.Context(), dst, src, nil)
	if err != nil || strings.Contains(actions(rep), "sha256-") {
		t.Fatalf("a sync of every tag: %s, %v", actions(rep), err)
	}
}

// TestSyncPrune: without Prune a tag gone from the source stays; with it,
// the tag goes, and so does nothing the patterns do not select.
func TestSyncPrune(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	ims := family(t, src, "1.0", "1.1", "keep")
	if _, err := mirror.Sync(t.Context(), dst, src, nil); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.0", "keep"} {
		if err := src.Untag(t.Context(), tag); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := mirror.Sync(t.Context(), dst, src, nil); err != nil || tagsOf(t, dst) != "1.0,1.1,keep" {
		t.Fatalf("without Prune: %s, %v; target tags %q", actions(rep), err, tagsOf(t, dst))
	}
	b.Log.Reset()
	rep, err := mirror.Sync(t.Context(), dst, src, &mirror.Options{Prune: true, DryRun: true, Tags: patterns(t, "1.*")})
	if err != nil || actions(rep) != "1.0:would-prune 1.1:unchanged" || writes(b) != 0 {
		t.Fatalf("dry run: %s, %v, %d writes", actions(rep), err, writes(b))
	}
	rep, err = mirror.Sync(t.Context(), dst, src, &mirror.Options{Prune: true, Tags: patterns(t, "1.*")})
	if err != nil || actions(rep) != "1.0:pruned 1.1:unchanged" {
		t.Fatalf("prune: %s, %v", actions(rep), err)
	}
	if rep.Images[0].Digest != ims["1.0"].Manifest.Digest || tagsOf(t, dst) != "1.1,keep" {
		t.Fatalf("pruned %+v; target tags %q", rep.Images[0], tagsOf(t, dst))
	}
}

// TestSyncPruneEmptySource: a source that lists no tags makes Prune
// refuse, with ErrEmptySource and the target unchanged, unless
// AllowEmptySource says an empty source is meant.
func TestSyncPruneEmptySource(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	family(t, src, "1.0", "1.1")
	if _, err := mirror.Sync(t.Context(), dst, src, nil); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.0", "1.1"} {
		if err := src.Untag(t.Context(), tag); err != nil {
			t.Fatal(err)
		}
	}
	if got := tagsOf(t, src); got != "" {
		t.Fatalf("the source still lists %q", got)
	}
	b.Log.Reset()
	for _, dry := range []bool{true, false} {
		_, err := mirror.Sync(t.Context(), dst, src, &mirror.Options{Prune: true, DryRun: dry})
		if !errors.Is(err, mirror.ErrEmptySource) || tagsOf(t, dst) != "1.0,1.1" || writes(b) != 0 {
			t.Fatalf("dry run %v: %v; target tags %q after %d writes", dry, err, tagsOf(t, dst), writes(b))
		}
	}
	rep, err := mirror.Sync(t.Context(), dst, src, &mirror.Options{Prune: true, AllowEmptySource: true})
	if err != nil || actions(rep) != "1.0:pruned 1.1:pruned" || tagsOf(t, dst) != "" {
		t.Fatalf("allowed: %s, %v; target tags %q", actions(rep), err, tagsOf(t, dst))
	}
}

// TestSyncPruneByDigest: where the target deletes only by digest
// (distribution 2.8), a vanished tag's manifest is deleted, unless a tag
// that stays names it too.
func TestSyncPruneByDigest(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	ims := family(t, src, "old", "shared", "new")
	if err := src.Tag(t.Context(), ims["shared"].Manifest.Descriptor(), "alias"); err != nil {
		t.Fatal(err)
	}
	if _, err := mirror.Sync(t.Context(), dst, src, nil); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"old", "shared"} {
		src.Untag(t.Context(), tag)
	}
	b.Faults.Add(registrytest.Fault{Match: func(r *http.Request) bool {
		return r.Method == http.MethodDelete && !strings.Contains(r.URL.Path, "sha256:")
	}, Status: http.StatusBadRequest, Code: "DIGEST_INVALID"})
	rep, err := mirror.Sync(t.Context(), dst, src, &mirror.Options{Prune: true})
	if err == nil || !strings.Contains(err.Error(), "tag alias names it too") {
		t.Fatalf("prune of a tag whose manifest another tag names: %v", err)
	}
	if got := actions(rep); got != "alias:unchanged new:unchanged old:pruned shared:failed" {
		t.Fatalf("report %s", got)
	}
	if got := tagsOf(t, dst); got != "alias,new,shared" {
		t.Fatalf("target tags %q", got)
	}
	if _, err := dst.Resolve(t.Context(), string(ims["old"].Manifest.Digest)); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("old's manifest: %v", err)
	}
}

// TestSyncDryRun changes nothing at the target, registry or layout, and
// counts what would move.
func TestSyncDryRun(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	ims := family(t, src, "1", "2")
	if err := testimage.Push(t.Context(), dst, ims["1"], "1"); err != nil {
		t.Fatal(err)
	}
	b.Log.Reset()
	a.Log.Reset()
	rep, err := mirror.Sync(t.Context(), dst, src, &mirror.Options{DryRun: true})
	if err != nil || actions(rep) != "1:unchanged 2:would-copy" {
		t.Fatalf("dry run: %s, %v", actions(rep), err)
	}
	own := ims["2"].Manifest.Manifest.Config.Size + ims["2"].Manifest.Manifest.Layers[2].Size
	if im := rep.Images[1]; im.Bytes != own || im.Blobs != 2 || im.Skipped != 2 {
		t.Fatalf("would move %+v, want the 2 blobs of %d bytes the target lacks", im, own)
	}
	if w, n := writes(b), blobGETs(a); w != 0 || n != 0 {
		t.Fatalf("dry run: %d writes at the target, %d blob bytes fetched", w, n)
	}
	dir := t.TempDir()
	l, _ := layout.Create(dir)
	before := snapshot(t, dir)
	if _, err := mirror.Sync(t.Context(), l, src, &mirror.Options{DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if !equal(before, snapshot(t, dir)) {
		t.Fatal("a dry run changed the layout")
	}
}

// TestSyncWithinOneRegistry mounts every blob: no layer byte moves.
func TestSyncWithinOneRegistry(t *testing.T) {
	a := registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, a, "mirror/o/app")
	family(t, src, "1", "2")
	a.Log.Reset()
	rep, err := mirror.Sync(t.Context(), dst, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tot := rep.Totals(); tot.Bytes != 0 || tot.Mounted == 0 || blobGETs(a) != 0 {
		t.Fatalf("%+v, %d blob bytes fetched", tot, blobGETs(a))
	}
}

// TestSyncFailureLeavesOthers: a tag whose manifest cannot be fetched
// fails alone; the other tags are mirrored and the error names it.
func TestSyncFailureLeavesOthers(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	family(t, src, "bad", "good")
	a.Faults.Add(registrytest.Fault{Match: registrytest.Route("", "/manifests/bad$"), Status: http.StatusForbidden, Code: "DENIED"})
	rep, err := mirror.Sync(t.Context(), dst, src, nil)
	if err == nil || !strings.Contains(err.Error(), "bad: ") || actions(rep) != "bad:failed good:copied" {
		t.Fatalf("%s, %v", actions(rep), err)
	}
	if rep.Images[0].Error == "" || rep.Totals().Failed != 1 {
		t.Fatalf("the report does not say why: %+v", rep.Images[0])
	}
}

// TestSyncCanceled stops at once and says so.
func TestSyncCanceled(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	family(t, src, "1")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := mirror.Sync(ctx, dst, src, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled sync: %v", err)
	}
}

// snapshot reads every file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestSyncReferrers carries a cosign signature and an SBOM found through
// the referrers API with their image; a signature added later to an
// image that did not change is carried by the next sync, and the one
// after that finds nothing to do.
func TestSyncReferrers(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, &registrytest.Options{NoReferrers: true})
	src, dst := repo(t, a, "o/app"), repo(t, b, "o/app")
	im := family(t, src, "1")["1"]
	subject := im.Manifest.Descriptor()
	sig := attach(t, src, "application/vnd.dev.cosign.simplesigning.v1+json", nil, cosignTag(t, subject.Digest, ".sig"))
	sbom := attach(t, src, "application/spdx+json", &subject, "")
	opts := &mirror.Options{Referrers: true}
	if rep, err := mirror.Sync(t.Context(), dst, src, opts); err != nil || actions(rep) != "1:copied" {
		t.Fatalf("%s, %v", actions(rep), err)
	}
	if d, err := dst.Resolve(t.Context(), cosignTag(t, subject.Digest, ".sig")); err != nil || d.Digest != sig {
		t.Fatalf("the target's .sig tag: %v, %v", d.Digest, err)
	}
	if refs, err := dst.Referrers(t.Context(), subject, ""); err != nil || len(refs) != 1 || refs[0].Digest != sbom {
		t.Fatalf("the target's referrers: %v, %v", refs, err)
	}
	if rep, err := mirror.Sync(t.Context(), dst, src, nil); err != nil || actions(rep) != "1:unchanged" {
		t.Fatalf("without referrers: %s, %v", actions(rep), err)
	}
	late := attach(t, src, "application/vnd.example.late", &subject, "")
	dry := &mirror.Options{Referrers: true, DryRun: true}
	if rep, err := mirror.Sync(t.Context(), dst, src, dry); err != nil || actions(rep) != "1:would-copy" || rep.Images[0].Blobs != 1 {
		t.Fatalf("dry run with a new referrer: %s %+v, %v", actions(rep), rep.Images, err)
	}
	if rep, err := mirror.Sync(t.Context(), dst, src, opts); err != nil || actions(rep) != "1:copied" {
		t.Fatalf("after a new referrer: %s, %v", actions(rep), err)
	}
	if refs, _ := dst.Referrers(t.Context(), subject, "application/vnd.example.late"); len(refs) != 1 || refs[0].Digest != late {
		t.Fatalf("the late referrer did not arrive: %v", refs)
	}
	for _, o := range []*mirror.Options{opts, dry} {
		if rep, err := mirror.Sync(t.Context(), dst, src, o); err != nil || actions(rep) != "1:unchanged" {
			t.Fatalf("nothing new (dry run %v): %s, %v", o.DryRun, actions(rep), err)
		}
	}
}

// attach pushes a one-layer artifact to r, with a subject or under a tag.
func attach(t *testing.T, r manifest.Store, artifactType string, subject *manifest.Descriptor, tag string) manifest.Digest {
	t.Helper()
	payload := []byte(artifactType + " payload")
	layer := manifest.DescriptorFor(artifactType, payload)
	empty := manifest.DescriptorFor(manifest.MediaTypeOCIEmpty, []byte("{}"))
	for i, d := range []manifest.Descriptor{layer, empty} {
		if err := r.Push(t.Context(), d, bytes.NewReader([][]byte{payload, []byte("{}")}[i])); err != nil {
			t.Fatal(err)
		}
	}
	m := manifest.Manifest{SchemaVersion: 2, MediaType: manifest.MediaTypeOCIManifest, ArtifactType: artifactType,
		Config: empty, Layers: []manifest.Descriptor{layer}, Subject: subject}
	doc, err := manifest.Marshal(manifest.MediaTypeOCIManifest, &m)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimage.PushDocument(t.Context(), r, doc, tag); err != nil {
		t.Fatal(err)
	}
	return doc.Digest
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
