package registrytest

import (
	"net/http"
	"path/filepath"
	"time"

	"github.com/skiffoci/skiff/registry/server"
)

// Options configure a Registry. The zero value is a registry without
// authentication that keeps content in memory, implements every endpoint
// and allows deletes.
type Options struct {
	// Storage holds the content; when nil, a directory storage in Dir,
	// or memory when Dir is empty too.
	Storage Storage
	// Dir, when set, holds the content (unless Storage is set) and the
	// upload sessions' files, in Dir/uploads. Without it, those files go
	// to the server's temporary directory, which exists only while an
	// upload is open (see server.Options.UploadDir).
	Dir string

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

	// MaxBlobSize, MaxUploadSessions and UploadIdleTimeout are the
	// server's limits, as in server.Options: zero is the
	// default, negative no limit.
	MaxBlobSize       int64
	MaxUploadSessions int
	UploadIdleTimeout time.Duration

	// Quirks switches on the ways of real registries listed in
	// Catalogue (see Quirk), each emulated around the strict registry.
	Quirks []Quirk

	// Now is the clock tokens and upload sessions expire by; time.Now
	// when nil.
	Now func() time.Time
}

// Registry is an in-process registry implementing the OCI distribution
// spec, strictly: registry/server's handler with the test switches, faults,
// a token endpoint and a request log around it. It is an http.Handler;
// use it with httptest.NewServer or through NewServer.
type Registry struct {
	// Faults are the misbehaviours to apply to requests.
	Faults *Faults
	// Log records every request served.
	Log *Log

	opts    Options
	store   Storage
	srv     *server.Server
	basic   *server.BasicAuth // users and what they may do, in every mode
	tokens  *tokenTable
	states  *stateTable
	handler http.HandlerFunc
	hits    hitTable
	blobURL string // the blob host's base URL, for quirks that redirect
}

// New returns a Registry configured by opts, which may be nil.
func New(opts *Options) *Registry {
	g := &Registry{Faults: &Faults{}, Log: &Log{}, states: &stateTable{m: map[string]string{}}}
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
	uploads := "" // the server's own temporary directory, there while an upload is open
	if g.opts.Dir != "" {
		uploads = filepath.Join(g.opts.Dir, "uploads")
	}
	a := &g.opts.Auth
	g.basic = &server.BasicAuth{Realm: "registrytest", Users: a.Users, CheckPassword: a.CheckPassword,
		Access: a.Access, AnonymousPull: a.AnonymousPull}
	g.tokens = newTokenTable(a.RefreshTokens)
	g.srv = server.New(&server.Options{
		Storage: g.store, UploadDir: uploads, Auth: g.authorizer(),
		ReadOnly: g.opts.ReadOnly, DisableDelete: g.opts.DisableDelete,
		ChunkMinLength: g.opts.ChunkMinLength, MaxChunkLength: g.opts.MaxChunkLength,
		MaxBlobSize: g.opts.MaxBlobSize, MaxUploadSessions: g.opts.MaxUploadSessions,
		UploadIdleTimeout: g.opts.UploadIdleTimeout, Now: g.opts.Now, Wrap: g.wrap,
	})
	g.handler = g.Log.logged("registry", g.serve)
	return g
}

// Storage returns where the registry keeps its content.
func (g *Registry) Storage() Storage { return g.store }

// Server returns the production handler the registry wraps.
func (g *Registry) Server() *server.Server { return g.srv }

// Close ends the upload sessions and removes their files. NewServer
// calls it when the test ends.
func (g *Registry) Close() error { return g.srv.Close() }

// ServeHTTP serves the distribution API and, unless it is on a separate
// server, the token endpoint.
func (g *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.handler(w, r)
}

func (g *Registry) serve(w http.ResponseWriter, r *http.Request) {
	if g.opts.Auth.Mode == AuthBearer && !g.opts.Auth.separate() && r.URL.Path == g.opts.Auth.tokenPath() {
		if rec, ok := w.(*recorder); ok {
			rec.server = "token"
		}
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		g.serveToken(w, r)
		return
	}
	g.srv.ServeHTTP(w, r)
}

// wrap is the middleware the production handler runs requests it let in
// through: faults first, then the switches that imitate other registries.
func (g *Registry) wrap(next http.Handler) http.Handler {
	next = g.emulate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, done := g.applyFault(w, r)
		if done || g.redirect(w, r) {
			return
		}
		w, r, done = g.quirks(w, r)
		if !done {
			next.ServeHTTP(w, r)
		}
	})
}

func (g *Registry) now() time.Time {
	if g.opts.Now != nil {
		return g.opts.Now()
	}
	return time.Now()
}
