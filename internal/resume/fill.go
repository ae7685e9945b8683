package resume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// Interval is how many bytes of a blob are written between two
// checkpoints: what a killed transfer may have to fetch again, per blob
// in flight. A checkpoint is one small write.
const Interval = 1 << 20

// File is what blobs are written into: a tarball with a slot per blob, or
// a blob file of its own.
type File interface {
	io.ReaderAt
	io.WriterAt
}

// Slot is where one blob goes: Desc.Size bytes of File from Offset, with
// its checkpoint kept as number Index of State.
type Slot struct {
	File   File
	Offset int64
	Desc   manifest.Descriptor
	State  *State
	Index  int

	// Ranges, if set, serves bounded ranges of the blob: Fill then fetches
	// a blob of at least RangeMin bytes as several ranges at once (see
	// RangeFetcher), and uses open only for a source that serves none.
	Ranges RangeFetcher
	// RangeMin is the least size of a blob fetched in ranges; zero means
	// DefaultRangeMin, negative never.
	RangeMin int64
	// Conns bounds the connections of every slot of the transfer; the
	// caller of Fill holds one for the slot, and ranges borrow more.
	Conns *Conns
	// Progress, if set, is called with how many of the blob's bytes are
	// on disk as ranges write them, from several goroutines. (A stream
	// from open reports its own progress, if it does.)
	Progress func(int64)
}

// Open returns a blob's content from offset on; from 0 it may verify, as
// Fetch does.
type Open func(offset int64) (io.ReadCloser, error)

// Fill writes the slot's blob, verified, continuing from its checkpoint
// when the bytes on disk still hash to it, and fetching the rest with
// open, or in ranges (see Ranges). It returns how many bytes it fetched,
// and the proof that the slot holds the blob, which the caller checks
// before it counts the slot complete. On a failure that can be resumed it
// saves a checkpoint at the last byte written; when the content itself is
// wrong it forgets the slot's checkpoint.
func (s *Slot) Fill(ctx context.Context, open Open) (int64, manifest.Verified, error) {
	if s.Ranged() {
		return s.fillRanges(ctx, open)
	}
	offset, prefix, err := s.Resumable()
	if err != nil {
		return 0, manifest.Verified{}, err
	}
	if offset == s.Desc.Size && prefix != nil {
		// Whole on disk already: the proof is its hash, with nothing to read.
		proof, err := verify(s.Desc, prefix)
		return 0, proof, err
	}
	return s.stream(ctx, open, offset, prefix)
}

// Ranged reports whether Fill fetches the slot's blob in ranges.
func (s *Slot) Ranged() bool { return s.Ranges != nil && s.Desc.Size >= s.rangeMin() }

func (s *Slot) rangeMin() int64 {
	switch {
	case s.RangeMin < 0:
		return 1<<63 - 1
	case s.RangeMin == 0:
		return DefaultRangeMin
	}
	return s.RangeMin
}

// stream fetches the blob from offset on in one stream from open; prefix
// holds the hash of the bytes before offset.
func (s *Slot) stream(ctx context.Context, open Open, offset int64, prefix *manifest.Digester) (int64, manifest.Verified, error) {
	rc, err := open(offset)
	if err != nil {
		return 0, manifest.Verified{}, err // the checkpoint on disk stands
	}
	defer rc.Close()
	var v *manifest.Verifier
	if offset == 0 {
		v = manifest.NewVerifier(rc, s.Desc)
	} else {
		v = manifest.NewResumedVerifier(rc, s.Desc, prefix, offset)
	}
	n, err := s.copy(ctx, v, offset)
	if err == nil {
		proof, err := v.Verified()
		return n, proof, err
	}
	if errors.Is(err, manifest.ErrDigestMismatch) || errors.Is(err, manifest.ErrSizeMismatch) {
		return n, manifest.Verified{}, errors.Join(err, s.State.Clear(s.Index))
	}
	return n, manifest.Verified{}, err
}

