package registrytest

import (
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// quirks applies the switches that make the registry behave as other
// registries do, by changing the request on its way in and the headers on
// their way out. done reports that it answered the request itself.
func (g *Registry) quirks(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, bool) {
	rt, _ := server.RouteOf(r)
	o := &g.opts
	if o.NoReferrers && rt.Kind == server.RouteReferrers {
		writeError(w, http.StatusNotFound, CodeUnsupported, "the referrers API is not supported")
		return w, r, true
	}
	if o.StaleUploadCheck && rt.Kind == server.RouteUpload && g.states.stale(rt.Ref, r.URL.Query().Get("_state")) {
		writeError(w, http.StatusNotFound, CodeBlobUploadInvalid, "missing, wrong or stale _state parameter")
		return w, r, true
	}
	if o.NoSinglePOST && rt.Kind == server.RouteUploads {
		r = withoutSinglePOST(r)
	}
	if o.IgnoreAccept && rt.Kind == server.RouteManifest {
		r = r.Clone(r.Context())
		r.Header.Set("Accept", strings.Join([]string{manifest.MediaTypeOCIManifest, manifest.MediaTypeOCIIndex,
			manifest.MediaTypeDockerManifest, manifest.MediaTypeDockerManifestList}, ", "))
	}
	if o.NoReferrers || o.RelativeLocations || o.StaleUploadCheck {
		w = &headerHook{ResponseWriter: w, hook: func(h http.Header) { g.rewriteHeaders(h, r) }}
	}
	return w, r, false
}

// withoutSinglePOST drops ?digest= from a POST that is not a mount, so
// that it opens a session as distribution 2.8 does.
func withoutSinglePOST(r *http.Request) *http.Request {
	q := r.URL.Query()
	if q.Has("mount") || !q.Has("digest") {
		return r
	}
	q.Del("digest")
	r = r.Clone(r.Context())
	r.URL.RawQuery = q.Encode()
	return r
}

// rewriteHeaders changes a response's headers as the switches say.
func (g *Registry) rewriteHeaders(h http.Header, r *http.Request) {
	if g.opts.NoReferrers {
		h.Del("OCI-Subject")
	}
	loc := h.Get("Location")
	if g.opts.StaleUploadCheck {
		g.states.record(loc)
	}
	if g.opts.RelativeLocations {
		if path, ok := strings.CutPrefix(loc, server.BaseURL(r)); ok {
			h.Set("Location", path)
		}
	}
}

// stateTable remembers the _state of the last Location sent for each
// upload session.
type stateTable struct {
	mu sync.Mutex
	m  map[string]string // upload id → _state
}

func (t *stateTable) record(location string) {
	u, err := url.Parse(location)
	if err != nil {
		return
	}
	_, id, found := strings.Cut(u.Path, "/blobs/uploads/")
	if !found || id == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[id] = u.Query().Get("_state")
}

// stale reports whether state is not the last one sent for upload id.
func (t *stateTable) stale(id, state string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	last, ok := t.m[id]
	return ok && last != state
}

// headerHook calls hook with the response headers before they are sent.
type headerHook struct {
	http.ResponseWriter
	hook func(http.Header)
	done bool
}

func (w *headerHook) WriteHeader(status int) {
	if !w.done {
		w.done = true
		w.hook(w.Header())
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *headerHook) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *headerHook) Unwrap() http.ResponseWriter { return w.ResponseWriter }
