package tarball_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/skiffoci/skiff/internal/testtool"
	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/tarball"
)

// rangeStore serves a memStore's blobs from any offset and counts the
// bytes it hands out; after limit bytes (when set) it cancels the write,
// as a kill would stop it.
type rangeStore struct {
	*memStore
	served atomic.Int64
	limit  int64
	cancel context.CancelFunc
}

func (s *rangeStore) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	return s.FetchFrom(ctx, d, 0)
}

func (s *rangeStore) FetchFrom(ctx context.Context, d manifest.Descriptor, off int64) (io.ReadCloser, error) {
	rc, err := s.memStore.Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(rc)
	r := io.NopCloser(&countingReader{s: s, r: bytes.NewReader(b[off:])})
	if off == 0 {
		return manifest.VerifyReadCloser(r, d), nil
	}
	return r, nil
}

type countingReader struct {
	s *rangeStore
	r io.Reader
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 32<<10)])
	if total := c.s.served.Add(int64(n)); c.s.limit > 0 && total >= c.s.limit {
		c.s.cancel()
	}
	return n, err
}

// bigImage is an image of three incompressible layers of a few MiB.
func bigImage(t *testing.T, seed uint64) (*rangeStore, []tarball.Entry, int64) {
	store := newMemStore()
	rng := rand.New(rand.NewPCG(seed, 1))
	var bodies []string
	for _, n := range []int{3 << 20, 5 << 20, 2 << 20} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		bodies = append(bodies, string(b))
	}
	ti := buildImage(t, store, spec{layers: bodies, level: 0})
	var total int64
	for _, l := range ti.layers {
		total += int64(len(l))
	}
	rs := &rangeStore{memStore: store}
	return rs, []tarball.Entry{{Tags: []string{"big:1"}, Manifest: ti.doc, Fetcher: rs}}, total + int64(len(ti.config))
}

// TestWriteFileResumes interrupts WriteFile at seeded points and runs it
// again: the tarball is byte-identical to an uninterrupted Write, the
// second run fetches no more than what was missing plus a checkpoint
// interval per blob in flight, and only one partial set ever exists.
func TestWriteFileResumes(t *testing.T) {
	for seed := range uint64(6) {
		store, images, total := bigImage(t, seed)
		var want bytes.Buffer
		if err := tarball.Write(t.Context(), &want, images, nil); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "out.tar")
		rng := rand.New(rand.NewPCG(seed, 2))
		for attempt := range 3 { // several interruptions into one output
			ctx, cancel := context.WithCancel(t.Context())
			store.served.Store(0)
			store.limit, store.cancel = 1+rng.Int64N(total/8), cancel
			err := tarball.WriteFile(ctx, path, images, nil)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("seed %d attempt %d: %v, want an interruption", seed, attempt, err)
			}
			if names := testtool.DirNames(t, dir); !slices.Equal(names, []string{".out.tar.skiff-partial", ".out.tar.skiff-state"}) {
				t.Fatalf("seed %d attempt %d: the directory holds %v", seed, attempt, names)
			}
		}
		// How much is missing: what the checkpoints do not cover.
		store.limit = 0
		store.served.Store(0)
		if err := tarball.WriteFile(t.Context(), path, images, nil); err != nil {
			t.Fatalf("seed %d: resuming: %v", seed, err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("seed %d: the resumed tarball differs from an uninterrupted one", seed)
		}
		if served := store.served.Load(); served >= total {
			t.Fatalf("seed %d: the resumed run fetched %d bytes of %d: it started over", seed, served, total)
		}
		if names := testtool.DirNames(t, dir); !slices.Equal(names, []string{"out.tar"}) {
			t.Fatalf("seed %d: after success the directory holds %v", seed, names)
		}
	}
}

// TestWriteFileResumeFetchesOnlyWhatIsMissing counts bytes exactly: an
// interruption after half the image leaves checkpoints that the next run
// continues from, within 4 checkpoint intervals (one per job).
func TestWriteFileResumeFetchesOnlyWhatIsMissing(t *testing.T) {
	store, images, total := bigImage(t, 42)
	path := filepath.Join(t.TempDir(), "out.tar")
	ctx, cancel := context.WithCancel(t.Context())
	store.limit, store.cancel = total/2, cancel
	tarball.WriteFile(ctx, path, images, nil)
	cancel()
	first := store.served.Load()
	store.limit = 0
	store.served.Store(0)
	if err := tarball.WriteFile(t.Context(), path, images, nil); err != nil {
		t.Fatal(err)
	}
	missing := total - first
	if second := store.served.Load(); second < missing || second > missing+4*(1<<20) {
		t.Fatalf("first run fetched %d of %d bytes; the second fetched %d, want %d..%d", first, total, second, missing, missing+4<<20)
	}
}

