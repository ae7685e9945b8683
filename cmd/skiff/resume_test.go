package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/internal/testimage"
)

// resumeCase is one kind of output a killed transfer is resumed into.
type resumeCase struct {
	name string
	args func(host, out string) []string
	out  string // the output's name in the test's directory
}

var resumeCases = []resumeCase{
	{"pull to a docker tarball", func(h, o string) []string { return []string{"pull", h + "/demo/app:1", o} }, "app.tar"},
	{"pull --format oci-archive", func(h, o string) []string { return []string{"pull", "--format", "oci-archive", h + "/demo/app:1", o} }, "app.tar"},
	{"pull --no-tar", func(h, o string) []string { return []string{"pull", "--no-tar", h + "/demo/app:1", o} }, "app"},
	{"pull --format oci", func(h, o string) []string { return []string{"pull", "--format", "oci", h + "/demo/app:1", o} }, "lay"},
	{"copy to a layout", func(h, o string) []string { return []string{"copy", h + "/demo/app:1", "oci:" + o + ":v1"} }, "lay"},
	{"copy to docker-archive", func(h, o string) []string { return []string{"copy", h + "/demo/app:1", "docker-archive:" + o} }, "app.tar"},
	{"copy --referrers to an oci-archive", func(h, o string) []string {
		return []string{"copy", "--referrers", h + "/demo/app:1", "oci-archive:" + o + ":1"}
	}, "app.tar"},
}

// TestResumeAtRandomPoints kills pulls and copies mid-blob at seeded
// points, once or several times, and runs them again: the output is
// identical to an uninterrupted run's, the last run fetches no more than
// what was missing plus 5% of the image, at most one partial set exists
// after any number of interruptions, and none after success.
func TestResumeAtRandomPoints(t *testing.T) {
	srv, meter := meteredServer(t)
	sizes := []int{900 << 10, 1500 << 10, 300 << 10, 600 << 10}
	im := seedImage(t, srv, "demo/app:1", sizes...)
	total := imageBytes(im)
	for ci, rc := range resumeCases {
		want := snapshot(t, func(out string) { mustRun(t, append(rc.args(srv.Host, out), "--quiet")...) }, rc.out)
		for seed := range 4 {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(ci)))
			dir := t.TempDir()
			out := filepath.Join(dir, rc.out)
			name := fmt.Sprintf("%s, seed %d", rc.name, seed)
			kills, done := 1+seed%3, false
			for k := range kills {
				layer := im.Manifest.Manifest.Layers[rng.IntN(len(sizes))]
				at := 1 + rng.Int64N(layer.Size-1)
				ctx, cancel := context.WithCancel(t.Context())
				srv.Faults.Reset()
				srv.Log.Reset()
				cancelMidBlob(srv, layer.Digest, at, cancel)
				code, _, stderr := runSkiff(t, ctx, "", append(rc.args(srv.Host, out), "--quiet")...)
				cancel()
				if code != exitError && code != exitOK {
					t.Fatalf("%s, kill %d: exit %d: %s", name, k, code, stderr)
				}
				if code == exitError && !strings.Contains(stderr, "run the same command again") {
					t.Errorf("%s, kill %d: the error does not say how to resume: %s", name, k, stderr)
				}
				if done = code == exitOK; done {
					break // what the kill was to cut had already arrived
				}
				assertOnePartialSet(t, dir, name)
			}
			kept := keptBytes(t, dir)
			srv.Faults.Reset()
			srv.Log.Reset()
			gen := meter.next()
			if !done {
				mustRun(t, append(rc.args(srv.Host, out), "--quiet")...)
			}
			again := meter.sent(gen)
			if missing := max(total-kept, 0); again > missing+total/20 {
				t.Errorf("%s: the run after %d kills fetched %d bytes; %d of %d were kept, so %d were missing", name, kills, again, kept, total, missing)
			}
			if got := snapshotOf(t, out); !equalSnapshots(got, want) {
				t.Fatalf("%s: the resumed output differs from an uninterrupted one", name)
			}
			assertNoPartials(t, dir, name)
		}
	}
}

// TestResumeDamagedPartial corrupts the partial between runs: the next run
// notices, fetches what is damaged again and still writes a verified image.
func TestResumeDamagedPartial(t *testing.T) {
	srv := registrytest.NewServer(t, nil)
	im := seedImage(t, srv, "demo/app:1", 2<<20, 1<<20)
	for _, rc := range resumeCases {
		want := snapshot(t, func(out string) { mustRun(t, append(rc.args(srv.Host, out), "--quiet")...) }, rc.out)
		dir := t.TempDir()
		out := filepath.Join(dir, rc.out)
		layer := im.Manifest.Manifest.Layers[0]
		ctx, cancel := context.WithCancel(t.Context())
		srv.Faults.Reset()
		cancelMidBlob(srv, layer.Digest, layer.Size*3/4, cancel)
		runSkiff(t, ctx, "", append(rc.args(srv.Host, out), "--quiet")...)
		cancel()
		damaged := 0
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && strings.Contains(p, ".skiff-partial") {
				b, _ := os.ReadFile(p)
				for i := 700; i < len(b); i += 256 << 10 {
					b[i] ^= 0x5a
					damaged++
				}
				os.WriteFile(p, b, 0o644)
			}
			return nil
		})
		if damaged == 0 {
			t.Fatalf("%s: no partial bytes to damage", rc.name)
		}
		srv.Faults.Reset()
		mustRun(t, append(rc.args(srv.Host, out), "--quiet")...)
		if got := snapshotOf(t, out); !equalSnapshots(got, want) {
			t.Fatalf("%s: a damaged partial reached the output", rc.name)
		}
	}
}

