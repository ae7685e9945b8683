package registrytest

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/skiffoci/skiff/manifest"
)

func (g *Registry) serveBlob(w http.ResponseWriter, r *http.Request, rt route) {
	if !g.blobLinked(w, rt) {
		return
	}
	switch r.Method {
	case http.MethodDelete:
		if err := g.store.Unlink(rt.name, KindBlob, string(rt.digest)); err != nil {
			g.storageError(w, err, CodeBlobUnknown, rt.digest)
			return
		}
		accepted(w)
	default:
		if f := faultFrom(r.Context()); f != nil && f.RedirectTo != "" {
			http.Redirect(w, r, strings.TrimSuffix(f.RedirectTo, "/")+"/blobs/"+string(rt.digest), http.StatusFound)
			return
		}
		g.sendBlob(w, r, rt.digest)
	}
}

// blobLinked answers 404 BLOB_UNKNOWN unless the repository holds the blob:
// a blob pushed to another repository is not visible here until mounted.
func (g *Registry) blobLinked(w http.ResponseWriter, rt route) bool {
	if _, err := g.store.Lookup(rt.name, KindBlob, string(rt.digest)); err != nil {
		g.storageError(w, err, CodeBlobUnknown, rt.digest)
		return false
	}
	return true
}

// sendBlob serves a blob with distribution's headers; Range requests get
// 206 with Content-Range, unsatisfiable ones 416 (http.ServeContent, as
// distribution uses).
func (g *Registry) sendBlob(w http.ResponseWriter, r *http.Request, d manifest.Digest) {
	f, err := g.store.OpenBlob(d)
	if err != nil {
		g.storageError(w, err, CodeBlobUnknown, d)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Etag", `"`+string(d)+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// storageError answers 404 with code for content that is absent, 500
// otherwise.
func (g *Registry) storageError(w http.ResponseWriter, err error, code string, detail any) {
	if errors.Is(err, manifest.ErrNotFound) {
		writeError(w, http.StatusNotFound, code, detail)
		return
	}
	writeError(w, http.StatusInternalServerError, CodeUnknown, err.Error())
}

// BlobHandler returns the host that Fault.RedirectTo sends blob GETs to:
// it serves GET and HEAD /blobs/<digest> from storage without
// authentication and, like S3 with a signed URL, refuses requests that
// carry an Authorization header with 400.
func (g *Registry) BlobHandler() http.Handler {
	return g.Log.logged("blobs", g.serveRedirectedBlob)
}

func (g *Registry) serveRedirectedBlob(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/blobs/")
	d, err := manifest.ParseDigest(rest)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "InvalidArgument: Only one auth mechanism allowed", http.StatusBadRequest)
		return
	}
	w, r, done := g.applyFault(w, r)
	if done {
		return
	}
	g.sendBlob(w, r, d)
}
