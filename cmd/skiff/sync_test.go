package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/testimage"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
	"github.com/skiffoci/skiff/registry"
	"github.com/skiffoci/skiff/registry/mirror"
)

// syncBase is the base every test image of sync is built on: its two
// layers are shared by every tag.
func syncBase(t *testing.T) *testimage.Image {
	t.Helper()
	base, err := testimage.New(testimage.Options{LayerSizes: []int{300 << 10, 100 << 10}, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// pushTags pushes to host/name one image per tag, each the base and a
// small layer of its own, and returns them by tag.
func pushTags(t *testing.T, host, name string, base *testimage.Image, seed uint64, tags ...string) map[string]*testimage.Image {
	t.Helper()
	ref, err := reference.ParseName(host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo := (&registry.Client{}).Repository(ref)
	ims := map[string]*testimage.Image{}
	for i, tag := range tags {
		im, err := testimage.New(testimage.Options{LayerSizes: []int{8<<10 + i}, Seed: seed + uint64(i), Base: base})
		if err != nil {
			t.Fatal(err)
		}
		if err := testimage.Push(t.Context(), repo, im, tag); err != nil {
			t.Fatal(err)
		}
		ims[tag] = im
	}
	return ims
}

// syncReport runs sync --json with args and returns its report.
func syncReport(t *testing.T, args ...string) syncJSON {
	t.Helper()
	out := mustRun(t, append([]string{"sync", "--json"}, args...)...)
	var rep syncJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("sync --json printed %q: %v", out, err)
	}
	return rep
}

// digestsAt resolves tags in the repository or layout loc.
func digestsAt(t *testing.T, loc string, tags ...string) map[string]manifest.Digest {
	t.Helper()
	got := map[string]manifest.Digest{}
	var res manifest.Resolver
	if dir, ok := strings.CutPrefix(loc, "oci:"); ok {
		l, err := layout.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		res = l
	} else {
		ref, err := reference.ParseName(loc)
		if err != nil {
			t.Fatal(err)
		}
		res = (&registry.Client{}).Repository(ref)
	}
	for _, tag := range tags {
		if d, err := res.Resolve(t.Context(), tag); err == nil {
			got[tag] = d.Digest
		}
	}
	return got
}

// wantDigests checks that loc's tags name the images.
func wantDigests(t *testing.T, loc string, ims map[string]*testimage.Image) {
	t.Helper()
	var tags []string
	for tag := range ims {
		tags = append(tags, tag)
	}
	got := digestsAt(t, loc, tags...)
	for tag, im := range ims {
		if got[tag] != im.Manifest.Digest {
			t.Fatalf("%s:%s is %q, want %s", loc, tag, got[tag], im.Manifest.Digest)
		}
	}
}

// ownBytes is the size of an image's config and top layer: what a new
// tag on a base the destination has must move.
func ownBytes(im *testimage.Image) int64 {
	m := im.Manifest.Manifest
	return m.Config.Size + m.Layers[len(m.Layers)-1].Size
}

// blobBytesOut counts the blob bytes srv sent.
func blobBytesOut(srv *registrytest.Server) int64 {
	return srv.Log.BytesOut(func(r registrytest.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.Path, "/blobs/")
	})
}

// TestSyncIncremental: the first sync copies every tag, moving each blob
// once; the second moves no blob byte and writes nothing at DST; after a
// new tag at SRC the third moves that tag's config and layer only.
func TestSyncIncremental(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	base := syncBase(t)
	ims := pushTags(t, a.Host, "o/app", base, 1, "1.0", "1.1", "2.0")
	a.Log.Reset()
	rep := syncReport(t, a.Host+"/o/app", b.Host+"/mirror")
	if tot := rep.Total; tot.Copied != 3 || tot.Tags != 3 || tot.Bytes != blobBytesOut(a) {
		t.Fatalf("first sync: %+v; the source sent %d blob bytes", tot, blobBytesOut(a))
	}
	if want := imageBytes(ims["1.0"]) - int64(len(ims["1.0"].Manifest.Raw)) + ownBytes(ims["1.1"]) + ownBytes(ims["2.0"]); blobBytesOut(a) != want {
		t.Fatalf("first sync fetched %d blob bytes, want each blob once: %d", blobBytesOut(a), want)
	}
	if r := rep.Repositories[0]; r.Source != a.Host+"/o/app" || r.Target != b.Host+"/mirror/o/app" {
		t.Fatalf("mapped %s to %s", r.Source, r.Target)
	}
	wantDigests(t, b.Host+"/mirror/o/app", ims)

	a.Log.Reset()
	b.Log.Reset()
	code, stdout, stderr := runSkiff(t, t.Context(), "", "sync", a.Host+"/o/app", b.Host+"/mirror")
	if code != exitOK || stdout != "" || strings.Count(stderr, " unchanged ") != 3 || !strings.Contains(stderr, "0 copied, 3 unchanged") {
		t.Fatalf("second sync: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	writes := b.Log.Count(func(r registrytest.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead })
	heads := b.Log.Count(func(r registrytest.Request) bool {
		return r.Method == http.MethodHead && strings.Contains(r.Path, "/manifests/")
	})
	if n := blobBytesOut(a); n != 0 || writes != 0 || heads != 3 || b.Log.Count(nil) != 3 {
		t.Fatalf("second sync: %d blob bytes, %d writes, %d requests at DST; want one HEAD per tag", n, writes, b.Log.Count(nil))
	}

	added := pushTags(t, a.Host, "o/app", base, 50, "2.1")
	a.Log.Reset()
	rep = syncReport(t, a.Host+"/o/app", b.Host+"/mirror")
	if tot := rep.Total; tot.Copied != 1 || tot.Unchanged != 3 || tot.Bytes != ownBytes(added["2.1"]) || blobBytesOut(a) != tot.Bytes {
		t.Fatalf("third sync: %+v, %d blob bytes sent; the new tag's own blobs are %d", tot, blobBytesOut(a), ownBytes(added["2.1"]))
	}
	wantDigests(t, b.Host+"/mirror/o/app", added)
}

// TestSyncFiltersAndFromFile: --tag globs and ranges, a file of sources
// whose lines bring their own patterns, and a SRC naming one tag.
func TestSyncFiltersAndFromFile(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	base := syncBase(t)
	pushTags(t, a.Host, "o/app", base, 1, "1.2.0", "1.9", "2.0.0", "2.0.0-rc1", "latest", "dev")
	pushTags(t, a.Host, "o/tool", base, 9, "v1", "v2", "edge")
	mustRun(t, "sync", "--quiet", "--tag", ">=1.2 <2", "--tag", "lat*", a.Host+"/o/app", b.Host+"/m1")
	if got := mustRun(t, "ls", b.Host+"/m1/o/app"); got != "1.2.0\n1.9\nlatest\n" {
		t.Fatalf("--tag synced %q", got)
	}
	file := filepath.Join(t.TempDir(), "repos.txt")
	os.WriteFile(file, []byte("# mirrored nightly\n"+a.Host+"/o/app   ^2.0.0-rc1,<3 # releases and candidates\n\n"+a.Host+"/o/tool\n"), 0o644)
	mustRun(t, "sync", "--quiet", "--from-file", file, "--tag", "v*", b.Host+"/m2")
	if got := mustRun(t, "ls", b.Host+"/m2/o/app"); got != "2.0.0\n2.0.0-rc1\n" {
		t.Fatalf("a line's patterns synced %q", got)
	}
	if got := mustRun(t, "ls", b.Host+"/m2/o/tool"); got != "v1\nv2\n" {
		t.Fatalf("--tag for a line without patterns synced %q", got)
	}
	mustRun(t, "sync", "--quiet", a.Host+"/o/tool:edge", b.Host+"/m3")
	if got := mustRun(t, "ls", b.Host+"/m3/o/tool"); got != "edge\n" {
		t.Fatalf("SRC:TAG synced %q", got)
	}
}

// TestSyncPrune: a tag gone from SRC stays at DST without --prune; with
// it, the tag is removed and named on stderr, and tags --tag does not
// select stay.
func TestSyncPrune(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	pushTags(t, a.Host, "o/app", syncBase(t), 1, "1.0", "1.1", "keep")
	mustRun(t, "sync", "--quiet", a.Host+"/o/app", b.Host)
	for _, tag := range []string{"1.0", "keep"} {
		mustRun(t, "delete", a.Host+"/o/app:"+tag)
	}
	mustRun(t, "sync", a.Host+"/o/app", b.Host)
	if got := mustRun(t, "ls", b.Host+"/o/app"); got != "1.0\n1.1\nkeep\n" {
		t.Fatalf("without --prune the tags became %q", got)
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "sync", "--prune", "--tag", "1.*", a.Host+"/o/app", b.Host)
	if code != exitOK || !strings.Contains(stderr, "removed "+b.Host+"/o/app:1.0 (") || !strings.Contains(stderr, "1 removed") {
		t.Fatalf("--prune: exit %d\n%s", code, stderr)
	}
	if got := mustRun(t, "ls", b.Host+"/o/app"); got != "1.1\nkeep\n" {
		t.Fatalf("after --prune the tags are %q", got)
	}
}

// TestSyncPruneEmptySource: when SRC lists no tags, --prune refuses in one
// line naming --allow-empty-source and DST keeps its tags; with the flag
// they go.
func TestSyncPruneEmptySource(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	pushTags(t, a.Host, "o/app", syncBase(t), 1, "1.0", "1.1")
	mustRun(t, "sync", "--quiet", a.Host+"/o/app", b.Host)
	for _, tag := range []string{"1.0", "1.1"} {
		mustRun(t, "delete", a.Host+"/o/app:"+tag)
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "sync", "--quiet", "--prune", a.Host+"/o/app", b.Host)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != exitError || len(lines) != 1 || !strings.Contains(stderr, "lists no tags") || !strings.Contains(stderr, "--allow-empty-source") {
		t.Fatalf("--prune of an empty source: exit %d\n%s", code, stderr)
	}
	if got := mustRun(t, "ls", b.Host+"/o/app"); got != "1.0\n1.1\n" {
		t.Fatalf("a refused prune left the tags %q", got)
	}
	code, _, stderr = runSkiff(t, t.Context(), "", "sync", "--prune", "--allow-empty-source", a.Host+"/o/app", b.Host)
	if code != exitOK || !strings.Contains(stderr, "2 removed") {
		t.Fatalf("--allow-empty-source: exit %d\n%s", code, stderr)
	}
	if got := mustRun(t, "ls", b.Host+"/o/app"); got != "" {
		t.Fatalf("after --allow-empty-source the tags are %q", got)
	}
}

// TestSyncDryRun changes nothing: a registry DST gets no write, a layout
// DST stays byte for byte, and a layout not there yet is not made.
func TestSyncDryRun(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	base := syncBase(t)
	pushTags(t, a.Host, "o/app", base, 1, "1", "2")
	mustRun(t, "sync", "--quiet", "--tag", "1", a.Host+"/o/app", b.Host)
	dir := filepath.Join(t.TempDir(), "mirror")
	mustRun(t, "sync", "--quiet", "--tag", "1", a.Host+"/o/app", "oci:"+dir)
	mustRun(t, "delete", a.Host+"/o/app:1")
	before := snapshotOf(t, dir)
	b.Log.Reset()
	a.Log.Reset()
	for _, dst := range []string{b.Host, "oci:" + dir} {
		rep := syncReport(t, "--dry-run", "--prune", a.Host+"/o/app", dst)
		if tot := rep.Total; !rep.DryRun || tot.Copied != 1 || tot.Pruned != 1 || tot.Bytes == 0 {
			t.Fatalf("dry run to %s: %+v", dst, rep)
		}
	}
	if w := b.Log.Count(func(r registrytest.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }); w != 0 || blobBytesOut(a) != 0 {
		t.Fatalf("a dry run wrote %d times to DST, fetched %d blob bytes", w, blobBytesOut(a))
	}
	if !equalSnapshots(before, snapshotOf(t, dir)) {
		t.Fatal("a dry run changed the layout")
	}
	fresh := filepath.Join(t.TempDir(), "none")
	if rep := syncReport(t, "--dry-run", a.Host+"/o/app", "oci:"+fresh); rep.Total.Copied != 1 {
		t.Fatalf("dry run to nothing: %+v", rep.Total)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("a dry run made %s: %v", fresh, err)
	}
}

// TestSyncReferrers carries a signature, an SBOM and the SBOM's own
// signature with --referrers, and nothing attached without it.
func TestSyncReferrers(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, &registrytest.Options{NoReferrers: true})
	image, attached := signedImage(t, a, "demo/app")
	mustRun(t, "sync", "--quiet", a.Host+"/demo/app", b.Host+"/plain")
	if got := attachedTo(t, storeAt(t, b.Host+"/plain/demo/app:1"), image); len(got) != 0 {
		t.Fatalf("a sync without --referrers carried %v", got)
	}
	rep := syncReport(t, "--referrers", a.Host+"/demo/app", b.Host+"/signed")
	if len(rep.Repositories[0].Images) != 1 {
		t.Fatalf("the cosign tag was synced as an image: %+v", rep.Repositories[0].Images)
	}
	got := attachedTo(t, storeAt(t, b.Host+"/signed/demo/app:1"), image)
	if len(got) != len(attached) {
		t.Fatalf("attached at DST: %v, want %v", got, attached)
	}
}

// TestSyncUsage: mistakes are usage errors naming what is wrong.
func TestSyncUsage(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"sync", "only"}, "want SRC and DST"},
		{[]string{"sync", "--from-file", "f", "a", "b"}, "want SRC and DST, or --from-file FILE and DST"},
		{[]string{"sync", "127.0.0.1:1/a", "docker-archive:x.tar"}, "not to an archive"},
		{[]string{"sync", "127.0.0.1:1/a", "mirror"}, "names no registry host"},
		{[]string{"sync", "127.0.0.1:1/a", "127.0.0.1:2/m:tag"}, "not a registry namespace"},
		{[]string{"sync", "127.0.0.1:1/a@sha256:" + strings.Repeat("a", 64), "127.0.0.1:2"}, "sync mirrors tags"},
		{[]string{"sync", "--tag", ">=x", "127.0.0.1:1/a", "127.0.0.1:2"}, "invalid tag pattern"},
		{[]string{"sync", "--tag", "[", "127.0.0.1:1/a", "127.0.0.1:2"}, "invalid tag pattern"},
		{[]string{"sync", "--tag", "1", "127.0.0.1:1/a:1", "127.0.0.1:2"}, "names a tag"},
		{[]string{"sync", "--platform", "linux/amd64", "--all-platforms", "127.0.0.1:1/a", "127.0.0.1:2"}, "disagree"},
		{[]string{"sync", "oci:", "127.0.0.1:2"}, "missing directory"},
	}
	for _, tt := range tests {
		code, _, stderr := runSkiff(t, t.Context(), "", tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.err) {
			t.Errorf("skiff %q: exit %d, %q; want a usage error mentioning %q", tt.args, code, stderr, tt.err)
		}
	}
	file := filepath.Join(t.TempDir(), "two.txt")
	os.WriteFile(file, []byte("127.0.0.1:1/o/app\n127.0.0.1:2/o/app\n"), 0o644)
	if code, _, stderr := runSkiff(t, t.Context(), "", "sync", "--from-file", file, "127.0.0.1:3"); code != exitUsage || !strings.Contains(stderr, "would both be mirrored to 127.0.0.1:3/o/app") {
		t.Errorf("two sources to one place: exit %d, %q", code, stderr)
	}
	single := filepath.Join(t.TempDir(), "single")
	if _, err := layout.Create(single); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runSkiff(t, t.Context(), "", "sync", "oci:"+single, "127.0.0.1:3"); code != exitError || !strings.Contains(stderr, "is a single layout") {
		t.Errorf("a single layout as the source: exit %d, %q", code, stderr)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.MkdirAll(empty, 0o755)
	if code, _, stderr := runSkiff(t, t.Context(), "", "sync", "oci:"+empty, "127.0.0.1:3"); code != exitError || !strings.Contains(stderr, "no OCI layouts under") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("an empty source directory: exit %d, %q", code, stderr)
	}
}

// TestSyncReportTotals: the JSON totals are the sums of the images.
func TestSyncReportTotals(t *testing.T) {
	a, b := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	pushTags(t, a.Host, "o/app", syncBase(t), 1, "1", "2")
	pushTags(t, a.Host, "o/other", syncBase(t), 5, "x")
	file := filepath.Join(t.TempDir(), "repos.txt")
	os.WriteFile(file, []byte(a.Host+"/o/app\n"+a.Host+"/o/other\n"), 0o644)
	rep := syncReport(t, "--from-file", file, b.Host)
	var sum mirror.Totals
	for _, r := range rep.Repositories {
		sum = sum.Add((&mirror.Report{Images: r.Images}).Totals())
	}
	if sum != rep.Total || rep.Total.Tags != 3 || len(rep.Repositories) != 2 {
		t.Fatalf("total %+v, sum of the images %+v", rep.Total, sum)
	}
}
