package layout

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/internal/safefile"
	"github.com/skiffoci/skiff/manifest"
)

var (
	_ manifest.RangeFetcher   = (*Layout)(nil)
	_ manifest.RangeFetcher   = (*Reader)(nil)
	_ manifest.ResumingPusher = (*Layout)(nil)
)

// FetchFrom returns the bytes of the blob desc names from offset on, not
// verified (manifest.RangeFetcher).
func (r *Reader) FetchFrom(ctx context.Context, desc manifest.Descriptor, offset int64) (io.ReadCloser, error) {
	rc, err := r.Fetch(ctx, desc)
	if err != nil || offset == 0 {
		return rc, err
	}
	if s, ok := rc.(io.Seeker); ok {
		if _, err := s.Seek(offset, io.SeekStart); err != nil {
			rc.Close()
			return nil, fmt.Errorf("layout: blob %s: %w", desc.Digest, err)
		}
		return &unverified{rc}, nil
	}
	rc.Close()
	return manifest.FetchFrom(ctx, fetchOnly{r}, desc, offset)
}

// unverified hides what the reader it wraps verifies: read from an
// offset, it no longer yields the whole content.
type unverified struct{ rc io.ReadCloser }

func (u *unverified) Read(p []byte) (int, error) { return u.rc.Read(p) }
func (u *unverified) Close() error               { return u.rc.Close() }

// fetchOnly hides FetchFrom, so manifest.FetchFrom falls back to Fetch.
type fetchOnly struct{ r *Reader }

func (f fetchOnly) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	return f.r.Fetch(ctx, desc)
}

// FetchFrom is [Reader.FetchFrom].
func (l *Layout) FetchFrom(ctx context.Context, desc manifest.Descriptor, offset int64) (io.ReadCloser, error) {
	return l.r.FetchFrom(ctx, desc, offset)
}

// PushResumable stores the blob desc names as Push does, continuing an
// earlier PushResumable of the same blob that was interrupted (an error,
// a cancelled ctx, a killed process): its bytes wait in
// blobs/ALG/.HEX.skiff-partial, with checkpoints in .HEX.skiff-state,
// and are hashed again and kept as far as they still match. open is
// called with the offset to continue from. When another process is
// writing the same blob, it pushes from the first byte under a name of
// its own. See RemovePartials for what removes partial blobs.
func (l *Layout) PushResumable(ctx context.Context, desc manifest.Descriptor, open func(offset int64) (io.ReadCloser, error)) error {
	dir, have, err := l.blobDir(ctx, desc)
	if err != nil || have {
		return err
	}
	d := l.d
	final := path.Join(dir, desc.Digest.Hex())
	data, state := resume.Names(final)
	st, err := resume.OpenState(d, state, sha256.Sum256([]byte(fmt.Sprint(desc.Digest, desc.Size))), 1, false)
	if errors.Is(err, resume.ErrLocked) {
		return l.pushOpened(ctx, desc, open)
	}
	if err != nil {
		return fmt.Errorf("layout: push %s: %w", desc.Digest, err)
	}
	if err := l.fillPartial(ctx, d, st, data, final, desc, open); err != nil {
		st.Close()
		return fmt.Errorf("layout: push %s: %w", desc.Digest, err)
	}
	st.Remove()
	return nil
}

// pushOpened is Push from open(0).
func (l *Layout) pushOpened(ctx context.Context, desc manifest.Descriptor, open func(int64) (io.ReadCloser, error)) error {
	rc, err := open(0)
	if err != nil {
		return err
	}
	defer rc.Close()
	return l.Push(ctx, desc, rc)
}

// fillPartial writes the blob into the partial file data of the layout
// in d and, once a proof says it is whole and verified, renames it to
// final.
func (l *Layout) fillPartial(ctx context.Context, d *safefile.Dir, st *resume.State, data, final string, desc manifest.Descriptor, open func(int64) (io.ReadCloser, error)) (err error) {
	f, err := resume.OpenPartial(d, data, 0o644, -1, !st.Fresh())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	slot := &resume.Slot{File: f, Desc: desc, State: st}
	release, err := l.ranges.set(ctx, slot)
	if err != nil {
		return err
	}
	_, proof, err := slot.Fill(ctx, open)
	release()
	if err == nil {
		err = proof.Check(desc)
	}
	if err != nil {
		return err
	}
	if err := f.Truncate(desc.Size); err != nil {
		return err
	}
	if l.SyncBlobs {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return d.Commit(data, final, l.SyncBlobs)
}

// RangeOptions say how PushResumable fetches large blobs in ranges; see
// FetchRanges. The zero value is the defaults.
type RangeOptions struct {
	// Min is the least size of a blob fetched in ranges; zero means
	// 32 MiB, negative never.
	Min int64
	// Jobs bounds the connections of the pushes running at once: each
	// holds one, and a ranged blob borrows those left, range by range
	// (skiff's -j); zero means 4.
	Jobs int
	// Progress, if set, receives the events of the blobs fetched in
	// ranges: their bytes do not pass through open's readers.
	Progress func(manifest.Event)
}

// FetchRanges makes PushResumable fetch the blobs it stores from src,
// when src serves bounded byte ranges (registry.Repository does), as
// several ranges at once, each written at its offset into the partial
// blob and hashed in order as the bytes without a gap grow: a blob of at
// least opts.Min bytes, over as many connections as raise the
// throughput, within opts.Jobs. open is then called only for what src
// cannot serve in ranges. Every blob pushed must be one of src's. Call it
// before the layout is used; a nil src turns ranges off.
func (l *Layout) FetchRanges(src manifest.Fetcher, opts *RangeOptions) {
	rf, ok := src.(resume.RangeFetcher)
	if !ok || opts != nil && opts.Min < 0 {
		l.ranges = nil
		return
	}
	if opts == nil {
		opts = &RangeOptions{}
	}
	l.ranges = &ranges{src: rf, opts: *opts, conns: resume.NewConns(cmp.Or(opts.Jobs, 4))}
}

// ranges is what FetchRanges set.
type ranges struct {
	src   resume.RangeFetcher
	opts  RangeOptions
	conns *resume.Conns
}

// set makes slot fetch in ranges, holding one of the connections until
// release is called. The caller of PushResumable reports the blob done.
func (g *ranges) set(ctx context.Context, slot *resume.Slot) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	if err := g.conns.Acquire(ctx); err != nil {
		return nil, err
	}
	slot.Ranges, slot.RangeMin, slot.Conns = g.src, g.opts.Min, g.conns
	if progress, desc := g.opts.Progress, slot.Desc; slot.Ranged() && progress != nil {
		progress(manifest.Event{Desc: desc, State: manifest.StateStart})
		slot.Progress = func(n int64) { progress(manifest.Event{Desc: desc, State: manifest.StateProgress, Bytes: n}) }
	}
	return g.conns.Release, nil
}

// RemovePartials removes the partial blobs that interrupted pushes left in
// the layout and that were last written more than maxAge ago (every one
// with maxAge 0), except those another process is writing now. It returns
// the names of the files removed. skiff calls it with 7 days before a copy
// into a layout and with 0 after one succeeds.
func (l *Layout) RemovePartials(maxAge time.Duration) ([]string, error) {
	d := l.d
	algs, err := fs.ReadDir(d.Root().FS(), BlobsDir)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	var removed []string
	for _, a := range algs {
		if !a.IsDir() {
			continue
		}
		names, err := resume.Sweep(d, path.Join(BlobsDir, a.Name()), maxAge)
		removed = append(removed, names...)
		if err != nil {
			return removed, fmt.Errorf("layout: %w", err)
		}
	}
	return removed, nil
}
