//go:build linux || darwin

package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
)

// blobKill wraps a registry: once `at` bytes of blob `digest` went out,
// over all the responses (ranges) that carry it, it calls kill and stops
// sending.
type blobKill struct {
	mu     sync.Mutex
	digest string
	left   int64
	kill   func()
}

func (k *blobKill) arm(digest string, at int64, kill func()) {
	k.mu.Lock()
	k.digest, k.left, k.kill = digest, at, kill
	k.mu.Unlock()
}

func (k *blobKill) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		armed := k.kill != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+k.digest)
		k.mu.Unlock()
		if armed {
			w = &blobKillWriter{ResponseWriter: w, k: k}
		}
		h.ServeHTTP(w, r)
	})
}

type blobKillWriter struct {
	http.ResponseWriter
	k *blobKill
}

func (w *blobKillWriter) Write(p []byte) (int, error) {
	w.k.mu.Lock()
	if w.k.kill == nil {
		w.k.mu.Unlock()
		return 0, http.ErrAbortHandler
	}
	p = p[:min(int64(len(p)), w.k.left)]
	w.k.left -= int64(len(p))
	kill := w.k.kill
	last := w.k.left <= 0
	if last {
		w.k.kill = nil
	}
	w.k.mu.Unlock()
	n, err := w.ResponseWriter.Write(p)
	if last {
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		kill()
	}
	return n, err
}

// TestRangedPullAfterSIGKILL kills ranged pulls of a one-layer image with
// SIGKILL at seeded points of the layer, once or twice, and runs them
// again: every range continues (the run after the kills fetches what was
// missing, within 5% of the image), the output is byte for byte an
// uninterrupted pull's, and the partial set is gone after success
// (RELIABILITY #38, #39).
func TestRangedPullAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts skiff processes")
	}
	k := &blobKill{}
	srv, m := meteredServer(t, k.wrap, registrytest.SlowRanges) // slow: ranges at once
	im := seedImage(t, srv, "demo/big:1", 20<<20)
	layer := im.Manifest.Manifest.Layers[0]
	total := imageBytes(im)
	cases := []struct {
		name string
		args func(out string) []string
		out  string
	}{
		{"pull to a docker tarball", func(o string) []string { return []string{"pull", "--range-min", "1MiB", srv.Host + "/demo/big:1", o} }, "big.tar"},
		{"pull --no-tar", func(o string) []string {
			return []string{"pull", "--no-tar", "--range-min", "1MiB", srv.Host + "/demo/big:1", o}
		}, "big"},
		{"pull --format oci", func(o string) []string {
			return []string{"pull", "--format", "oci", "--range-min", "1MiB", srv.Host + "/demo/big:1", o}
		}, "lay"},
	}
	for ci, c := range cases {
		gen := m.next()
		want := snapshot(t, func(out string) { mustRun(t, append(c.args(out), "--quiet")...) }, c.out)
		if n := m.sent(-gen); n < 3 {
			t.Fatalf("%s: %d ranged requests for a layer of %d bytes", c.name, n, layer.Size)
		}
		for seed := range 3 {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(ci)))
			dir := t.TempDir()
			out := filepath.Join(dir, c.out)
			name := fmt.Sprintf("%s, seed %d", c.name, seed)
			finished := false
			for kill := range 1 + seed%2 {
				at := layer.Size/10 + rng.Int64N(layer.Size*8/10)
				cmd, stderr := child(t, append(c.args(out), "--quiet")...)
				k.arm(string(layer.Digest), at, func() { cmd.Process.Signal(syscall.SIGKILL) })
				err := cmd.Wait()
				k.arm("", 0, nil)
				if finished = err == nil; finished {
					break // what was to be cut had arrived in an earlier run
				}
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
					t.Fatalf("%s, kill %d at %d: not killed: %v %s", name, kill, at, err, stderr)
				}
				if _, err := os.Stat(out); err == nil && c.out != "lay" {
					t.Fatalf("%s: the output exists after the kill", name)
				}
				assertOnePartialSet(t, dir, name)
			}
			kept := keptBytes(t, dir)
			gen := m.next()
			if !finished || c.out == "lay" {
				mustRun(t, append(c.args(out), "--quiet")...)
			}
			again, ranged := m.sent(gen), m.sent(-gen)
			t.Logf("%s: %d of %d bytes kept; the next run fetched %d in %d ranged requests", name, kept, total, again, ranged)
			if missing := max(total-kept, 0); again > missing+total/20 {
				t.Errorf("%s: the run after the kills fetched %d bytes; %d of %d were kept", name, again, kept, total)
			}
			if got := snapshotOf(t, out); !equalSnapshots(got, want) {
				t.Fatalf("%s: the resumed output differs from an uninterrupted one", name)
			}
			assertNoPartials(t, dir, name)
		}
	}
}

// TestCopyRangesWhenTheSourceIsSlow: a copy between registries reads a
// blob of --range-min (32 MiB by default) or more in ranges by itself once
// its one stream proves slower than the upload, and only then: from a
// source faster than the upload (here the destination takes uploads at
// 20 MB/s, so that a loopback source on a busy machine is surely the
// faster) it asks for no range, and --range-min 0 keeps even a slow
// source in one stream.
func TestCopyRangesWhenTheSourceIsSlow(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 80 MiB")
	}
	src, m := meteredServer(t)
	dst := registrytest.NewServer(t, nil)
	seedImage(t, src, "demo/big:1", 36<<20)
	seedImage(t, src, "demo/mid:1", 12<<20)
	slow := registrytest.Fault{Rate: 8e6, Match: func(r *http.Request) bool { // the one stream, not the ranges
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && r.Header.Get("Range") == ""
	}}
	slowUploads := registrytest.Fault{ReadRate: 20e6, Match: func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/blobs/uploads/")
	}}
	for i, tc := range []struct {
		image  string
		slow   bool
		flags  []string
		ranged bool
	}{
		{"big", false, nil, false},
		{"big", true, nil, true},
		{"mid", true, []string{"--range-min", "0"}, false},
	} {
		src.Faults.Reset()
		dst.Faults.Reset()
		if tc.slow {
			src.Faults.Add(slow)
		} else {
			dst.Faults.Add(slowUploads)
		}
		gen := m.next()
		args := append(append([]string{"copy"}, tc.flags...), src.Host+"/demo/"+tc.image+":1", fmt.Sprintf("%s/copy%d/%s:1", dst.Host, i, tc.image))
		mustRun(t, args...)
		m.settle()
		if got := m.sent(-gen) > 0; got != tc.ranged {
			t.Errorf("skiff %s from a slow source %v: ranged requests %v, want %v", strings.Join(args, " "), tc.slow, got, tc.ranged)
		}
	}
}
