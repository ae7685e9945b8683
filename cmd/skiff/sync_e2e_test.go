package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/distribution"
	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// blobMeter is a proxy in front of a registry that counts the blob bytes
// it passes back.
type blobMeter struct {
	host     string
	bytes    atomic.Int64
	handlers sync.WaitGroup
}

// sent returns the blob bytes passed back, once every handler returned: a
// handler counts its last bytes after the client may have them.
func (m *blobMeter) sent() int64 {
	m.handlers.Wait()
	return m.bytes.Load()
}

func meterBlobs(t *testing.T, host string) *blobMeter {
	m := &blobMeter{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.handlers.Add(1)
		defer m.handlers.Done()
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			w = &meteredWriter{ResponseWriter: w, add: func(n int) { m.bytes.Add(int64(n)) }}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	m.host = u.Host
	return m
}

// TestSyncAgainstDistribution runs the incremental sync between two real
// registries, with the bytes counted at the source; then --prune, which
// distribution 2.8 can do only by deleting a manifest, and refuses where
// a kept tag names the same manifest.
func TestSyncAgainstDistribution(t *testing.T) {
	a, b := distribution.Start(t, nil), distribution.Start(t, nil)
	src := meterBlobs(t, a.Host)
	base := syncBase(t)
	ims := pushTags(t, a.Host, "o/app", base, 1, "1.0", "1.1", "2.0")
	rep := syncReport(t, src.host+"/o/app", b.Host+"/mirror")
	want := imageBytes(ims["1.0"]) - int64(len(ims["1.0"].Manifest.Raw)) + ownBytes(ims["1.1"]) + ownBytes(ims["2.0"])
	if got := src.sent(); got != want || rep.Total.Bytes != want || rep.Total.Copied != 3 {
		t.Fatalf("first sync: %d blob bytes through the source, report %+v; each blob once is %d", got, rep.Total, want)
	}
	wantDigests(t, b.Host+"/mirror/o/app", ims)

	src.bytes.Store(0)
	rep = syncReport(t, src.host+"/o/app", b.Host+"/mirror")
	if got := src.sent(); got != 0 || rep.Total.Unchanged != 3 || rep.Total.Bytes != 0 {
		t.Fatalf("second sync: %d blob bytes, %+v", got, rep.Total)
	}

	added := pushTags(t, a.Host, "o/app", base, 50, "2.1")
	src.bytes.Store(0)
	rep = syncReport(t, src.host+"/o/app", b.Host+"/mirror")
	if got := src.sent(); got != ownBytes(added["2.1"]) || rep.Total.Copied != 1 || rep.Total.Unchanged != 3 {
		t.Fatalf("third sync: %d blob bytes, %+v; the new tag's own blobs are %d", got, rep.Total, ownBytes(added["2.1"]))
	}
	wantDigests(t, b.Host+"/mirror/o/app", added)

	mustRun(t, "delete", a.Host+"/o/app:1.0")
	mustRun(t, "sync", "--quiet", a.Host+"/o/app", b.Host+"/mirror")
	if got := lsSorted(t, b.Host+"/mirror/o/app"); got != "1.0\n1.1\n2.0\n2.1\n" {
		t.Fatalf("without --prune: %q", got)
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "sync", "--prune", a.Host+"/o/app", b.Host+"/mirror")
	if code != exitOK || !strings.Contains(stderr, "removed "+b.Host+"/mirror/o/app:1.0") {
		t.Fatalf("--prune: exit %d\n%s", code, stderr)
	}
	if got := lsSorted(t, b.Host+"/mirror/o/app"); got != "1.1\n2.0\n2.1\n" {
		t.Fatalf("after --prune: %q", got)
	}

	mustRun(t, "tag", b.Host+"/mirror/o/app:2.0", "alias")
	mustRun(t, "delete", a.Host+"/o/app:2.0")
	code, _, stderr = runSkiff(t, t.Context(), "", "sync", "--prune", "--tag", "2.*", a.Host+"/o/app", b.Host+"/mirror")
	if code != exitError || !strings.Contains(stderr, "tag alias names it too") {
		t.Fatalf("--prune of a tag sharing its manifest: exit %d\n%s", code, stderr)
	}
	if got := lsSorted(t, b.Host+"/mirror/o/app"); got != "1.1\n2.0\n2.1\nalias\n" {
		t.Fatalf("a refused prune changed the tags: %q", got)
	}
}

// TestSyncAirGap: a sync into oci:DIR is served by "skiff registry serve
// --root DIR" under the source's names; skopeo inspects and copies from
// it, skiff syncs from it to another registry, and DIR itself is a sync
// source too.
func TestSyncAirGap(t *testing.T) {
	skopeo := distribution.RequireTool(t, "skopeo")
	a, c := registrytest.NewServer(t, nil), registrytest.NewServer(t, nil)
	ims := pushTags(t, a.Host, "o/app", syncBase(t), 1, "1.0", "1.1")
	_, idx := multiArch(t, a.Host, "o/multi:1")
	dir := filepath.Join(t.TempDir(), "usb")
	mustRun(t, "sync", "--quiet", "--from-file", writeFile(t, "sources", []byte(a.Host+"/o/app\n"+a.Host+"/o/multi\n")), "oci:"+dir)
	wantDigests(t, "oci:"+filepath.Join(dir, "o", "app"), ims)

	host := startServe(t, "--root", dir)
	out := runTool(t, skopeo, "inspect", "--tls-verify=false", "--raw", "docker://"+host+"/o/app:1.1")
	if manifest.FromBytes([]byte(out)) != ims["1.1"].Manifest.Digest {
		t.Fatalf("skopeo inspect of the served mirror: %s", out)
	}
	pulled := filepath.Join(t.TempDir(), "pulled")
	runTool(t, skopeo, "copy", "--src-tls-verify=false", "--multi-arch", "all", "docker://"+host+"/o/multi:1", "oci:"+pulled+":1")
	l, err := layout.Open(pulled)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := l.Resolve(t.Context(), "1"); err != nil || d.Digest != idx.Digest {
		t.Fatalf("skopeo copied %v, %v; want the index %s", d.Digest, err, idx.Digest)
	}

	rep := syncReport(t, host+"/o/app", c.Host)
	wantDigests(t, c.Host+"/o/app", ims)
	if rep.Total.Copied != 2 {
		t.Fatalf("sync from the served mirror: %+v", rep.Total)
	}
	rep = syncReport(t, "oci:"+dir, c.Host+"/fromdir")
	if rep.Total.Copied != 3 || len(rep.Repositories) != 2 {
		t.Fatalf("sync from oci:DIR: %+v", rep)
	}
	wantDigests(t, c.Host+"/fromdir/o/app", ims)
	if got := digestsAt(t, c.Host+"/fromdir/o/multi", "1"); got["1"] != idx.Digest {
		t.Fatalf("the index synced from oci:DIR: %v", got)
	}
}

// TestSyncResumes interrupts syncs in the middle of a layer: the error
// says how to continue, and the next run fetches only what is missing.
// Into a layout, the half of the layer that arrived is kept and not
// fetched again; into a registry, the image synced before is not
// fetched again, and neither are the blobs the new one shares with it.
func TestSyncResumes(t *testing.T) {
	srv, meter := meteredServer(t)
	base := syncBase(t)
	ims := pushTags(t, srv.Host, "o/app", base, 1, "1", "2")
	total := imageBytes(ims["1"]) + ownBytes(ims["2"])
	dir := filepath.Join(t.TempDir(), "mirror")
	layer := base.Manifest.Manifest.Layers[0]
	again, ranged := interruptedSync(t, srv, meter, layer, srv.Host+"/o/app", "oci:"+dir)
	if max := total - layer.Size/2 + total/20; again > max || ranged == 0 {
		t.Fatalf("the sync after the interruption fetched %d bytes (%d from an offset), more than the %d missing", again, ranged, max)
	}
	wantDigests(t, "oci:"+filepath.Join(dir, "o", "app"), ims)
	assertNoPartials(t, dir, "sync to a layout")

	dst := registrytest.NewServer(t, nil)
	mustRun(t, "sync", "--quiet", "--tag", "1", srv.Host+"/o/app", dst.Host)
	own := ims["2"].Manifest.Manifest.Layers[2]
	again, _ = interruptedSync(t, srv, meter, own, srv.Host+"/o/app", dst.Host)
	if max := ownBytes(ims["2"]) + int64(len(ims["2"].Manifest.Raw))*4; again > max {
		t.Fatalf("the sync after the interruption fetched %d bytes; the new image's own blobs are %d", again, ownBytes(ims["2"]))
	}
	wantDigests(t, dst.Host+"/o/app", ims)
}

// interruptedSync runs a sync that is stopped halfway through layer, then
// the same sync again, and returns the bytes the second run fetched and
// how many of its requests asked for a range.
func interruptedSync(t *testing.T, srv *registrytest.Server, meter *byteMeter, layer manifest.Descriptor, src, dst string) (int64, int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	srv.Faults.Reset()
	cancelMidBlob(srv, layer.Digest, layer.Size/2, cancel)
	meter.next()
	code, _, stderr := runSkiff(t, ctx, "", "sync", "--quiet", src, dst)
	cancel()
	if code != exitError || !strings.Contains(stderr, "run the same command again") {
		t.Fatalf("interrupted sync to %s: exit %d %s", dst, code, stderr)
	}
	srv.Faults.Reset()
	gen := meter.next()
	if rep := syncReport(t, src, dst); rep.Total.Failed != 0 || rep.Total.Copied == 0 {
		t.Fatalf("the sync after the interruption: %+v", rep.Total)
	}
	return meter.sent(gen), meter.sent(-gen)
}

// TestSyncIsPulledBackBySkopeoSync: skopeo sync reads the mirror skiff
// wrote to a registry, as it reads any registry.
func TestSyncIsPulledBackBySkopeoSync(t *testing.T) {
	skopeo := distribution.RequireTool(t, "skopeo")
	a := distribution.Start(t, nil)
	ims := pushTags(t, a.Host, "o/app", syncBase(t), 1, "1", "2")
	mustRun(t, "sync", "--quiet", a.Host+"/o/app", a.Host+"/mirror")
	out := t.TempDir()
	cmd := exec.Command(skopeo, "sync", "--src", "docker", "--dest", "dir", "--src-tls-verify=false", a.Host+"/mirror/o/app", out)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatalf("skopeo sync: %v", err)
	}
	for tag, im := range ims {
		got := runTool(t, skopeo, "inspect", "--raw", "dir:"+filepath.Join(out, "app:"+tag))
		if manifest.FromBytes([]byte(got)) != im.Manifest.Digest {
			t.Fatalf("skopeo read %s as %s", tag, got)
		}
	}
}

// lsSorted lists a repository's tags in order; distribution lists them
// as it finds them.
func lsSorted(t *testing.T, repo string) string {
	t.Helper()
	tags := strings.Fields(mustRun(t, "ls", repo))
	slices.Sort(tags)
	return strings.Join(tags, "\n") + "\n"
}
