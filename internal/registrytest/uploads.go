package registrytest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// startUpload answers POST /v2/<name>/blobs/uploads/: a mount, a single
// POST with the whole blob, or a new session.
func (g *Registry) startUpload(w http.ResponseWriter, r *http.Request, rt route) {
	q := r.URL.Query()
	switch {
	case q.Has("mount"):
		if g.mount(w, r, rt, q) {
			return
		}
	case q.Has("digest") && !g.opts.NoSinglePOST:
		g.singlePOST(w, r, rt, q.Get("digest"))
		return
	}
	up, err := g.uploads.create(rt.name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, CodeUnknown, err.Error())
		return
	}
	g.uploadStatus(w, r, up, http.StatusAccepted)
}

// mount links blob ?mount= from repository ?from= when the source holds it
// and the caller may pull from there. Otherwise it reports false and the
// caller opens an upload session instead, as the spec says.
func (g *Registry) mount(w http.ResponseWriter, r *http.Request, rt route, q url.Values) bool {
	d, err := manifest.ParseDigest(q.Get("mount"))
	from := q.Get("from")
	if err != nil || !reference.ValidRepository(from) || !grantFrom(r.Context())(from, "pull") {
		return false
	}
	if _, err := g.store.Lookup(from, KindBlob, string(d)); err != nil {
		return false
	}
	if err := g.store.Link(rt.name, Link{Kind: KindBlob, Name: string(d), Digest: d}); err != nil {
		writeError(w, http.StatusInternalServerError, CodeUnknown, err.Error())
		return true
	}
	g.blobCreated(w, r, rt.name, d)
	return true
}

// singlePOST stores a blob sent whole with POST ?digest= (end-4b).
func (g *Registry) singlePOST(w http.ResponseWriter, r *http.Request, rt route, digest string) {
	d, err := manifest.ParseDigest(digest)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, err.Error())
		return
	}
	if r.ContentLength < 0 {
		writeError(w, http.StatusBadRequest, CodeSizeInvalid, "Content-Length is required")
		return
	}
	if err := g.putBlob(rt.name, d, r.Body); err != nil {
		blobError(w, d, err)
		return
	}
	g.blobCreated(w, r, rt.name, d)
}

// putBlob verifies and stores a blob and links it into repo.
func (g *Registry) putBlob(repo string, d manifest.Digest, body io.Reader) error {
	if _, err := g.store.PutBlob(d, body); err != nil {
		return err
	}
	return g.store.Link(repo, Link{Kind: KindBlob, Name: string(d), Digest: d})
}

// blobError answers for a blob that could not be stored: 400
// DIGEST_INVALID when its bytes do not hash to d.
func blobError(w http.ResponseWriter, d manifest.Digest, err error) {
	if errors.Is(err, manifest.ErrDigestMismatch) {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, map[string]string{"Digest": string(d), "Reason": err.Error()})
		return
	}
	writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, err.Error())
}

func (g *Registry) blobCreated(w http.ResponseWriter, r *http.Request, repo string, d manifest.Digest) {
	h := w.Header()
	h.Set("Location", g.location(r, "/v2/"+repo+"/blobs/"+string(d)))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// uploadStatus answers with a session's Location, Range and id, as
// distribution does: Range is "0-<last byte>", and "0-0" when empty.
func (g *Registry) uploadStatus(w http.ResponseWriter, r *http.Request, up *upload, status int) {
	size := up.buf.Size()
	h := w.Header()
	path := fmt.Sprintf("/v2/%s/blobs/uploads/%s?_state=%s.%d", up.repo, up.id, up.secret, size)
	h.Set("Location", g.location(r, path))
	h.Set("Docker-Upload-UUID", up.id)
	h.Set("Range", fmt.Sprintf("0-%d", max(size-1, 0)))
	if status != http.StatusNoContent {
		h.Set("Content-Length", "0")
	}
	if g.opts.ChunkMinLength > 0 && r.Method == http.MethodPost {
		h.Set("OCI-Chunk-Min-Length", strconv.FormatInt(g.opts.ChunkMinLength, 10))
	}
	w.WriteHeader(status)
}

// serveUpload answers requests to a session's URL.
func (g *Registry) serveUpload(w http.ResponseWriter, r *http.Request, rt route) {
	up := g.lockUpload(w, r, rt)
	if up == nil {
		return
	}
	defer up.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		g.uploadStatus(w, r, up, http.StatusNoContent)
	case http.MethodPatch:
		g.patchUpload(w, r, up)
	case http.MethodPut:
		g.putUpload(w, r, up)
	case http.MethodDelete:
		g.uploads.remove(up)
		w.Header().Set("Docker-Upload-UUID", up.id)
		w.WriteHeader(http.StatusNoContent)
	}
}

