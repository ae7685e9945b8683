package registrytest

import (
	"net/http"
	"time"
)

// Options configure a Registry. The zero value is a registry without
// authentication that keeps content in memory, implements every endpoint
// and allows deletes.
type Options struct {
	// Storage holds the content; when nil, a directory storage in Dir,
	// or memory when Dir is empty too.
	Storage Storage
	Dir     string

	Auth Auth

	// ReadOnly answers every write (POST, PUT, PATCH, DELETE) with 405
	// UNSUPPORTED, as distribution's read-only maintenance mode does.
	ReadOnly bool
	// DisableDelete answers manifest, tag and blob DELETEs with 405
	// UNSUPPORTED, as distribution does unless deletes are enabled.
	// Cancelling an upload still works.
	DisableDelete bool
	// NoSinglePOST makes POST ?digest= with a body open an upload session
	// (202) instead of storing the blob (201), as distribution 2.8 does.
	NoSinglePOST bool
	// NoReferrers answers the referrers API with 404 and leaves out the
	// OCI-Subject header, as registries without the API (distribution
	// 2.8) do, so that clients fall back to the referrers tag schema.
	NoReferrers bool
	// IgnoreAccept serves every manifest in its stored type whatever the
	// Accept header says. By default negotiation is distribution's; see
	// the package documentation.
	IgnoreAccept bool
	// ChunkMinLength is sent as OCI-Chunk-Min-Length on upload POSTs and
	// enforced: an upload whose chunks other than the last are shorter
	// fails at its PUT with 400 BLOB_UPLOAD_INVALID.
	ChunkMinLength int64
	// MaxChunkLength, when positive, answers PATCHes with longer bodies
	// with 413 and stores nothing of them.
	MaxChunkLength int64
	// RelativeLocations sends Location headers as paths instead of
	// absolute URLs.
	RelativeLocations bool
	// StaleUploadCheck refuses upload URLs whose state is stale (older
	// than the last PATCH) with 404 BLOB_UPLOAD_INVALID, as distribution
	// 2.8 does; by default any URL of a live session works.
	StaleUploadCheck bool
	// Now is the clock tokens expire by; time.Now when nil.
	Now func() time.Time
}

// Registry is an in-process registry implementing the OCI distribution
// spec, strictly. It is an http.Handler; use it with httptest.NewServer or
// through NewServer.
type Registry struct {
	// Faults are the misbehaviours to apply to requests.
	Faults *Faults
	// Log records every request served.
	Log *Log

	opts    Options
	store   Storage
	uploads *uploadTable
	tokens  *tokenTable
	handler http.HandlerFunc
}

// New returns a Registry configured by opts, which may be nil.
func New(opts *Options) *Registry {
	g := &Registry{Faults: &Faults{}, Log: &Log{}}
	if opts != nil {
		g.opts = *opts
	}
	g.store = g.opts.Storage
	switch {
	case g.store != nil:
	case g.opts.Dir != "":
		g.store = NewDirStorage(g.opts.Dir)
	default:
		g.store = NewMemoryStorage()
	}
	g.uploads = newUploadTable(g.opts.Dir)
	g.tokens = newTokenTable(g.opts.Auth.RefreshTokens)
	g.handler = g.Log.logged("registry", g.serve)
	return g
}

// Storage returns where the registry keeps its content.
func (g *Registry) Storage() Storage { return g.store }

// ServeHTTP serves the distribution API and, unless it is on a separate
// server, the token endpoint.
func (g *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.handler(w, r)
}

func (g *Registry) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if g.opts.Auth.Mode == AuthBearer && !g.opts.Auth.separate() && r.URL.Path == g.opts.Auth.tokenPath() {
		if rec, ok := w.(*recorder); ok {
			rec.server = "token"
		}
		g.serveToken(w, r)
		return
	}
	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, CodeUnsupported, "no such endpoint")
		return
	}
	if !rt.allowed(w, r.Method) || !rt.validate(w) {
		return
	}
	r, ok = g.authorize(w, r, rt)
	if !ok {
		return
	}
	w, r, done := g.applyFault(w, r)
	if done || !g.writable(w, r, rt) {
		return
	}
	g.dispatch(w, r, rt)
}

// writable refuses writes in read-only mode and deletes when disabled.
func (g *Registry) writable(w http.ResponseWriter, r *http.Request, rt route) bool {
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	del := r.Method == http.MethodDelete && rt.kind != routeUpload
	if (write && g.opts.ReadOnly) || (del && g.opts.DisableDelete) {
		writeError(w, http.StatusMethodNotAllowed, CodeUnsupported, nil)
		return false
	}
	return true
}

func (g *Registry) dispatch(w http.ResponseWriter, r *http.Request, rt route) {
	switch rt.kind {
	case routePing:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", "2")
		w.Write([]byte("{}"))
	case routeCatalog:
		g.serveCatalog(w, r)
	case routeBlob:
		g.serveBlob(w, r, rt)
	case routeUploads:
		g.startUpload(w, r, rt)
	case routeUpload:
		g.serveUpload(w, r, rt)
	case routeManifest:
		g.serveManifest(w, r, rt)
	case routeTags:
		g.serveTags(w, r, rt)
	case routeReferrers:
		g.serveReferrers(w, r, rt)
	}
}

func (g *Registry) now() time.Time {
	if g.opts.Now != nil {
		return g.opts.Now()
	}
	return time.Now()
}

// location turns a path into a Location value: absolute by default, as
// distribution sends them.
func (g *Registry) location(r *http.Request, path string) string {
	if g.opts.RelativeLocations {
		return path
	}
	return baseURL(r) + path
}