// TestNoResumeStartsOver: --no-resume fetches no blob from where an
// interrupted run left it.
func TestNoResumeStartsOver(t *testing.T) {
	srv, meter := meteredServer(t)
	im := seedImage(t, srv, "demo/app:1", 2<<20, 1<<20)
	for _, rc := range resumeCases {
		out := filepath.Join(t.TempDir(), rc.out)
		layer := im.Manifest.Manifest.Layers[0]
		ctx, cancel := context.WithCancel(t.Context())
		srv.Faults.Reset()
		cancelMidBlob(srv, layer.Digest, layer.Size*3/4, cancel)
		runSkiff(t, ctx, "", append(rc.args(srv.Host, out), "--quiet")...)
		cancel()
		srv.Faults.Reset()
		gen := meter.next()
		mustRun(t, append(rc.args(srv.Host, out), "--quiet", "--no-resume")...)
		if ranged, got := meter.sent(-gen), meter.sent(gen); ranged > 0 || got < layer.Size {
			t.Errorf("%s --no-resume: %d Range requests, %d bytes: it resumed", rc.name, ranged, got)
		}
	}
}

// keptBytes is what the outputs under dir hold for a resumed run: the
// bytes their checkpoints account for, and the blobs complete in a layout.
func keptBytes(t *testing.T, dir string) int64 {
	var kept int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case strings.HasSuffix(p, ".skiff-state"):
			if _, err := os.Stat(strings.TrimSuffix(p, ".skiff-state") + ".skiff-partial"); err != nil {
				return nil // the blob was renamed into place as the run was killed
			}
			n, err := resume.Progress(p)
			if err != nil {
				t.Fatal(err)
			}
			kept += n
		case d.IsDir() && strings.HasSuffix(p, ".skiff-partial"):
			if strings.HasSuffix(p, ".layout.skiff-partial") {
				return nil // the layout an archive is assembled in: its blobs count
			}
			return filepath.SkipDir // counted by its state
		case d.Type().IsRegular() && filepath.Base(filepath.Dir(p)) == "sha256" && !strings.HasPrefix(d.Name(), "."):
			info, _ := d.Info()
			kept += info.Size()
		}
		return nil
	})
	return kept
}

// meteredServer is registrytest.NewServer with a meter of the response
// bytes sent to the requests of each generation: a request belongs to the
// generation current when it arrived, so a response a killed run left
// streaming is not counted against the next run.
func meteredServer(t *testing.T, wrap ...func(http.Handler) http.Handler) (*registrytest.Server, *byteMeter) {
	g := registrytest.New(nil)
	m := &byteMeter{settle: g.Log.Settle} // the meter counts within g's handlers
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gen := m.gen.Load()
		if r.Header.Get("Range") != "" {
			m.add(-gen, 1) // ranged requests, counted under -gen
		}
		g.ServeHTTP(&meteredWriter{ResponseWriter: w, add: func(n int) { m.add(gen, n) }}, r)
	})
	for _, w := range wrap {
		h = w(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	u, _ := url.Parse(hs.URL)
	return &registrytest.Server{Registry: g, URL: hs.URL, Host: u.Host}, m
}

type byteMeter struct {
	gen    atomic.Int64
	settle func() // waits for the handlers of the requests that arrived
	mu     sync.Mutex
	bytes  map[int64]int64
}

func (m *byteMeter) next() int64 { return m.gen.Add(1) }

func (m *byteMeter) add(gen int64, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bytes == nil {
		m.bytes = map[int64]int64{}
	}
	m.bytes[gen] += int64(n)
}

// sent returns the bytes sent to generation gen's requests, counted to
// the end of the handlers of those that arrived: a handler may write its
// last bytes after the client has them.
func (m *byteMeter) sent(gen int64) int64 {
	m.settle()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes[gen]
}

type meteredWriter struct {
	http.ResponseWriter
	add func(int)
}

func (w *meteredWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.add(n)
	return n, err
}

func (w *meteredWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func imageBytes(im *testimage.Image) int64 {
	n := im.Manifest.Manifest.Config.Size + int64(len(im.Manifest.Raw))
	for _, l := range im.Manifest.Manifest.Layers {
		n += l.Size
	}
	return n
}

// snapshot runs write into a fresh directory and returns what it wrote.
func snapshot(t *testing.T, write func(out string), name string) map[string][]byte {
	out := filepath.Join(t.TempDir(), name)
	write(out)
	return snapshotOf(t, out)
}

// snapshotOf reads a file, or every file under a directory, by path.
func snapshotOf(t *testing.T, out string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equalSnapshots(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// partials lists the partial and state files under dir.
func partials(dir string) []string {
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(d.Name(), ".skiff-partial") || strings.HasSuffix(d.Name(), ".skiff-state")) {
			found = append(found, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	sort.Strings(found)
	return found
}

// assertOnePartialSet checks that dir holds at most one partial set per
// output: one data and one state file, or a layout's per-blob pairs.
func assertOnePartialSet(t *testing.T, dir, name string) {
	t.Helper()
	stems := map[string]int{}
	for _, p := range partials(dir) {
		stem := strings.TrimSuffix(strings.TrimSuffix(p, ".skiff-partial"), ".skiff-state")
		stems[stem]++
	}
	for stem, n := range stems {
		if n > 2 {
			t.Fatalf("%s: %d partial files for %s", name, n, stem)
		}
	}
	for _, p := range partials(dir) {
		if strings.Contains(filepath.Base(p), ".tmp") {
			t.Fatalf("%s: a temporary file: %s", name, p)
		}
	}
}

func assertNoPartials(t *testing.T, dir, name string) {
	t.Helper()
	if left := partials(dir); len(left) > 0 {
		t.Fatalf("%s: partial files left after success: %v", name, left)
	}
}