// lockUpload finds the session of the URL and checks its _state
// parameter, which every Location the registry sends carries: a client
// that drops the query of a Location gets 404 BLOB_UPLOAD_INVALID.
func (g *Registry) lockUpload(w http.ResponseWriter, r *http.Request, rt route) *upload {
	up := g.uploads.lock(rt.ref)
	if up == nil || up.repo != rt.name {
		if up != nil {
			up.mu.Unlock()
		}
		writeError(w, http.StatusNotFound, CodeBlobUploadUnknown, nil)
		return nil
	}
	secret, offset, _ := strings.Cut(r.URL.Query().Get("_state"), ".")
	stale := g.opts.StaleUploadCheck && offset != strconv.FormatInt(up.buf.Size(), 10)
	if secret != up.secret || stale {
		up.mu.Unlock()
		writeError(w, http.StatusNotFound, CodeBlobUploadInvalid, "missing, wrong or stale _state parameter")
		return nil
	}
	return up
}

func (g *Registry) patchUpload(w http.ResponseWriter, r *http.Request, up *upload) {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/octet-stream" {
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, "Content-Type must be application/octet-stream")
		return
	}
	if _, ok := g.appendChunk(w, r, up); ok {
		g.uploadStatus(w, r, up, http.StatusAccepted)
	}
}

// putUpload closes a session: an optional last chunk, then the digest
// check, then the blob is stored.
func (g *Registry) putUpload(w http.ResponseWriter, r *http.Request, up *upload) {
	q := r.URL.Query()
	if !q.Has("digest") {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, "digest missing")
		return
	}
	d, err := manifest.ParseDigest(q.Get("digest"))
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, err.Error())
		return
	}
	if _, ok := g.appendChunk(w, r, up); !ok {
		return
	}
	if msg := g.shortChunk(up); msg != "" {
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, msg)
		return
	}
	err = g.putBlob(up.repo, d, up.buf.Reader())
	g.uploads.remove(up) // verified or not, the session ends, as in distribution
	if err != nil {
		blobError(w, d, err)
		return
	}
	g.blobCreated(w, r, up.repo, d)
}

// shortChunk describes the first chunk, other than the last, shorter than
// ChunkMinLength, or returns "".
func (g *Registry) shortChunk(up *upload) string {
	for i, n := range up.chunks {
		if i < len(up.chunks)-1 && n < g.opts.ChunkMinLength {
			return fmt.Sprintf("chunk %d has %d bytes, less than OCI-Chunk-Min-Length %d", i, n, g.opts.ChunkMinLength)
		}
	}
	return ""
}

// parseContentRange splits the spec's "<start>-<end>" into its decimal
// numbers; ok is false for anything else.
func parseContentRange(s string) (start, end string, ok bool) {
	start, end, ok = strings.Cut(s, "-")
	return start, end, ok && allDigits(start) && allDigits(end)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// appendChunk adds the request body to the session. A Content-Range must
// be the spec's "<start>-<end>", start at the session's size (else 416)
// and agree with the body's length (else 400 SIZE_INVALID); a request
// without one appends its body, as distribution allows.
func (g *Registry) appendChunk(w http.ResponseWriter, r *http.Request, up *upload) (int64, bool) {
	start := up.buf.Size()
	want, ok := g.checkRange(w, r, start)
	if !ok {
		return 0, false
	}
	limit := g.opts.MaxChunkLength
	if limit > 0 && r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, CodeSizeInvalid, "chunk longer than the registry accepts")
		return 0, false
	}
	body := io.Reader(r.Body)
	if limit > 0 {
		body = io.LimitReader(body, limit+1)
	}
	n, err := io.Copy(up.buf, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, err.Error()) // what arrived stays
		return n, false
	}
	return g.checkChunk(w, up, start, n, want)
}

// checkChunk refuses, and removes, a chunk longer than MaxChunkLength or
// of another length than its Content-Range said.
func (g *Registry) checkChunk(w http.ResponseWriter, up *upload, start, n, want int64) (int64, bool) {
	status, msg := 0, ""
	switch {
	case g.opts.MaxChunkLength > 0 && n > g.opts.MaxChunkLength:
		status, msg = http.StatusRequestEntityTooLarge, "chunk longer than the registry accepts"
	case want >= 0 && n != want:
		status, msg = http.StatusBadRequest, fmt.Sprintf("Content-Range says %d bytes, body has %d", want, n)
	}
	if status != 0 {
		up.buf.Truncate(start)
		writeError(w, status, CodeSizeInvalid, msg)
		return 0, false
	}
	if n > 0 {
		up.chunks = append(up.chunks, n)
	}
	return n, true
}

// checkRange validates Content-Range against the session's size and
// returns the chunk length it announces, or -1 without one.
func (g *Registry) checkRange(w http.ResponseWriter, r *http.Request, size int64) (int64, bool) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, true
	}
	first, last, ok := parseContentRange(cr)
	if !ok {
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, "Content-Range must be <start>-<end>")
		return 0, false
	}
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || a != size || b < a {
		writeError(w, http.StatusRequestedRangeNotSatisfiable, CodeBlobUploadInvalid,
			fmt.Sprintf("range %s does not continue the upload, which has %d bytes", cr, size))
		return 0, false
	}
	if r.ContentLength >= 0 && r.ContentLength != b-a+1 {
		writeError(w, http.StatusBadRequest, CodeSizeInvalid, "Content-Length disagrees with Content-Range")
		return 0, false
	}
	return b - a + 1, true
}
