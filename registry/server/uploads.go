package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// startUpload answers POST /v2/<name>/blobs/uploads/: a mount, a single
// POST with the whole blob, or a new session.
func (s *Server) startUpload(w http.ResponseWriter, r *http.Request, rt Route) {
	q := r.URL.Query()
	switch {
	case q.Has("mount"):
		if s.mount(w, r, rt, q) {
			return
		}
	case q.Has("digest"):
		s.singlePOST(w, r, rt, q.Get("digest"))
		return
	}
	up, err := s.sessions.create(rt.Name)
	if errors.Is(err, errTooManySessions) {
		// 429 and not 403 DENIED: room comes back as sessions finish or
		// expire, and Retry-After tells clients when.
		w.Header().Set("Retry-After", strconv.Itoa(int(s.sessions.retryAfter()/time.Second)))
		writeError(w, http.StatusTooManyRequests, CodeTooManyRequests,
			fmt.Sprintf("the registry holds %d upload sessions, its limit: finish or cancel one, or retry later", s.sessions.max))
		return
	}
	if err != nil {
		s.internalError(w, err)
		return
	}
	s.uploadStatus(w, r, up, http.StatusAccepted)
}

// mount links blob ?mount= from repository ?from= when the source holds it
// and the caller may pull from there. Otherwise it reports false and the
// caller opens an upload session instead, as the spec says.
func (s *Server) mount(w http.ResponseWriter, r *http.Request, rt Route, q url.Values) bool {
	d, err := manifest.ParseDigest(q.Get("mount"))
	from := q.Get("from")
	if err != nil || !reference.ValidRepository(from) || !grantFrom(r.Context())(from, "pull") {
		return false
	}
	if _, err := s.store.Lookup(from, KindBlob, string(d)); err != nil {
		return false
	}
	if err := s.store.Link(rt.Name, Link{Kind: KindBlob, Name: string(d), Digest: d}); err != nil {
		s.internalError(w, err)
		return true
	}
	s.blobCreated(w, r, rt.Name, d)
	return true
}

// singlePOST stores a blob sent whole with POST ?digest= (end-4b). The
// body streams to a file in the upload directory while it is hashed.
func (s *Server) singlePOST(w http.ResponseWriter, r *http.Request, rt Route, digest string) {
	d, err := manifest.ParseDigest(digest)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, err.Error())
		return
	}
	if r.ContentLength < 0 {
		writeError(w, http.StatusBadRequest, CodeSizeInvalid, "Content-Length is required")
		return
	}
	if max := s.maxBlobSize(); max >= 0 && r.ContentLength > max {
		writeError(w, http.StatusRequestEntityTooLarge, CodeSizeInvalid, tooBig(max))
		return
	}
	if err := s.receiveBlob(rt.Name, manifest.Descriptor{Digest: d, Size: r.ContentLength}, r.Body); err != nil {
		s.blobError(w, d, err)
		return
	}
	s.blobCreated(w, r, rt.Name, d)
}

func tooBig(max int64) string {
	return "the blob would be larger than " + strconv.FormatInt(max, 10) + " bytes, the registry's limit"
}

// blobError answers for a blob that could not be stored: 400
// DIGEST_INVALID when its bytes do not hash to d, 400 BLOB_UPLOAD_INVALID
// when the request body could not be read, as internalError otherwise.
func (s *Server) blobError(w http.ResponseWriter, d manifest.Digest, err error) {
	var be *bodyError
	switch {
	case errors.Is(err, manifest.ErrDigestMismatch):
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, map[string]string{"Digest": string(d), "Reason": err.Error()})
	case errors.As(err, &be):
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, err.Error())
	default:
		s.internalError(w, err)
	}
}