// Resumable returns how many leading bytes of the slot still match its
// checkpoint, and a digester holding them (nil at 0). A complete slot
// whose bytes hash to the descriptor's digest returns its size.
func (s *Slot) Resumable() (int64, *manifest.Digester, error) {
	c, d, err := s.load()
	if err != nil || d == nil || c.N == 0 {
		return 0, nil, err
	}
	return c.N, d, nil
}

// load returns the slot's checkpoint and a digester holding its first c.N
// bytes, when those bytes still hash to it; a nil digester otherwise.
func (s *Slot) load() (Checkpoint, *manifest.Digester, error) {
	c, ok := s.State.Load(s.Index)
	if !ok || c.N < 0 || c.N > s.Desc.Size {
		return Checkpoint{}, nil, nil
	}
	d := manifest.NewDigester(s.Desc.Digest.Algorithm())
	if d == nil {
		return Checkpoint{}, nil, nil
	}
	if _, err := io.Copy(d, io.NewSectionReader(s.File, s.Offset, c.N)); err != nil {
		return Checkpoint{}, nil, fmt.Errorf("resume: rereading %s: %w", s.Desc.Digest, err)
	}
	state, err := d.MarshalBinary()
	if err != nil || !bytes.Equal(state, c.State) {
		return Checkpoint{}, nil, nil // damaged since: fetch it all again
	}
	if c.N == s.Desc.Size && d.Digest() != s.Desc.Digest {
		return Checkpoint{}, nil, nil
	}
	return c, d, nil
}

// copy writes r into the slot from offset on, saving a checkpoint every
// Interval bytes and one at the end, whatever ended it.
func (s *Slot) copy(ctx context.Context, r io.Reader, offset int64) (int64, error) {
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	pos, saved := offset, offset
	for {
		if err := ctx.Err(); err != nil {
			return pos - offset, s.checkpoint(r, err)
		}
		n, rerr := fillBuf(r, *buf)
		if n > 0 {
			if _, err := s.File.WriteAt((*buf)[:n], s.Offset+pos); err != nil {
				return pos - offset, fmt.Errorf("resume: writing %s: %w", s.Desc.Digest, err) // unsaved: the last checkpoint stands
			}
			pos += int64(n)
		}
		switch {
		case rerr == io.EOF:
			return pos - offset, s.checkpoint(r, nil)
		case rerr != nil:
			return pos - offset, s.checkpoint(r, rerr)
		case pos-saved >= Interval:
			if err := s.checkpoint(r, nil); err != nil {
				return pos - offset, err
			}
			saved = pos
		}
	}
}

// checkpoint saves where r is (every byte it returned is written), and
// returns cause, or the failure to save.
func (s *Slot) checkpoint(r io.Reader, cause error) error {
	if errors.Is(cause, manifest.ErrDigestMismatch) || errors.Is(cause, manifest.ErrSizeMismatch) {
		return cause
	}
	n, state, ok := manifest.HashState(r)
	if !ok {
		return errors.Join(cause, fmt.Errorf("resume: %s: the reader keeps no hash state", s.Desc.Digest))
	}
	return errors.Join(cause, s.State.Save(s.Index, Checkpoint{N: n, State: state}))
}

// bufSize is the size of copy's buffers. A read from a socket returns what
// has arrived, often less than half of 256 KiB on loopback; gathering
// 512 KiB before each write halves the pwrite calls of a pull, and with
// them the runtime's hand-offs of a P blocked in a long system call (a
// pull of the 470 MiB bench image: 5% less wall and 9% less CPU than
// writing each read, hyperfine; a 1 MiB buffer is no faster and adds
// 2.5 MiB of peak RSS with four blobs in flight).
const bufSize = 512 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// fillBuf reads from r until buf is full or r fails (io.EOF included), so
// that each write of copy is large.
func fillBuf(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
