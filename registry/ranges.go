package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/internal/resume"
	"github.com/skiffoci/skiff/manifest"
)

// FetchRange returns the bytes [start, end) of the blob desc names, asked
// for with one bounded request (Range: bytes=start-(end-1), never an
// open-ended one), so that a caller can fetch parts of a large blob over
// several connections at once (tarball.WriteFile, layout.Layout.FetchRanges
// and Fetch with Client.Ranges do). The bytes are not verified here: the caller hashes them in order
// with the rest of the blob. A body cut short is continued, as Fetch
// continues one, with a bounded Range for the rest of the span.
//
// The answer must be a 206 whose Content-Range names exactly the bytes
// asked for. A registry or redirect target that ignores Range (a 200) or
// answers for other bytes of the blob is of no use for ranges: the error
// then matches errors.ErrUnsupported, the repository asks no more ranges
// of its blobs, and FetchFrom (one stream) is the way to go on. But a 200
// to a range from byte 0 is the whole blob, which the caller would fetch
// next: rather than send it twice, the reader yields all of it, and its
// method Whole reports true. A Content-Range that names another total
// size, a 416, and any other status are errors. A repository with mirrors
// (Client.Mirrors) serves no ranges.
func (r *Repository) FetchRange(ctx context.Context, desc manifest.Descriptor, start, end int64) (io.ReadCloser, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	if isManifestDesc(desc) || desc.Size < 0 || start < 0 || start >= end || end > desc.Size {
		return nil, fmt.Errorf("registry: blob %s: no range [%d, %d) of %d bytes", desc.Digest, start, end, desc.Size)
	}
	if r.sources != nil || r.noRanges.Load() {
		return nil, fmt.Errorf("registry: blob %s: %w: ranges are not served here", desc.Digest, errors.ErrUnsupported)
	}
	rr := &rangeReader{ctx: ctx, repo: r, desc: desc, pos: start, end: end, body: http.NoBody}
	if err := rr.open(); err != nil {
		return nil, err
	}
	return rr, nil
}

// Ranges says how Fetch reads a blob of at least Min bytes (Client.Ranges).
// It starts as one stream, and times it: when the reader waited at least
// half the time, in both halves of a fifth of a second, for bytes that
// came at less than 100 MB/s (one connection held back by its window or a
// CDN's cap), the rest of the blob comes as ranges of 2 MiB over 4
// connections at once, into at most 6.5 MiB of memory beyond what the
// reader took, which the reader gets in order and verifies as it would
// one stream. From a registry faster than the reader (an upload to a
// registry as near as the source), the one stream is all there is: no
// request, copy or memory more. Ranges pay where one connection to the
// registry is slower than the reader: a copy from a registry behind a
// long link or a CDN that caps each connection, into one that is near.
// Ranges that carry less than 1.75 times what the one stream did give way
// to one stream again; a registry that ignores Range keeps its one stream
// to the end.
type Ranges struct {
	// Min is the least size of a blob that may switch to ranges; zero
	// means 32 MiB.
	Min int64
	// Conns bounds the connections that the ranges of all the blobs
	// being read borrow, beyond the one each blob has (skiff gives it
	// -j); zero means 4.
	Conns int
}

// fetchRanged returns the reader of a blob Fetch may read in ranges, when
// Client.Ranges says it should: head, its one stream, until it proves
// too slow.
func (r *Repository) fetchRanged(ctx context.Context, desc manifest.Descriptor, head io.ReadCloser) (io.ReadCloser, bool) {
	c := r.client
	if c.Ranges == nil || desc.Size < cmp.Or(c.Ranges.Min, resume.DefaultRangeMin) || r.noRanges.Load() {
		return nil, false
	}
	open := func(offset int64) (io.ReadCloser, error) {
		if offset == 0 {
			br, err := r.openBlob(ctx, desc)
			if err != nil {
				return nil, err
			}
			return br, nil
		}
		return r.FetchFrom(ctx, desc, offset)
	}
	return manifest.VerifyReadCloser(resume.Stream(ctx, r, desc, head, open, c.conns), desc), true
}

// getRange asks for bytes [start, end) of the blob and returns the body
// of a 206 for exactly those bytes, or, from byte 0, of a 200 (whole).
func (r *Repository) getRange(ctx context.Context, desc manifest.Descriptor, start, end int64) (body io.ReadCloser, whole bool, err error) {
	req, err := r.newRequest(ctx, http.MethodGet, "blobs/"+string(desc.Digest), nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, end-1))
	resp, err := r.send(req, http.StatusPartialContent, http.StatusOK)
	if err != nil {
		return nil, false, err
	}
	whole = resp.StatusCode == http.StatusOK && start == 0
	if whole {
		r.noRanges.Store(true)
		err = checkLength(resp, desc.Size)
	} else {
		err = r.checkRange(resp, desc, start, end)
	}
	if err != nil {
		resp.Body.Close() // not drained: the connection goes, the rest of a 200 with it
		return nil, false, fmt.Errorf("registry: blob %s, bytes %d-%d: %w", desc.Digest, start, end-1, err)
	}
	return resp.Body, whole, nil
}

