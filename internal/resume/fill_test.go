package resume

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/skiffoci/skiff/manifest"
)

// source serves one blob, from any offset, counting the bytes it hands
// out; cutAt > 0 makes a read past that byte fail as a dropped link does.
type source struct {
	data   []byte
	desc   manifest.Descriptor
	smu    sync.Mutex // guards served while the bytes are read
	served int64
	cutAt  int64
}

var errCut = errors.New("connection cut")

func (s *source) open(offset int64) (io.ReadCloser, error) {
	var r io.Reader = &cutReader{s: s, pos: offset}
	if offset == 0 {
		return manifest.VerifyReadCloser(io.NopCloser(r), s.desc), nil
	}
	return io.NopCloser(r), nil
}

type cutReader struct {
	s   *source
	pos int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.pos >= int64(len(c.s.data)) {
		return 0, io.EOF
	}
	end := min(int64(len(c.s.data)), c.pos+int64(len(p)), c.pos+64<<10)
	if c.s.cutAt > 0 && end > c.s.cutAt {
		end = c.s.cutAt
		if end <= c.pos {
			return 0, errCut
		}
	}
	n := copy(p, c.s.data[c.pos:end])
	c.pos += int64(n)
	c.s.smu.Lock()
	c.s.served += int64(n)
	c.s.smu.Unlock()
	return n, nil
}

func newSource(size int, seed uint64) *source {
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return &source{data: data, desc: manifest.DescriptorFor(manifest.MediaTypeOCILayerGzip, data)}
}

