package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// cancelMidBlob programs srv so that the blob d is cut at offset at, and
// the context is cancelled when the client comes back for the rest: the
// process is killed mid-blob, at a point the seed chooses.
func cancelMidBlob(srv *registrytest.Server, d manifest.Digest, at int64, cancel context.CancelFunc) {
	blobGet := func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+string(d))
	}
	srv.Faults.Add(registrytest.Fault{Match: func(r *http.Request) bool {
		return blobGet(r) && r.Header.Get("Range") == ""
	}, CutAfter: at})
	// The resume within the run: killed here, and answered with no bytes,
	// so the run cannot finish the blob before the signal lands.
	srv.Faults.Add(registrytest.Fault{Match: func(r *http.Request) bool {
		if !blobGet(r) || r.Header.Get("Range") == "" {
			return false
		}
		cancel()
		return true
	}, CutAfter: -1})
}

// TestInterruptedAtRandomPoints kills pulls and copies into tarballs and
// layouts mid-blob at seeded points: nothing appears under a final name,
// no temporary file stays behind, and a layout that held an image before
// still opens with exactly that image, whole.
func TestInterruptedAtRandomPoints(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	sizes := []int{900 << 10, 500 << 10, 300 << 10}
	im := seedImage(t, srv, "demo/app:1", sizes...)
	seedImage(t, srv, "demo/old:1", 64<<10)
	for seed := range 12 {
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		layer := im.Manifest.Manifest.Layers[rng.IntN(len(sizes))]
		at := 1 + rng.Int64N(layer.Size-1)
		dir := t.TempDir()
		lay := filepath.Join(dir, "lay")
		mustRun(t, "copy", "--quiet", srv.Host+"/demo/old:1", "oci:"+lay+":old")
		before, _ := os.ReadFile(filepath.Join(lay, "index.json"))
		var args []string
		switch seed % 3 {
		case 0:
			args = []string{"pull", "--quiet", srv.Host + "/demo/app:1", filepath.Join(dir, "app.tar")}
		case 1:
			args = []string{"copy", "--quiet", srv.Host + "/demo/app:1", "oci:" + lay + ":new"}
		case 2:
			args = []string{"copy", "--quiet", srv.Host + "/demo/app:1", "docker-archive:" + filepath.Join(dir, "app.tar")}
		}
		ctx, cancel := context.WithCancel(t.Context())
		srv.Faults.Reset()
		cancelMidBlob(srv, layer.Digest, at, cancel)
		code, _, stderr := runSkiff(t, ctx, "", args...)
		cancel()
		name := fmt.Sprintf("seed %d (%s, %s cut at %d of %d)", seed, args[0], layer.Digest, at, layer.Size)
		if code != exitError {
			t.Fatalf("%s: exit %d after the kill: %s", name, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "app.tar")); !os.IsNotExist(err) {
			t.Fatalf("%s: app.tar exists after the kill (%v)", name, err)
		}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), ".tmp") {
				t.Errorf("%s: temporary file left behind: %s", name, p)
			}
			return nil
		})
		after, _ := os.ReadFile(filepath.Join(lay, "index.json"))
		if string(after) != string(before) {
			t.Fatalf("%s: index.json changed:\n%s\n%s", name, before, after)
		}
		l, err := layout.Open(lay)
		if err != nil {
			t.Fatalf("%s: the layout no longer opens: %v", name, err)
		}
		if err := verifyLayoutImage(t, l, "old"); err != nil {
			t.Fatalf("%s: the image already there: %v", name, err)
		}
	}
}

// verifyLayoutImage reads the image tagged tag in l back, every blob
// verified against its digest.
func verifyLayoutImage(t *testing.T, l *layout.Layout, tag string) error {
	d, err := l.Resolve(t.Context(), tag)
	if err != nil {
		return err
	}
	doc, err := manifest.FetchDocument(t.Context(), l, d)
	if err != nil {
		return err
	}
	if doc.Manifest == nil {
		return fmt.Errorf("%s is not an image manifest", d.Digest)
	}
	for _, b := range append([]manifest.Descriptor{doc.Manifest.Config}, doc.Manifest.Layers...) {
		if _, err := manifest.FetchAll(t.Context(), l, b, b.Size); err != nil {
			return err
		}
	}
	return nil
}

// TestPushInterruptedTagsNothing: a push killed as its first blob uploads
// leaves the tarball as it was and tags nothing in the registry.
func TestPushInterruptedTagsNothing(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 700<<10, 200<<10)
	tarPath := filepath.Join(t.TempDir(), "app.tar")
	mustRun(t, "pull", "--quiet", srv.Host+"/demo/app:1", tarPath)
	before, _ := os.ReadFile(tarPath)
	dst := registrytest.NewServer(t, nil) // holds none of the blobs
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dst.Faults.Add(registrytest.Fault{Match: func(r *http.Request) bool {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			cancel()
		}
		return false
	}})
	if code, _, stderr := runSkiff(t, ctx, "", "push", "--quiet", tarPath, dst.Host+"/demo/pushed:1"); code != exitError {
		t.Fatalf("exit %d after the kill: %s", code, stderr)
	}
	dst.Faults.Reset()
	if code, _, stderr := runSkiff(t, t.Context(), "", "digest", dst.Host+"/demo/pushed:1"); code != exitError || !strings.Contains(stderr, "404") {
		t.Fatalf("the interrupted push tagged something: exit %d %s", code, stderr)
	}
	if after, _ := os.ReadFile(tarPath); string(after) != string(before) {
		t.Fatal("the pushed tarball changed")
	}
}

// TestInterruptedBeforeTheTransfer: a run stopped while it still fetches
// the manifest (SIGINT, here its context) says it was interrupted, in one
// line, as a run stopped mid-blob does, not with the error the cancelled
// request got; nothing is written.
func TestInterruptedBeforeTheTransfer(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1", 64<<10)
	for _, argv := range []func(dir string) []string{
		func(dir string) []string {
			return []string{"pull", srv.Host + "/demo/app:1", filepath.Join(dir, "app.tar")}
		},
		func(dir string) []string {
			return []string{"copy", srv.Host + "/demo/app:1", "oci:" + filepath.Join(dir, "lay") + ":v1"}
		},
		func(string) []string { return []string{"copy", srv.Host + "/demo/app:1", srv.Host + "/demo/copy:1"} },
	} {
		dir := t.TempDir()
		args := argv(dir)
		ctx, cancel := context.WithCancel(t.Context())
		srv.Faults.Reset()
		srv.Faults.Add(registrytest.Fault{Match: func(r *http.Request) bool {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
				cancel() // the manifest is on its way when the signal lands
				return true
			}
			return false
		}, StallAfter: -1})
		code, _, stderr := runSkiff(t, ctx, "", args...)
		cancel()
		if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, ": interrupted") {
			t.Errorf("%s: exit %d, stderr %q: want one line saying it was interrupted", strings.Join(args, " "), code, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: wrote %d entries in its directory", strings.Join(args, " "), len(entries))
		}
	}
	srv.Faults.Reset()
}