func (s *Server) blobCreated(w http.ResponseWriter, r *http.Request, repo string, d manifest.Digest) {
	h := w.Header()
	h.Set("Location", location(r, "/v2/"+repo+"/blobs/"+string(d)))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// uploadStatus answers with a session's Location, Range and id, as
// distribution does: Range is "0-<last byte>", and "0-0" when empty.
func (s *Server) uploadStatus(w http.ResponseWriter, r *http.Request, up *session, status int) {
	h := w.Header()
	path := fmt.Sprintf("/v2/%s/blobs/uploads/%s?_state=%s.%d", up.repo, up.id, up.secret, up.size)
	h.Set("Location", location(r, path))
	h.Set("Docker-Upload-UUID", up.id)
	h.Set("Range", fmt.Sprintf("0-%d", max(up.size-1, 0)))
	if status != http.StatusNoContent {
		h.Set("Content-Length", "0")
	}
	if s.opts.ChunkMinLength > 0 && r.Method == http.MethodPost {
		h.Set("OCI-Chunk-Min-Length", strconv.FormatInt(s.opts.ChunkMinLength, 10))
	}
	w.WriteHeader(status)
}

// serveUpload answers requests to a session's URL.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, rt Route) {
	up := s.lockUpload(w, r, rt)
	if up == nil {
		return
	}
	defer s.sessions.release(up)
	switch r.Method {
	case http.MethodGet:
		s.uploadStatus(w, r, up, http.StatusNoContent)
	case http.MethodPatch:
		s.patchUpload(w, r, up)
	case http.MethodPut:
		s.putUpload(w, r, up)
	case http.MethodDelete:
		s.sessions.remove(up)
		w.Header().Set("Docker-Upload-UUID", up.id)
		w.WriteHeader(http.StatusNoContent)
	}
}

// lockUpload finds the session of the URL and checks the secret in its
// _state parameter, which every Location the registry sends carries: a
// client that drops the query of a Location gets 404 BLOB_UPLOAD_INVALID.
func (s *Server) lockUpload(w http.ResponseWriter, r *http.Request, rt Route) *session {
	up := s.sessions.lock(rt.Ref)
	if up == nil || up.repo != rt.Name {
		if up != nil {
			up.mu.Unlock()
		}
		writeError(w, http.StatusNotFound, CodeBlobUploadUnknown, nil)
		return nil
	}
	secret, _, _ := strings.Cut(r.URL.Query().Get("_state"), ".")
	if secret != up.secret {
		up.mu.Unlock()
		writeError(w, http.StatusNotFound, CodeBlobUploadInvalid, "missing or wrong _state parameter")
		return nil
	}
	return up
}

func (s *Server) patchUpload(w http.ResponseWriter, r *http.Request, up *session) {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/octet-stream" {
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, "Content-Type must be application/octet-stream")
		return
	}
	if s.appendChunk(w, r, up) {
		s.uploadStatus(w, r, up, http.StatusAccepted)
	}
}

// putUpload closes a session: an optional last chunk, then the digest
// check, then the blob is stored.
func (s *Server) putUpload(w http.ResponseWriter, r *http.Request, up *session) {
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
	if !s.appendChunk(w, r, up) {
		return
	}
	if msg := s.shortChunk(up); msg != "" {
		writeError(w, http.StatusBadRequest, CodeBlobUploadInvalid, msg)
		return
	}
	err = s.commit(up, d)
	s.sessions.remove(up) // verified or not, the session ends, as in distribution
	if err != nil {
		s.blobError(w, d, err)
		return
	}
	s.blobCreated(w, r, up.repo, d)
}

// shortChunk describes the first chunk, other than the last, shorter than
// ChunkMinLength, or returns "".
func (s *Server) shortChunk(up *session) string {
	for i, n := range up.chunks {
		if i < len(up.chunks)-1 && n < s.opts.ChunkMinLength {
			return fmt.Sprintf("chunk %d has %d bytes, less than OCI-Chunk-Min-Length %d", i, n, s.opts.ChunkMinLength)
		}
	}
	return ""
}
