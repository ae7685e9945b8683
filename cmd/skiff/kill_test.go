//go:build linux || darwin

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiffoci/skiff/internal/registrytest"
	"github.com/skiffoci/skiff/internal/resume"
)

// TestMain lets a test run skiff itself as a child process: with
// SKIFF_TEST_MAIN=1 the test binary is skiff, so children can be killed
// with real signals.
func TestMain(m *testing.M) {
	if os.Getenv("SKIFF_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// child starts skiff with args as a separate process.
func child(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SKIFF_TEST_MAIN=1", "HOME="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// killSwitch wraps a registry: once `at` bytes of blob `digest` have gone
// out in one response, it calls kill and stops that response.
type killSwitch struct {
	mu     sync.Mutex
	digest string
	at     int64
	kill   func()
}

func (k *killSwitch) arm(digest string, at int64, kill func()) {
	k.mu.Lock()
	k.digest, k.at, k.kill = digest, at, kill
	k.mu.Unlock()
}

func (k *killSwitch) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		armed := k.kill != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+k.digest)
		at, kill := k.at, k.kill
		if armed {
			k.kill = nil
		}
		k.mu.Unlock()
		if !armed {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&killingWriter{ResponseWriter: w, left: at, kill: kill}, r)
	})
}

type killingWriter struct {
	http.ResponseWriter
	left int64
	kill func()
}

func (w *killingWriter) Write(p []byte) (int, error) {
	if w.left <= 0 {
		return 0, http.ErrAbortHandler
	}
	if int64(len(p)) > w.left {
		p = p[:w.left]
	}
	n, err := w.ResponseWriter.Write(p)
	if w.left -= int64(n); w.left <= 0 {
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		w.kill()
	}
	return n, err
}

// TestResumeAfterSIGKILL kills skiff processes with SIGKILL while a blob
// streams, at seeded points, and runs the same command again: complete
// blobs are not fetched again, a partial one continues from its last
// checkpoint, the output is identical to an uninterrupted run's, and only
// one partial set ever exists (RELIABILITY #38, #39).
func TestResumeAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts skiff processes")
	}
	ks := &killSwitch{}
	srv, m := meteredServer(t, ks.wrap)
	sizes := []int{3 << 20, 5 << 20, 2 << 20, 4 << 20}
	im := seedImage(t, srv, "demo/app:1", sizes...)
	total := imageBytes(im)
	for ci, rc := range resumeCases {
		want := snapshot(t, func(out string) { mustRun(t, append(rc.args(srv.Host, out), "--quiet")...) }, rc.out)
		rng := rand.New(rand.NewPCG(uint64(ci), 38))
		dir := t.TempDir()
		out := filepath.Join(dir, rc.out)
		for k := range 2 {
			layer := im.Manifest.Manifest.Layers[rng.IntN(len(sizes))]
			at := layer.Size/2 + rng.Int64N(layer.Size/2)
			cmd, stderr := child(t, append(rc.args(srv.Host, out), "--quiet")...)
			ks.arm(string(layer.Digest), at, func() { cmd.Process.Signal(syscall.SIGKILL) })
			err := cmd.Wait()
			name := fmt.Sprintf("%s, kill %d (%s at %d of %d)", rc.name, k, layer.Digest.Short(), at, layer.Size)
			if err == nil {
				ks.arm("", 0, nil)
				break // the blob to cut was already there: the run finished
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("%s: not killed: %v %s", name, err, stderr)
			}
			if _, err := os.Stat(out); err == nil && rc.out != "lay" {
				t.Fatalf("%s: the output exists after the kill", name)
			}
			assertOnePartialSet(t, dir, name)
		}
		kept := keptBytes(t, dir)
		t.Logf("%s: %d of %d bytes kept after the kills", rc.name, kept, total)
		gen := m.next()
		if _, err := os.Stat(out); err != nil || rc.out == "lay" { // else a run finished
			mustRun(t, append(rc.args(srv.Host, out), "--quiet")...)
		}
		if again, missing := m.sent(gen), max(total-kept, 0); again > missing+total/20 {
			t.Errorf("%s: after SIGKILL the next run fetched %d bytes; %d of %d were kept", rc.name, again, kept, total)
		}
		if got := snapshotOf(t, out); !equalSnapshots(got, want) {
			t.Fatalf("%s: the resumed output differs from an uninterrupted one", rc.name)
		}
		assertNoPartials(t, dir, rc.name)
	}
}

// TestSIGINTStopsAndSaysHowToResume: SIGINT or SIGTERM stop a transfer
// that is waiting for bytes, promptly, with one line that says how to
// continue, and keep what arrived (RELIABILITY #41).
func TestSIGINTStopsAndSaysHowToResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts skiff processes")
	}
	g := registrytest.New(nil)
	stalled := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			g.ServeHTTP(&stallingWriter{ResponseWriter: w, left: 1 << 20, stalled: stalled, done: r.Context().Done()}, r)
			return
		}
		g.ServeHTTP(w, r)
	}))
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	srv := &registrytest.Server{Registry: g, URL: hs.URL, Host: u.Host}
	seedImage(t, srv, "demo/app:1", 4<<20)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		dir := t.TempDir()
		cmd, stderr := child(t, "pull", srv.Host+"/demo/app:1", filepath.Join(dir, "app.tar"))
		<-stalled
		sent := time.Now()
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		took := time.Since(sent)
		t.Logf("%v: stopped %v after the signal", sig, took)
		if err == nil || cmd.ProcessState.ExitCode() <= 0 {
			t.Fatalf("%v: exit %v", sig, err)
		}
		if took > 5*time.Second {
			t.Fatalf("%v: took %v to stop", sig, took)
		}
		if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "interrupted; run the same command again") {
			t.Fatalf("%v: stderr %q", sig, msg)
		}
		// What arrived before the signal is kept (how much depends on
		// how far the client read): the partial set is there to resume.
		if n, err := keptAfter(dir); err != nil || len(partials(dir)) != 2 {
			t.Fatalf("%v: partial files %v, %d bytes checkpointed (%v)", sig, partials(dir), n, err)
		}
	}
}

// keptAfter sums the checkpoints of the state files in dir.
func keptAfter(dir string) (int64, error) {
	states, _ := filepath.Glob(filepath.Join(dir, ".*.skiff-state"))
	var kept int64
	for _, p := range states {
		n, err := resume.Progress(p)
		if err != nil {
			return kept, err
		}
		kept += n
	}
	return kept, nil
}

// stallingWriter sends left bytes, says so once on stalled, then waits
// for the client to go away.
type stallingWriter struct {
	http.ResponseWriter
	left    int64
	stalled chan<- struct{}
	done    <-chan struct{}
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if w.left <= 0 {
		select {
		case w.stalled <- struct{}{}:
		default:
		}
		<-w.done
		return 0, context.Canceled
	}
	if int64(len(p)) > w.left {
		p = p[:w.left]
	}
	n, err := w.ResponseWriter.Write(p)
	w.left -= int64(n)
	if w.left <= 0 {
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
	}
	return n, err
}
