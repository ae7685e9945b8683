package tarball

import (
	"context"
	"io"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// WriteAt writes the planned tarball into w at offsets 0 to p.Size: first
// every header, the content known up front, the padding and the
// end-of-archive marker, then the fetched blobs, up to jobs at a time,
// each straight into its slot. The first failure stops the rest.
func (p *Plan) WriteAt(ctx context.Context, w io.WriterAt, jobs int) error {
	if err := p.writeFixed(w); err != nil {
		return err
	}
	return p.fillBlobs(ctx, max(jobs, 1), func(ctx context.Context, _ int, e *PlannedFile) (manifest.Verified, error) {
		return e.writeBlob(ctx, io.NewOffsetWriter(w, e.Offset))
	})
}

// writeFixed writes all but the fetched content.
func (p *Plan) writeFixed(w io.WriterAt) error {
	for i := range p.Files {
		e := &p.Files[i]
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
	if _, err := w.WriteAt(zeroBlocks[:trailerSize], p.Size-trailerSize); err != nil {
		return err
	}
	for i := range p.Files {
		p.reportKnown(&p.Files[i])
	}
	return nil
}

// fillBlobs calls fill for every fetched entry, numbered in plan order,
// with a pool of jobs workers; an entry is complete when fill's proof is
// for its blob. The first failure cancels the rest.
func (p *Plan) fillBlobs(ctx context.Context, jobs int, fill func(context.Context, int, *PlannedFile) (manifest.Verified, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan numbered)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				if err := j.e.complete(fill(ctx, j.n, j.e)); err != nil {
					once.Do(func() { first = err })
					cancel()
				} else {
					p.progress.Finish(j.e.Blob) // a slot an earlier run filled
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

// numbered is a fetched entry and its number among the fetched entries.
type numbered struct {
	e *PlannedFile
	n int
}

// feed sends the fetched entries to work until ctx is done.
func (p *Plan) feed(ctx context.Context, work chan<- numbered) error {
	n := 0
	for i := range p.Files {
		if !p.Files[i].Fetched() {
			continue
		}
		select {
		case work <- numbered{&p.Files[i], n}:
			n++
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// fetchedCount is the number of entries fetched when written.
func (p *Plan) fetchedCount() int {
	n := 0
	for i := range p.Files {
		if p.Files[i].Fetched() {
			n++
		}
	}
	return n
}
