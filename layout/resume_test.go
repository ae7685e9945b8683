package layout_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/skiffoci/skiff/layout"
	"github.com/skiffoci/skiff/manifest"
)

// opener serves data from any offset, counting what it hands out, and
// cancels after limit bytes when limit is set.
type opener struct {
	data   []byte
	desc   manifest.Descriptor
	served int64
	limit  int64
	cancel context.CancelFunc
}

func (o *opener) open(off int64) (io.ReadCloser, error) {
	var r io.Reader = &limited{o: o, r: bytes.NewReader(o.data[off:])}
	if off == 0 {
		return manifest.VerifyReadCloser(io.NopCloser(r), o.desc), nil
	}
	return io.NopCloser(r), nil
}

type limited struct {
	o *opener
	r io.Reader
}

func (l *limited) Read(p []byte) (int, error) {
	n, err := l.r.Read(p[:min(len(p), 16<<10)])
	l.o.served += int64(n)
	if l.o.limit > 0 && l.o.served >= l.o.limit {
		l.o.cancel()
	}
	return n, err
}

func randomBlob(n int, seed uint64) ([]byte, manifest.Descriptor) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b, manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, b)
}

// TestPushResumable: a push cancelled mid-blob leaves one partial set and
// nothing under the blob's name; the next push continues from where it
// stopped and leaves the blob, verified, and nothing else.
func TestPushResumable(t *testing.T) {
	dir := t.TempDir()
	l, err := layout.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, desc := randomBlob(3<<20+77, 1)
	o := &opener{data: data, desc: desc}
	var before int64 // bytes served by the interrupted pushes
	for attempt := range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		o.served, o.limit, o.cancel = 0, 500<<10, cancel
		err := l.PushResumable(ctx, desc, o.open)
		cancel()
		before += o.served
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		if ok, _ := l.Exists(t.Context(), desc); ok {
			t.Fatal("an interrupted push named the blob")
		}
		if got := blobDirNames(t, dir); !slices.Equal(got, []string{"." + desc.Digest.Hex() + ".skiff-partial", "." + desc.Digest.Hex() + ".skiff-state"}) {
			t.Fatalf("attempt %d: blobs/sha256 holds %v", attempt, got)
		}
	}
	o.served, o.limit = 0, 0
	if err := l.PushResumable(t.Context(), desc, o.open); err != nil {
		t.Fatal(err)
	}
	if missing := int64(len(data)) - before; o.served != missing {
		t.Fatalf("the last push fetched %d bytes; %d were missing", o.served, missing)
	}
	if got := blobDirNames(t, dir); !slices.Equal(got, []string{desc.Digest.Hex()}) {
		t.Fatalf("after success blobs/sha256 holds %v", got)
	}
	if _, err := manifest.FetchAll(t.Context(), l, desc, desc.Size); err != nil {
		t.Fatal(err)
	}
}

// TestPushResumableDamagedPartial: a partial whose bytes changed between
// runs is fetched again, never renamed into place as it is.
func TestPushResumableDamagedPartial(t *testing.T) {
	dir := t.TempDir()
	l, _ := layout.Create(dir)
	data, desc := randomBlob(2<<20, 2)
	o := &opener{data: data, desc: desc}
	ctx, cancel := context.WithCancel(t.Context())
	o.limit, o.cancel = 1500<<10, cancel
	l.PushResumable(ctx, desc, o.open)
	cancel()
	partial := filepath.Join(dir, "blobs", "sha256", "."+desc.Digest.Hex()+".skiff-partial")
	f, err := os.OpenFile(partial, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("xx"), 1000)
	f.Close()
	o.served, o.limit = 0, 0
	if err := l.PushResumable(t.Context(), desc, o.open); err != nil {
		t.Fatal(err)
	}
	if o.served != int64(len(data)) {
		t.Fatalf("after damage the push fetched %d of %d bytes", o.served, len(data))
	}
	if _, err := manifest.FetchAll(t.Context(), l, desc, desc.Size); err != nil {
		t.Fatal(err)
	}
}

// TestRemovePartials: old partial blobs go; recent ones stay unless the
// age is 0.
func TestRemovePartials(t *testing.T) {
	dir := t.TempDir()
	l, _ := layout.Create(dir)
	for i, age := range []time.Duration{0, 8 * 24 * time.Hour} {
		data, desc := randomBlob(2<<20, uint64(10+i))
		o := &opener{data: data, desc: desc}
		ctx, cancel := context.WithCancel(t.Context())
		o.limit, o.cancel = 1<<20, cancel
		l.PushResumable(ctx, desc, o.open)
		cancel()
		then := time.Now().Add(-age)
		for _, suffix := range []string{".skiff-partial", ".skiff-state"} {
			os.Chtimes(filepath.Join(dir, "blobs", "sha256", "."+desc.Digest.Hex()+suffix), then, then)
		}
	}
	removed, err := l.RemovePartials(7 * 24 * time.Hour)
	if err != nil || len(removed) != 1 || len(blobDirNames(t, dir)) != 2 {
		t.Fatalf("removed %v (%v); left %v", removed, err, blobDirNames(t, dir))
	}
	if removed, _ := l.RemovePartials(0); len(removed) != 1 || len(blobDirNames(t, dir)) != 0 {
		t.Fatalf("age 0 removed %v; left %v", removed, blobDirNames(t, dir))
	}
}

func blobDirNames(t *testing.T, dir string) []string {
	t.Helper()
	des, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}
