package tarball

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// WriteAt writes the planned tarball into w at offsets 0 to p.Size: first
// every header, the content known up front, the padding and the
// end-of-archive marker, then the fetched blobs, up to jobs at a time,
// each straight into its slot. The first failure stops the rest.
func (p *Plan) WriteAt(ctx context.Context, w io.WriterAt, jobs int) error {
	if err := p.writeFixed(w); err != nil {
		return err
	}
	return p.fillBlobs(ctx, w, max(jobs, 1))
}

// writeFixed writes all but the fetched content.
func (p *Plan) writeFixed(w io.WriterAt) error {
	for i := range p.Entries {
		e := &p.Entries[i]
		if _, err := w.WriteAt(e.header, e.HeaderOffset); err != nil {
			return err
		}
		if !e.Fetched() && len(e.data) > 0 {
			if _, err := w.WriteAt(e.data, e.Offset); err != nil {
				return err
			}
		}
		if pad := padding(e.Size); pad > 0 {
			if _, err := w.WriteAt(zeroBlocks[:pad], e.Offset+e.Size); err != nil {
				return err
			}
		}
	}
	_, err := w.WriteAt(zeroBlocks[:trailerSize], p.Size-trailerSize)
	return err
}

// fillBlobs fetches the blobs into their slots with a pool of jobs workers.
func (p *Plan) fillBlobs(ctx context.Context, w io.WriterAt, jobs int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *Entry)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				if err := e.writeContent(ctx, io.NewOffsetWriter(w, e.Offset)); err != nil {
					once.Do(func() { first = err })
					cancel()
				}
			}
		}()
	}
	feedErr := p.feed(ctx, work)
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	return feedErr
}

// feed sends the fetched entries to work until ctx is done.
func (p *Plan) feed(ctx context.Context, work chan<- *Entry) error {
	for i := range p.Entries {
		if !p.Entries[i].Fetched() {
			continue
		}
		select {
		case work <- &p.Entries[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// WriteFile writes a tarball of images to the file at path, fetching up to
// opts.Jobs blobs at a time into their slots (see Plan.WriteAt). The
// tarball is written to a temporary file in the same directory and renamed
// over path only when complete and verified (and, with opts.Sync, flushed
// to stable storage): on error, path is left as it was. To write to a pipe, use Write.
func WriteFile(ctx context.Context, path string, images []Image, opts *WriteOptions) (err error) {
	p, err := NewPlan(images, opts)
	if err != nil {
		return err
	}
	f, err := createTemp(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Truncate(p.Size); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	if err = p.WriteAt(ctx, f, opts.jobs()); err != nil {
		return err
	}
	if opts != nil && opts.Sync {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("tarball: %w", err)
	}
	return nil
}

// createTemp creates a new file next to path, with the usual permissions
// (0666 less the umask), unlike os.CreateTemp's 0600.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		var rnd [6]byte
		rand.Read(rnd[:])
		name := filepath.Join(dir, "."+base+"."+hex.EncodeToString(rnd[:])+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, os.ErrExist) {
			if err != nil {
				return nil, fmt.Errorf("tarball: %w", err)
			}
			return f, nil
		}
	}
	return nil, fmt.Errorf("tarball: cannot create a temporary file next to %s", path)
}
