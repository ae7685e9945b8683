package server

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, rt Route) {
	if r.Method == http.MethodDelete {
		s.deleteBlob(w, rt)
		return
	}
	if s.blobLinked(w, rt) {
		s.sendBlob(w, r, rt.Digest)
	}
}

// deleteBlob unlinks a blob from the repository (end-10), unless a
// manifest there references it: that would leave the layout invalid, so
// it is refused with 405 DENIED, as zot does.
func (s *Server) deleteBlob(w http.ResponseWriter, rt Route) {
	unlock := s.lockRepo(rt.Name)
	defer unlock()
	if !s.blobLinked(w, rt) || !s.unreferenced(w, rt.Name, rt.Digest) {
		return
	}
	if err := s.store.Unlink(rt.Name, KindBlob, string(rt.Digest)); err != nil {
		s.storageError(w, err, CodeBlobUnknown, rt.Digest)
		return
	}
	accepted(w)
}

// blobLinked answers 404 BLOB_UNKNOWN unless the repository holds the blob:
// a blob pushed to another repository is not visible here until mounted.
func (s *Server) blobLinked(w http.ResponseWriter, rt Route) bool {
	if _, err := s.store.Lookup(rt.Name, KindBlob, string(rt.Digest)); err != nil {
		s.storageError(w, err, CodeBlobUnknown, rt.Digest)
		return false
	}
	return true
}

// sendBlob serves a blob with distribution's headers; Range requests get
// 206 with Content-Range, unsatisfiable ones 416 (http.ServeContent, as
// distribution uses). The bytes stream from the storage.
func (s *Server) sendBlob(w http.ResponseWriter, r *http.Request, d manifest.Digest) {
	f, err := s.store.OpenBlob(d)
	if err != nil {
		s.storageError(w, err, CodeBlobUnknown, d)
		return
	}
	defer f.Close()
	ServeBlob(w, r, d, f)
}

// ServeBlob serves the blob d read from content with distribution's
// headers and Range support.
func ServeBlob(w http.ResponseWriter, r *http.Request, d manifest.Digest, content io.ReadSeeker) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Etag", `"`+string(d)+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, r, "", time.Time{}, content)
}

// storageError answers 404 with code for content that is absent, and as
// internalError otherwise.
func (s *Server) storageError(w http.ResponseWriter, err error, code string, detail any) {
	if errors.Is(err, manifest.ErrNotFound) {
		writeError(w, http.StatusNotFound, code, detail)
		return
	}
	s.internalError(w, err)
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}