// newSlot opens a state and a file with room for the blob at offset 512.
func newSlot(t *testing.T, dir string, src *source) (*Slot, *os.File) {
	t.Helper()
	st, err := openStatePath(filepath.Join(dir, "state"), [32]byte{7}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &Slot{File: f, Offset: 512, Desc: src.desc, State: st}, f
}

func slotBytes(t *testing.T, f *os.File, src *source) []byte {
	t.Helper()
	got := make([]byte, len(src.data))
	if _, err := f.ReadAt(got, 512); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestFillResumesAfterCut: a transfer cut mid-blob continues, in a new
// run with a new State, from its last checkpoint: the bytes fetched twice
// are fewer than one Interval.
func TestFillResumesAfterCut(t *testing.T) {
	src := newSource(5*Interval+1234, 1)
	dir := t.TempDir()
	src.cutAt = 3*Interval + 777
	s, _ := newSlot(t, dir, src)
	if _, proof, err := s.Fill(t.Context(), src.open); !errors.Is(err, errCut) || proof != (manifest.Verified{}) {
		t.Fatalf("first run: %v, want the cut and no proof", err)
	}
	s.State.Close()
	src.cutAt, src.served = 0, 0
	s, f := newSlot(t, dir, src)
	n, proof, err := s.Fill(t.Context(), src.open)
	if err == nil {
		err = proof.Check(src.desc)
	}
	if err != nil {
		t.Fatal(err)
	}
	missing := int64(len(src.data)) - (3*Interval + 777)
	if n != src.served || n < missing || n > missing {
		t.Fatalf("second run fetched %d bytes (source served %d); %d were missing", n, src.served, missing)
	}
	if !bytes.Equal(slotBytes(t, f, src), src.data) {
		t.Fatal("the slot holds other bytes")
	}
	// A third run finds the slot complete and fetches nothing.
	s.State.Close()
	src.served = 0
	s, _ = newSlot(t, dir, src)
	if n, proof, err := s.Fill(t.Context(), src.open); err != nil || n != 0 || src.served != 0 || proof.Check(src.desc) != nil {
		t.Fatalf("complete slot: fetched %d (%d served), proof %v, %v", n, src.served, proof.Check(src.desc), err)
	}
}

// TestFillCancelled: a cancelled context stops the copy and checkpoints
// the exact byte reached.
func TestFillCancelled(t *testing.T) {
	src := newSource(3*Interval, 2)
	s, _ := newSlot(t, t.TempDir(), src)
	ctx, cancel := context.WithCancel(t.Context())
	open := func(off int64) (io.ReadCloser, error) {
		rc, err := src.open(off)
		return &cancelAfter{rc, cancel, Interval + 100}, err
	}
	_, _, err := s.Fill(ctx, open)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	if c, ok := s.State.Load(0); !ok || c.N != src.served {
		t.Fatalf("checkpoint %+v after %d bytes served", c, src.served)
	}
}

type cancelAfter struct {
	io.ReadCloser
	cancel func()
	after  int64
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if c.after -= int64(n); c.after <= 0 {
		c.cancel()
	}
	return n, err
}

// TestFillDetectsDamage: bytes changed on disk between runs, before the
// checkpoint or in a complete slot, are fetched again; the result is
// verified.
func TestFillDetectsDamage(t *testing.T) {
	for _, complete := range []bool{false, true} {
		src := newSource(4*Interval, 3)
		dir := t.TempDir()
		if !complete {
			src.cutAt = 3 * Interval
		}
		s, f := newSlot(t, dir, src)
		s.Fill(t.Context(), src.open)
		s.State.Close()
		f.WriteAt([]byte{0xde, 0xad}, 512+Interval/2)
		src.cutAt, src.served = 0, 0
		s, f = newSlot(t, dir, src)
		if _, _, err := s.Fill(t.Context(), src.open); err != nil {
			t.Fatal(err)
		}
		if src.served != int64(len(src.data)) || !bytes.Equal(slotBytes(t, f, src), src.data) {
			t.Fatalf("complete %v: served %d of %d after damage", complete, src.served, len(src.data))
		}
	}
}

// TestFillWrongBytesForgetsCheckpoint: content that fails verification
// leaves no checkpoint, so the next run starts from the first byte.
func TestFillWrongBytesForgetsCheckpoint(t *testing.T) {
	src := newSource(2*Interval+5, 4)
	src.desc.Digest = manifest.FromString("something else")
	s, _ := newSlot(t, t.TempDir(), src)
	s.Desc = src.desc
	if _, _, err := s.Fill(t.Context(), src.open); !errors.Is(err, manifest.ErrDigestMismatch) {
		t.Fatalf("%v, want a digest mismatch", err)
	}
	if c, ok := s.State.Load(0); ok {
		t.Fatalf("a checkpoint survived wrong content: %+v", c)
	}
}

// TestFillRefusesUnprovenReaders: a reader partly read before Fill got it,
// one resumed from another offset than asked, and one of the wrong length
// leave no proof and no complete checkpoint: the next run starts over.
func TestFillRefusesUnprovenReaders(t *testing.T) {
	src := newSource(2*Interval+5, 5)
	partly := func(int64) (io.ReadCloser, error) {
		rc := manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(src.data)), src.desc)
		io.ReadFull(rc, make([]byte, 6))
		return rc, nil
	}
	fromZero := func(int64) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(src.data)), nil }
	short := func(off int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(src.data[off : len(src.data)-1])), nil
	}
	for name, tc := range map[string]struct {
		cutAt int64
		open  Open
	}{
		"partly read":             {0, partly},
		"resumed from byte 0":     {Interval + 3, fromZero},
		"one byte short":          {0, short},
		"one byte short, resumed": {Interval + 3, short},
	} {
		dir := t.TempDir()
		src.cutAt = tc.cutAt
		s, _ := newSlot(t, dir, src)
		if tc.cutAt > 0 {
			s.Fill(t.Context(), src.open)
			if c, ok := s.State.Load(0); !ok || c.N == 0 {
				t.Fatalf("%s: no checkpoint to resume from", name)
			}
		}
		src.cutAt = 0
		_, proof, err := s.Fill(t.Context(), tc.open)
		if !errors.Is(err, manifest.ErrSizeMismatch) || proof != (manifest.Verified{}) {
			t.Errorf("%s: %v, want a size mismatch and no proof", name, err)
		}
		if c, ok := s.State.Load(0); ok {
			t.Errorf("%s: a checkpoint at %d survived", name, c.N)
		}
	}
}
