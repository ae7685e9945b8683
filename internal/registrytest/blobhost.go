package registrytest

import (
	"net/http"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

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
	f, err := g.store.OpenBlob(d)
	if err != nil {
		writeError(w, http.StatusNotFound, CodeBlobUnknown, d)
		return
	}
	defer f.Close()
	server.ServeBlob(w, r, d, f)
}
