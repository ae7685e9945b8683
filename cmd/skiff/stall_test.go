package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/tarball"
)

// TestPullThroughStalledBlob: a layer whose body stops after 100 KiB with
// the connection open is cut after --read-timeout and continued with a
// Range request; the pull completes with every digest verified.
func TestPullThroughStalledBlob(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 300<<10)
	layer := im.Manifest.Manifest.Layers[0]
	srv.Faults.Add(registrytest.Fault{Match: registrytest.Route("GET", "/blobs/"+string(layer.Digest)), Times: 1, StallAfter: 100 << 10})
	out := filepath.Join(t.TempDir(), "app.tar")
	// The bound is a real timeout, short: the stall lasts until skiff
	// hangs up. Were the flag ignored, the default 30 s would outlast ctx.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if code, _, stderr := runSkiff(t, ctx, "", "pull", "--quiet", "--read-timeout", "50ms", srv.Host+"/demo/app:1", out); code != exitOK {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	r, err := tarball.OpenFile(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if n := srv.Log.Count(func(r registrytest.Request) bool { return r.Header.Get("Range") == "bytes=102400-" }); n != 1 {
		t.Errorf("%d requests continued from byte 102400, want 1", n)
	}
	code, _, stderr := runSkiff(t, t.Context(), "", "manifest", "--read-timeout", "-1s", srv.Host+"/demo/app:1")
	if code != exitUsage || !strings.Contains(stderr, "--read-timeout") {
		t.Errorf("a negative --read-timeout: exit %d, %q", code, stderr)
	}
}
