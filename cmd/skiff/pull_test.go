package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/tarball"
)

func TestPullNoTarAndDockersaveFlags(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1.0", 100<<10, 10)
	dir := t.TempDir()
	mustRun(t, "pull", "--quiet", "--no-tar", "--working-dir", dir, srv.Host+"/demo/app:1.0")
	out := filepath.Join(dir, "demo-app-1.0")
	for _, f := range []string{"manifest.json", "index.json", "oci-layout", "blobs/sha256/" + im.Manifest.Digest.Hex()} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("--no-tar directory lacks %s", f)
		}
	}
	l, err := layout.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := l.Index(); err != nil || idx.Manifests[0].Digest != im.Manifest.Digest {
		t.Fatalf("the directory is not the image's layout: %v", err)
	}
	if code, _, stderr := runSkiff(t, t.Context(), "", "pull", "--no-tar", "--working-dir", dir, srv.Host+"/demo/app:1.0"); code != exitError || !strings.Contains(stderr, "already exists") {
		t.Fatalf("a second --no-tar into the same directory: exit %d %s", code, stderr)
	}
	mustRun(t, "pull", "--quiet", "--tarname", "named.tar", "--working-dir", dir, srv.Host+"/demo/app:1.0")
	r, err := tarball.OpenFile(filepath.Join(dir, "named.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("working dir holds %v; want the directory and named.tar only", entries)
	}
}

func TestPullInterruptedMidBlobLeavesNothing(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1.0", 2<<20, 2<<20)
	for _, args := range [][]string{{"x.tar"}, {"--no-tar", "--working-dir", "WD"}, {"--format", "oci", "lay"}} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		srv.Faults.Add(registrytest.Fault{Times: 1, CutAfter: 1 << 20, Match: func(r *http.Request) bool {
			if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
				defer cancel() // killed while the first blob streams
				return true
			}
			return false
		}})
		full := []string{"pull", "--quiet", srv.Host + "/demo/app:1.0"}
		for _, a := range args {
			full = append(full, strings.ReplaceAll(strings.ReplaceAll(a, "WD", dir), "x.tar", filepath.Join(dir, "x.tar")))
		}
		if args[0] == "--format" {
			full[len(full)-1] = filepath.Join(dir, "lay")
		}
		code, _, _ := runSkiff(t, ctx, "", full...)
		cancel()
		if code != exitError {
			t.Fatalf("%v: exit %d after a cancel", args, code)
		}
		entries, _ := os.ReadDir(dir)
		if args[0] == "--format" {
			assertLayoutConsistent(t, filepath.Join(dir, "lay"))
			continue
		}
		for _, e := range entries { // nothing under a final name: at most the partial set to resume
			if !strings.HasSuffix(e.Name(), ".skiff-partial") && !strings.HasSuffix(e.Name(), ".skiff-state") {
				t.Fatalf("%v: left behind %v", args, entries)
			}
		}
	}
}

// assertLayoutConsistent checks that an interrupted layout names nothing
// it does not hold.
func assertLayoutConsistent(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return
	}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatalf("interrupted layout does not open: %v", err)
	}
	idx, err := l.Index()
	if err != nil {
		t.Fatalf("interrupted layout's index.json: %v", err)
	}
	if len(idx.Manifests) != 0 {
		t.Fatalf("an interrupted copy tagged %v", idx.Manifests)
	}
}

func TestProgressNeverTouchesStdout(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	seedImage(t, srv, "demo/app:1.0", 300<<10, 10)
	var outs [3]string
	var errs [3]string
	for i, mode := range []string{"none", "plain", "tty"} {
		code, stdout, stderr := runSkiff(t, t.Context(), "", "pull", "--progress", mode, srv.Host+"/demo/app:1.0", "-")
		if code != exitOK {
			t.Fatalf("--progress %s: exit %d %s", mode, code, stderr)
		}
		outs[i], errs[i] = stdout, stderr
	}
	if outs[0] != outs[1] || outs[0] != outs[2] || len(outs[0]) < 300<<10 {
		t.Fatal("stdout differs with progress on")
	}
	if !strings.Contains(errs[1], "done    sha256:") || !strings.Contains(errs[2], "\x1b[2Ktotal 3/3 blobs") {
		t.Fatalf("progress missing:\nplain %q\ntty %q", errs[1], errs[2])
	}
	if strings.Contains(errs[0], "sha256:") {
		t.Fatalf("--progress none printed %q", errs[0])
	}
	if code, _, stderr := runSkiff(t, t.Context(), "", "pull", "--progress", "fancy", srv.Host+"/demo/app:1.0", "-"); code != exitUsage {
		t.Fatalf("--progress fancy: exit %d %s", code, stderr)
	}
}
