package tarball

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

// WriteFile writes a tarball of images to the file at path, fetching up to
// opts.Jobs blobs at a time into their slots (see Plan.WriteAt). Nothing
// appears under path until the whole tarball is written and verified (and,
// with opts.Sync, flushed): it is built in ".NAME.skiff-partial" beside
// path, renamed over path at the end; on error path is left as it was.
//
// An interrupted WriteFile (an error, a cancelled ctx, a killed process,
// a power cut) keeps the partial file and a small ".NAME.skiff-state" of
// checkpoints, so that the next WriteFile of the same images to the same
// path continues where it stopped: blobs complete on disk are hashed
// again instead of fetched, and a blob cut short is fetched from its last
// checkpoint (with manifest.FetchFrom), after the bytes before it are
// hashed again and found unchanged. A WriteFile of other images to path
// starts over, as does opts.Fresh. The partial file is as large as the
// tarball (sparse where no blob arrived yet). A successful WriteFile
// removes both files, and any other partial files in the directory older
// than opts.PartialMaxAge. Two processes cannot write one path at once:
// the second fails with an error naming the state file. The partial names
// are skiff's own: whatever else is found under them (a symbolic link,
// another user's file) is removed, never followed or written through.
func WriteFile(ctx context.Context, path string, images []Entry, opts *WriteOptions) (err error) {
	p, err := NewPlan(images, opts)
	if err != nil {
		return err
	}
	d, err := safefile.OpenDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("tarball: writing %s: %w", path, err)
	}
	defer d.Close()
	base := filepath.Base(path)
	data, state := resume.Names(base)
	if opts.maxAge() >= 0 {
		resume.Sweep(d, ".", opts.maxAge(), data)
	}
	st, err := resume.OpenState(d, state, p.fingerprint(), p.fetchedCount(), opts != nil && opts.Fresh)
	if err != nil {
		return fmt.Errorf("tarball: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	f, err := resume.OpenPartial(d, data, 0o666, p.Size, !st.Fresh())
	if err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	if err = p.resumeAt(ctx, f, st, opts); err == nil && opts != nil && opts.Sync {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	if err = d.Commit(data, base, opts != nil && opts.Sync); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	st.Remove()
	return nil
}

// maxAge is how old other partial files may grow before WriteFile removes
// them; negative means never.
func (o *WriteOptions) maxAge() time.Duration {
	if o == nil || o.PartialMaxAge == 0 {
		return resume.DefaultMaxAge
	}
	return o.PartialMaxAge
}

// resumeAt is WriteAt into a partial file whose slots may hold blobs, or
// parts of blobs, written by an earlier run, as st's checkpoints say.
func (p *Plan) resumeAt(ctx context.Context, f *os.File, st *resume.State, opts *WriteOptions) error {
	if err := p.writeFixed(f); err != nil {
		return err
	}
	conns := resume.NewConns(opts.jobs())
	return p.fillBlobs(ctx, opts.jobs(), func(ctx context.Context, n int, e *PlannedFile) (manifest.Verified, error) {
		slot := &resume.Slot{File: f, Offset: e.Offset, Desc: e.Blob, State: st, Index: n}
		proof, err := e.fill(ctx, slot, conns, p.progress.Func(), opts)
		if err != nil {
			return proof, fmt.Errorf("tarball: writing %s: %w", e.Name, err)
		}
		return proof, nil
	})
}

// fill fills e's slot, holding one of conns meanwhile: in ranges when
// e's source serves them and the blob is large enough (opts.RangeMin),
// else in one stream from e's source. progress, if not nil, is told of
// the ranges' bytes: the observed source sees only what streams through
// it.
func (e *PlannedFile) fill(ctx context.Context, slot *resume.Slot, conns *resume.Conns, progress func(manifest.Event), opts *WriteOptions) (manifest.Verified, error) {
	if err := conns.Acquire(ctx); err != nil {
		return manifest.Verified{}, err
	}
	defer conns.Release()
	slot.Conns, slot.RangeMin = conns, opts.rangeMin()
	slot.Ranges, _ = e.raw.(resume.RangeFetcher)
	ranged := slot.Ranged() && progress != nil
	if ranged {
		progress(manifest.Event{Desc: e.Blob, State: manifest.StateStart})
		slot.Progress = func(n int64) { progress(manifest.Event{Desc: e.Blob, State: manifest.StateProgress, Bytes: n}) }
	}
	_, proof, err := slot.Fill(ctx, func(off int64) (io.ReadCloser, error) {
		rc, err := manifest.FetchFrom(ctx, e.src, e.Blob, off)
		if err != nil {
			return nil, fmt.Errorf("tarball: fetching %s: %w", e.Blob.Digest, err)
		}
		return rc, nil
	})
	if err == nil && ranged {
		progress(manifest.Event{Desc: e.Blob, State: manifest.StateDone, Bytes: e.Size})
	}
	return proof, err
}

// fingerprint identifies the tarball the plan describes: every entry's
// name, place, size, digest, header and known content.
func (p *Plan) fingerprint() [32]byte {
	h := sha256.New()
	num := func(v int64) { binary.Write(h, binary.LittleEndian, v) }
	num(p.Size)
	for _, e := range p.Files {
		io.WriteString(h, e.Name+"\x00"+string(e.Blob.Digest)+"\x00")
		num(e.HeaderOffset)
		num(e.Offset)
		num(e.Size)
		h.Write(e.header)
		h.Write(e.data)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
