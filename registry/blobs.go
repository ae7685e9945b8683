package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// maxResumes bounds how often one blob download is resumed after a cut.
const maxResumes = 8

// Fetch returns the content desc names: a manifest or index from
// /manifests/ (or from memory, when FetchManifest just read it), anything
// else from /blobs/. The reader verifies size and
// digest as it streams (never reading past the descriptor's size), and
// resumes a blob download cut short with a Range request, accepting only
// a 206 that continues where the bytes stopped, or a 200 whose first
// bytes it skips. With Client.Ranges, a large blob whose one stream turns
// out to be slower than its reader goes on as several ranges at once,
// read in order (see Ranges).
func (r *Repository) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	if raw, ok := r.recent.get(desc.Digest); ok && isManifestDesc(desc) {
		return manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(raw)), desc), nil
	}
	if r.sources != nil {
		return r.sources.fetch(ctx, desc)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	if isManifestDesc(desc) {
		return r.fetchManifestDesc(ctx, desc)
	}
	br, err := r.openBlob(ctx, desc)
	if err != nil {
		return nil, err
	}
	if rc, ok := r.fetchRanged(ctx, desc, br); ok {
		return rc, nil
	}
	return manifest.VerifyReadCloser(br, br.desc), nil
}

// openBlob starts a blob's download in one stream; its bytes are not
// verified yet. The returned reader's desc has the size the response
// gave, when desc had none.
func (r *Repository) openBlob(ctx context.Context, desc manifest.Descriptor) (*blobReader, error) {
	resp, err := r.getBlob(ctx, desc.Digest, 0)
	if err != nil {
		return nil, err
	}
	if desc.Size == manifest.SizeUnknown && resp.ContentLength >= 0 {
		desc.Size = resp.ContentLength // the digest still decides
	}
	if resp.ContentLength >= 0 && resp.ContentLength != desc.Size {
		closeBody(resp)
		return nil, fmt.Errorf("registry: blob %s: %w: Content-Length %d, descriptor says %d", desc.Digest, manifest.ErrSizeMismatch, resp.ContentLength, desc.Size)
	}
	return &blobReader{ctx: ctx, repo: r, desc: desc, body: resp.Body, req: resp.Request}, nil
}

// FetchFrom returns the bytes of desc's blob from offset on, so that an
// interrupted transfer continues where it stopped (manifest.RangeFetcher):
// it asks with Range and accepts a 206 only when its Content-Range starts
// at offset, or a 200, whose first offset bytes it skips. A connection cut
// on the way is resumed as in Fetch. The bytes are not verified here: the
// caller checks them together with the ones before offset
// (manifest.NewResumedVerifier). From offset 0 it is Fetch.
func (r *Repository) FetchFrom(ctx context.Context, desc manifest.Descriptor, offset int64) (io.ReadCloser, error) {
	if offset == 0 {
		return r.Fetch(ctx, desc)
	}
	if r.sources != nil {
		return r.sources.fetchFrom(ctx, desc, offset)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	if offset == desc.Size && !isManifestDesc(desc) {
		return http.NoBody, nil
	}
	if isManifestDesc(desc) || desc.Size < 0 || offset < 0 || offset > desc.Size {
		return manifest.FetchFrom(ctx, manifestOnly{r}, desc, offset) // small: fetched whole, then skipped
	}
	br := &blobReader{ctx: ctx, repo: r, desc: desc, body: http.NoBody, n: offset}
	if err := br.resume(); err != nil {
		return nil, fmt.Errorf("registry: blob %s from byte %d: %w", desc.Digest, offset, err)
	}
	br.resumes = 0
	return br, nil
}

// manifestOnly hides FetchFrom, so manifest.FetchFrom falls back to Fetch.
type manifestOnly struct{ r *Repository }

func (m manifestOnly) Fetch(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	return m.r.Fetch(ctx, desc)
}

// fetchManifestDesc reads a manifest of up to MaxManifestSize whole, so
// that one whose body stalls is fetched again; a larger one streams.
func (r *Repository) fetchManifestDesc(ctx context.Context, desc manifest.Descriptor) (io.ReadCloser, error) {
	if desc.Size >= 0 && desc.Size <= manifest.MaxManifestSize {
		_, raw, err := r.readManifest(ctx, string(desc.Digest), manifest.MaxManifestSize)
		if err != nil {
			return nil, err
		}
		return manifest.VerifyReadCloser(io.NopCloser(bytes.NewReader(raw)), desc), nil
	}
	resp, err := r.getManifest(ctx, string(desc.Digest))
	if err != nil {
		return nil, err
	}
	return manifest.VerifyReadCloser(resp.Body, desc), nil
}

// getBlob asks for the blob from offset on; from 0 it wants a 200, past 0
// a 206 whose Content-Range starts at offset, or a 200 with everything.
func (r *Repository) getBlob(ctx context.Context, d manifest.Digest, offset int64) (*http.Response, error) {
	req, err := r.newRequest(ctx, http.MethodGet, "blobs/"+string(d), nil)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		return r.send(req, http.StatusPartialContent, http.StatusOK)
	}
	return r.send(req, http.StatusOK)
}

