package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/auth"
	"github.com/skiffoci/skiff/manifest"
)

// Chunked uploads: the body is sent in PATCH requests of ChunkSize bytes
// with Content-Range, each chunk held in memory so it can be sent again.
const (
	minChunk       = 64 << 10 // smallest chunk a 413 can shrink to
	maxChunkTries  = 4        // tries of one chunk that make no progress
	maxChunkMemory = 64 << 20 // largest chunk buffered
)

// chunkSize is the chunk length for an upload: the client's setting,
// raised to the registry's OCI-Chunk-Min-Length.
func (r *Repository) chunkSize(minLen int64) int64 {
	return min(max(r.client.ChunkSize, minLen, minChunk), maxChunkMemory)
}

// putChunked sends what v yields to the session at loc in chunks, then
// closes the session with a PUT naming the digest, once v proved it.
func (r *Repository) putChunked(ctx context.Context, loc *url.URL, desc manifest.Descriptor, v *manifest.Verifier, minLen int64) error {
	body := io.Reader(v)
	size := r.chunkSize(minLen)
	for off := int64(0); off < desc.Size; {
		// A fresh buffer each time: the transport may still be reading the
		// last chunk's body after its response arrived (say, an early 413),
		// so a buffer is never refilled.
		buf := make([]byte, min(size, desc.Size-off))
		n, err := io.ReadFull(body, buf)
		if err != nil {
			return fmt.Errorf("registry: uploading %s: reading the source: %w", desc.Digest, err)
		}
		if loc, err = r.sendChunk(ctx, loc, buf[:n], off); err != nil {
			return fmt.Errorf("registry: uploading %s: %w", desc.Digest, err)
		}
		off += int64(n)
	}
	// The source must end here; the Verifier checks the digest.
	if _, err := body.Read(make([]byte, 1)); err != io.EOF {
		return fmt.Errorf("registry: uploading %s: source did not end as its descriptor says: %v", desc.Digest, err)
	}
	return r.putUpload(ctx, loc, desc, v, http.NoBody, 0)
}

// sendChunk sends data, which holds the blob's bytes from start on, and
// returns the session's next location. The registry may keep less than a
// PATCH carried, or answer 416 when it lost track: the next PATCH starts
// wherever the registry says it is, as long as that lies within data. A
// 413 halves the piece sent; a chunk that makes no progress fails after
// maxChunkTries.
func (r *Repository) sendChunk(ctx context.Context, loc *url.URL, data []byte, start int64) (*url.URL, error) {
	end, off, piece := start+int64(len(data)), start, int64(len(data))
	for tries := 0; off < end; {
		n := min(piece, end-off)
		resp, err := r.patch(ctx, loc, data[off-start:off-start+n], off)
		if err != nil {
			return nil, err
		}
		next, at, err := r.afterPatch(ctx, loc, resp, off, n)
		if err != nil {
			return nil, err
		}
		if at < start || at > off+n {
			return nil, fmt.Errorf("registry reports %d bytes received while %d-%d was sent", at, off, off+n-1)
		}
		if at <= off {
			if tries++; tries >= maxChunkTries {
				return nil, fmt.Errorf("upload stuck at byte %d after %d tries: the registry answered %d %s to each PATCH "+
					"without taking its bytes (ECR drops every chunk after the first: push such registries without chunks)",
					off, tries, resp.StatusCode, http.StatusText(resp.StatusCode))
			}
			if resp.StatusCode == http.StatusRequestEntityTooLarge {
				piece = max(piece/2, minChunk)
			}
		} else {
			tries = 0
		}
		off, loc = at, next
	}
	return loc, nil
}

// patch sends one PATCH with chunk at offset off.
func (r *Repository) patch(ctx context.Context, loc *url.URL, chunk []byte, off int64) (*http.Response, error) {
	return r.patchStream(ctx, loc, bytes.NewReader(chunk), off, int64(len(chunk)))
}

// patchStream sends one PATCH with the n bytes of body, which belong at
// offset off.
func (r *Repository) patchStream(ctx context.Context, loc *url.URL, body io.Reader, off, n int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
	resp, err := r.client.do(req)
	if err != nil {
		return nil, err
	}
	closeBody(resp)
	return resp, nil
}

// afterPatch reads a PATCH response: the next location and the offset the
// registry has reached. 202, 204 and ECR's 201 are success; 416 asks the
// session's status; 413 reports no progress.
func (r *Repository) afterPatch(ctx context.Context, loc *url.URL, resp *http.Response, off, n int64) (*url.URL, int64, error) {
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusNoContent, http.StatusCreated:
		next := loc
		if resp.Header.Get("Location") != "" {
			var err error
			if next, err = location(resp); err != nil {
				return nil, 0, err
			}
		}
		at, err := uploadOffset(resp)
		if err != nil || resp.Header.Get("Range") == "" {
			at = off + n // no Range: trust the status
		}
		return next, at, nil
	case http.StatusRequestedRangeNotSatisfiable:
		return r.uploadStatus(ctx, loc)
	case http.StatusRequestEntityTooLarge:
		return loc, off, nil
	}
	return nil, 0, newErrorFromStatus(resp)
}

// uploadStatus asks where the session is (GET on its location).
func (r *Repository) uploadStatus(ctx context.Context, loc *url.URL) (*url.URL, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := r.send(req, http.StatusNoContent, http.StatusOK)
	if err != nil {
		return nil, 0, fmt.Errorf("asking the upload's status after a 416: %w", err)
	}
	closeBody(resp)
	next := loc
	if resp.Header.Get("Location") != "" {
		if next, err = location(resp); err != nil {
			return nil, 0, err
		}
	}
	at, err := uploadOffset(resp)
	return next, at, err
}

// newErrorFromStatus is newError for a response whose body was closed.
func newErrorFromStatus(resp *http.Response) *Error {
	return &Error{Method: resp.Request.Method, URL: auth.RedactURL(resp.Request.URL), Status: resp.StatusCode}
}

// uploadOffset reads the end of an upload's Range header ("0-1023"): the
// next byte to send. A missing header means nothing arrived, and so does
// "0-0": distribution and skiff's server answer it for an empty session
// (and for one byte, which is then sent again: a registry that has it
// answers 416, and the upload starts over).
func uploadOffset(resp *http.Response) (int64, error) {
	v := resp.Header.Get("Range")
	if v == "" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "bytes=")
	_, last, ok := strings.Cut(v, "-")
	end, err := strconv.ParseInt(last, 10, 64)
	if !ok || err != nil || end < -1 {
		return 0, errors.New("registry: malformed upload Range " + strconv.Quote(v))
	}
	if end == 0 {
		return 0, nil
	}
	return end + 1, nil
}

// chunkMinLength reads OCI-Chunk-Min-Length from a POST response.
func chunkMinLength(resp *http.Response) int64 {
	n, err := strconv.ParseInt(resp.Header.Get("OCI-Chunk-Min-Length"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