// TestWriteFileResumeOtherImageStartsOver: a partial of another image at
// the same path is discarded; Fresh discards a partial of the same one.
func TestWriteFileResumeOtherImageStartsOver(t *testing.T) {
	storeA, imagesA, totalA := bigImage(t, 1)
	storeB, imagesB, totalB := bigImage(t, 2)
	path := filepath.Join(t.TempDir(), "out.tar")
	for _, tc := range []struct {
		name  string
		store *rangeStore
		imgs  []tarball.Entry
		total int64
		opts  *tarball.WriteOptions
	}{
		{"another image", storeB, imagesB, totalB, nil},
		{"Fresh", storeA, imagesA, totalA, &tarball.WriteOptions{Fresh: true}},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		storeA.served.Store(0)
		storeA.limit, storeA.cancel = totalA*3/4, cancel
		tarball.WriteFile(ctx, path, imagesA, nil)
		cancel()
		storeA.limit = 0
		tc.store.served.Store(0)
		if err := tarball.WriteFile(t.Context(), path, tc.imgs, tc.opts); err != nil {
			t.Fatal(err)
		}
		if served := tc.store.served.Load(); served < tc.total {
			t.Errorf("%s: fetched %d of %d bytes: it used the other partial", tc.name, served, tc.total)
		}
		os.Remove(path)
	}
}

// TestWriteFileDamagedPartial: bytes of the partial file changed between
// runs are detected and fetched again; the result is verified.
func TestWriteFileDamagedPartial(t *testing.T) {
	store, images, total := bigImage(t, 3)
	var want bytes.Buffer
	tarball.Write(t.Context(), &want, images, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "out.tar")
	ctx, cancel := context.WithCancel(t.Context())
	store.limit, store.cancel = total*9/10, cancel
	tarball.WriteFile(ctx, path, images, nil)
	cancel()
	partial := filepath.Join(dir, ".out.tar.skiff-partial")
	raw, err := os.ReadFile(partial)
	if err != nil {
		t.Fatal(err)
	}
	for off := 4096; off < len(raw); off += 1 << 20 { // a byte in every MiB
		raw[off] ^= 0x55
	}
	os.WriteFile(partial, raw, 0o644)
	store.limit = 0
	if err := tarball.WriteFile(t.Context(), path, images, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want.Bytes()) {
		t.Fatal("a damaged partial reached the final name")
	}
}

// TestWriteFileLocked: a second writer of the same path fails at once,
// naming the state file, and leaves the first one's partial alone.
func TestWriteFileLocked(t *testing.T) {
	store, images, total := bigImage(t, 4)
	path := filepath.Join(t.TempDir(), "out.tar")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	started := make(chan struct{})
	store.limit, store.cancel = total/3, func() {
		select {
		case <-started:
		default:
			close(started)
		}
	}
	done := make(chan error, 1)
	blocked := &blockingStore{rangeStore: store, release: ctx.Done()}
	go func() {
		done <- tarball.WriteFile(ctx, path, []tarball.Entry{{Tags: images[0].Tags, Manifest: images[0].Manifest, Fetcher: blocked}}, nil)
	}()
	<-started
	err := tarball.WriteFile(t.Context(), path, images, nil)
	if err == nil || !strings.Contains(err.Error(), ".out.tar.skiff-state") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second writer: %v", err)
	}
	cancel()
	<-done
}

// blockingStore stops serving once the write has started, until release.
type blockingStore struct {
	*rangeStore
	release <-chan struct{}
}

func (b *blockingStore) FetchFrom(ctx context.Context, d manifest.Descriptor, off int64) (io.ReadCloser, error) {
	rc, err := b.rangeStore.FetchFrom(ctx, d, off)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{&stallAfterStart{r: rc, s: b}, rc}, nil
}

func (b *blockingStore) Fetch(ctx context.Context, d manifest.Descriptor) (io.ReadCloser, error) {
	return b.FetchFrom(ctx, d, 0)
}

type stallAfterStart struct {
	r io.Reader
	s *blockingStore
}

func (s *stallAfterStart) Read(p []byte) (int, error) {
	if s.s.served.Load() >= s.s.limit {
		<-s.s.release
		return 0, context.Canceled
	}
	return s.r.Read(p)
}