// blobReader reads a blob's body and, when the connection breaks, asks
// for the rest with a Range request. A 206 must start exactly where the
// bytes stopped; a 200 is read past the bytes already delivered.
type blobReader struct {
	ctx     context.Context
	repo    *Repository
	desc    manifest.Descriptor
	body    io.ReadCloser
	req     *http.Request // the request body answers, to name in errors
	n       int64
	resumes int
}

func (b *blobReader) Read(p []byte) (int, error) {
	for {
		n, err := b.body.Read(p)
		b.n += int64(n)
		if err == nil || err == io.EOF || n > 0 {
			if err != nil && err != io.EOF && n > 0 {
				err = nil // report the bytes now, resume on the next Read
			}
			return n, err
		}
		if !b.resumable(err) {
			if b.resumes >= maxResumes {
				return 0, fmt.Errorf("registry: blob %s cut at byte %d, giving up after %d resumes: %w", b.desc.Digest, b.n, b.resumes, err)
			}
			return 0, newRequestError(b.req, err)
		}
		if rerr := b.resume(); rerr != nil {
			return 0, fmt.Errorf("registry: blob %s cut at byte %d (%v), resume failed: %w", b.desc.Digest, b.n, err, rerr)
		}
	}
}

func (b *blobReader) resumable(err error) bool {
	return b.ctx.Err() == nil && b.resumes < maxResumes && b.n < b.desc.Size &&
		(retryableError(err) || errors.Is(err, io.ErrUnexpectedEOF))
}

func (b *blobReader) resume() error {
	b.resumes++
	b.body.Close()
	b.body = io.NopCloser(strings.NewReader(""))
	resp, err := b.repo.getBlob(b.ctx, b.desc.Digest, b.n)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK {
		// The whole blob again: skip what was delivered (RELIABILITY #33).
		if _, err := io.CopyN(io.Discard, resp.Body, b.n); err != nil {
			resp.Body.Close()
			return err
		}
		b.body, b.req = resp.Body, resp.Request
		return nil
	}
	start, err := contentRangeStart(resp.Header.Get("Content-Range"), b.desc.Size)
	if err != nil || start != b.n {
		resp.Body.Close()
		return fmt.Errorf("206 with Content-Range %q does not continue at %d", resp.Header.Get("Content-Range"), b.n)
	}
	b.body, b.req = resp.Body, resp.Request
	return nil
}

func (b *blobReader) Close() error { return b.body.Close() }

// contentRangeStart parses "bytes a-b/size" and returns a, checking that
// b is the last byte and size (when not "*") the full size.
func contentRangeStart(v string, size int64) (int64, error) {
	a, z, total, err := parseContentRange(v)
	if err != nil || z != size-1 {
		return 0, fmt.Errorf("malformed Content-Range %q", v)
	}
	if total != "*" && total != strconv.FormatInt(size, 10) {
		return 0, fmt.Errorf("Content-Range %q: wrong total size", v)
	}
	return a, nil
}

// Exists reports whether the repository has the blob or manifest desc
// names, with a HEAD request.
func (r *Repository) Exists(ctx context.Context, desc manifest.Descriptor) (bool, error) {
	if err := desc.Digest.Validate(); err != nil {
		return false, err
	}
	kind := "blobs/"
	if isManifestDesc(desc) {
		kind = "manifests/"
	}
	req, err := r.newRequest(ctx, http.MethodHead, kind+string(desc.Digest), nil)
	if err != nil {
		return false, err
	}
	if kind == "manifests/" {
		req.Header.Set("Accept", acceptManifests)
	}
	resp, err := r.client.do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, newError(resp)
}