// checkRange accepts a 206 for bytes [start, end) of a blob of desc.Size
// bytes. A 200 or a 206 for other bytes mark the repository as one that
// serves no ranges.
func (r *Repository) checkRange(resp *http.Response, desc manifest.Descriptor, start, end int64) error {
	if resp.StatusCode == http.StatusOK {
		r.noRanges.Store(true)
		return fmt.Errorf("%w: %s answered 200, the whole blob, to a Range request", errors.ErrUnsupported, resp.Request.URL.Host)
	}
	cr := resp.Header.Get("Content-Range")
	first, last, total, err := parseContentRange(cr)
	switch {
	case err == nil && total != "*" && total != strconv.FormatInt(desc.Size, 10):
		return fmt.Errorf("Content-Range %q: wrong total size, the blob has %d bytes", cr, desc.Size)
	case err != nil || first != start || last != end-1:
		r.noRanges.Store(true)
		return fmt.Errorf("%w: %s answered Content-Range %q", errors.ErrUnsupported, resp.Request.URL.Host, truncate(cr, 80))
	}
	return checkLength(resp, end-start)
}

// checkLength fails a response whose Content-Length is not n.
func checkLength(resp *http.Response, n int64) error {
	if resp.ContentLength >= 0 && resp.ContentLength != n {
		return fmt.Errorf("%w: Content-Length %d for %d bytes", manifest.ErrSizeMismatch, resp.ContentLength, n)
	}
	return nil
}

// parseContentRange parses "bytes first-last/total", where total is a
// number or "*".
func parseContentRange(v string) (first, last int64, total string, err error) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	span, total, ok2 := strings.Cut(rest, "/")
	a, z, ok3 := strings.Cut(span, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, "", fmt.Errorf("malformed Content-Range %q", truncate(v, 80))
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(z, 10, 64)
	_, err3 := strconv.ParseUint(total, 10, 63)
	if err1 != nil || err2 != nil || first < 0 || first > last || total != "*" && err3 != nil {
		return 0, 0, "", fmt.Errorf("malformed Content-Range %q", truncate(v, 80))
	}
	return first, last, total, nil
}

// rangeReader reads one span of a blob and, when the connection breaks,
// asks for the rest of the span with another bounded Range request.
type rangeReader struct {
	ctx      context.Context
	repo     *Repository
	desc     manifest.Descriptor
	pos, end int64 // the next byte to return; the end of the span
	body     io.ReadCloser
	resumes  int
	whole    bool // a 200 from byte 0: the span is the whole blob
}

// open asks for the rest of the span; the first time, a 200 for a span
// from byte 0 makes the span the whole blob.
func (b *rangeReader) open() error {
	b.body.Close()
	b.body = http.NoBody
	body, whole, err := b.repo.getRange(b.ctx, b.desc, b.pos, b.end)
	if err != nil {
		return err
	}
	if whole && b.resumes == 0 {
		b.whole, b.end = true, b.desc.Size
	} else if whole {
		body.Close()
		return fmt.Errorf("registry: blob %s: %w: a range from byte 0 answered with 200 after a cut", b.desc.Digest, errors.ErrUnsupported)
	}
	b.body = body
	return nil
}

// Whole reports whether the reader yields the whole blob rather than
// the range asked for: the registry answered a range from byte 0 with
// 200.
func (b *rangeReader) Whole() bool { return b.whole }

func (b *rangeReader) Read(p []byte) (int, error) {
	for {
		if b.pos >= b.end {
			return 0, io.EOF
		}
		if rest := b.end - b.pos; int64(len(p)) > rest {
			p = p[:rest]
		}
		n, err := b.body.Read(p)
		b.pos += int64(n)
		if n > 0 {
			return n, nil // an error shows again on the next Read
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // short of the span's end
		}
		if b.ctx.Err() != nil || b.resumes >= maxResumes || !(retryableError(err) || errors.Is(err, io.ErrUnexpectedEOF)) {
			return 0, fmt.Errorf("registry: blob %s cut at byte %d of the range ending at %d, after %d resumes: %w", b.desc.Digest, b.pos, b.end-1, b.resumes, err)
		}
		b.resumes++
		if rerr := b.open(); rerr != nil {
			return 0, fmt.Errorf("registry: blob %s cut at byte %d (%v), resume failed: %w", b.desc.Digest, b.pos, err, rerr)
		}
	}
}

func (b *rangeReader) Close() error { return b.body.Close() }
