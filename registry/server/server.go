package server

import (
	"context"
	"log"
	"net/http"
	"os"
	"sync"
	"time"
)

// The defaults of the limits in Options.
const (
	DefaultMaxUploadSessions = 100
	DefaultMaxBlobSize       = 16 << 30
	DefaultUploadIdleTimeout = time.Hour
)

// Options configure a Server. The zero value (and a nil *Options) is a
// registry in memory, without authentication, that implements every
// endpoint, allows deletes and applies the default limits.
type Options struct {
	// Storage holds the content: NewMemoryStorage's when nil.
	Storage Storage
	// UploadDir holds the files of upload sessions. It is created when
	// first needed and should be on the file system of Storage's blobs,
	// so that a finished upload is renamed into place, not copied. The
	// server owns it: anything in it may be removed. When empty, it is
	// UploadsDir under NewLayoutStorage's root, or else a temporary
	// directory, in os.TempDir() as it was when New was called, that
	// exists only while an upload is open.
	UploadDir string

	// Auth decides who may do what; nil lets every request in.
	Auth Authorizer

	// ReadOnly answers every write (POST, PUT, PATCH, DELETE) with 405
	// UNSUPPORTED, as distribution's read-only maintenance mode does.
	ReadOnly bool
	// DisableDelete answers manifest, tag and blob DELETEs with 405
	// UNSUPPORTED, as distribution does unless deletes are enabled.
	// Cancelling an upload still works.
	DisableDelete bool
	// ChunkMinLength is sent as OCI-Chunk-Min-Length on upload POSTs and
	// enforced: an upload whose chunks other than the last are shorter
	// fails at its PUT with 400 BLOB_UPLOAD_INVALID.
	ChunkMinLength int64
	// MaxChunkLength, when positive, answers PATCHes with longer bodies
	// with 413 and stores nothing of them.
	MaxChunkLength int64

	// MaxBlobSize caps the size of a blob, in bytes: an upload that would
	// grow past it is answered 413 SIZE_INVALID. Zero means
	// DefaultMaxBlobSize, a negative value no limit.
	MaxBlobSize int64
	// MaxUploadSessions caps the upload sessions open at once: a POST
	// beyond it is answered 429 TOOMANYREQUESTS with a Retry-After. Zero
	// means DefaultMaxUploadSessions, a negative value no limit.
	MaxUploadSessions int
	// UploadIdleTimeout is how long an upload session may go without a
	// request before it is removed with its file. Zero means
	// DefaultUploadIdleTimeout, a negative value never.
	UploadIdleTimeout time.Duration
	// Now is the clock sessions expire by; time.Now when nil.
	Now func() time.Time

	// ErrorLog receives what the server cannot tell a client, such as a
	// blob of a layout found under NewLayoutStorage's root whose bytes
	// do not hash to its name (it is not served); nil discards it.
	ErrorLog *log.Logger

	// Wrap, when set, wraps the handling of every request that passed
	// validation and authorization: middleware for logging, metrics or
	// a test's fault injection. RouteOf tells it what the request names.
	Wrap func(http.Handler) http.Handler
}

// Server is a registry implementing the OCI distribution spec. It is an
// http.Handler, safe for concurrent use.
type Server struct {
	opts     Options
	store    Storage
	sessions *sessionTable
	admitted http.Handler

	mu    sync.Mutex
	repos map[string]*repoLock // of repositories whose manifests are changing
}

// repoLock serializes the changes to one repository's manifests; users
// counts who holds or waits for it, so that it goes when none does.
type repoLock struct {
	sync.Mutex
	users int
}

// New returns a Server configured by opts, which may be nil. A test
// starts a registry in memory in one line:
//
//	srv := httptest.NewServer(server.New(nil))
//
// and one over a directory of OCI layouts, as "skiff registry serve" does,
// with New(&Options{Storage: NewLayoutStorage(dir)}).
func New(opts *Options) *Server {
	s := &Server{repos: map[string]*repoLock{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Storage == nil {
		s.opts.Storage = NewMemoryStorage()
	}
	s.store = s.opts.Storage
	uploads := s.opts.UploadDir
	if d, ok := s.store.(interface{ uploadDir() string }); ok && uploads == "" {
		uploads = d.uploadDir()
	}
	s.sessions = &sessionTable{dir: uploads, tmp: os.TempDir(), max: orDefault(s.opts.MaxUploadSessions, DefaultMaxUploadSessions),
		idle: orDefault(s.opts.UploadIdleTimeout, DefaultUploadIdleTimeout), now: s.now, m: map[string]*session{}}
	if l, ok := s.store.(interface{ setErrorLog(*log.Logger) }); ok && s.opts.ErrorLog != nil {
		l.setErrorLog(s.opts.ErrorLog)
	}
	s.admitted = http.HandlerFunc(s.serveAdmitted)
	if s.opts.Wrap != nil {
		s.admitted = s.opts.Wrap(s.admitted)
	}
	return s
}

// orDefault is v, or def when v is zero; a negative v means no limit and
// stays negative.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) maxBlobSize() int64 { return orDefault(s.opts.MaxBlobSize, DefaultMaxBlobSize) }

// Storage returns where the server keeps its content.
func (s *Server) Storage() Storage { return s.store }

// ExpireUploads removes the upload sessions idle for longer than
// Options.UploadIdleTimeout, with their files, and returns how many it
// removed. Sessions expire anyway when next used or when a POST needs
// room; a long-running server calls this now and then to reclaim disk.
func (s *Server) ExpireUploads() int { return s.sessions.expire() }

// Close ends every upload session and removes its file.
func (s *Server) Close() error { return s.sessions.closeAll() }

// ServeHTTP serves the distribution API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, CodeUnsupported, "no such endpoint")
		return
	}
	if !rt.allowed(w, r.Method) || !rt.validate(w) {
		return
	}
	r, ok = s.authorize(w, r, rt)
	if !ok {
		return
	}
	s.admitted.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)))
}

func (s *Server) serveAdmitted(w http.ResponseWriter, r *http.Request) {
	rt, _ := RouteOf(r)
	if s.writable(w, r, rt) && s.nameAllowed(w, r, rt) {
		s.dispatch(w, r, rt)
	}
}

// nameAllowed asks a storage that refuses some repository names whether
// a push, which may make the repository, may go to the request's, before
// any byte of it is read; a refused name gets 400 NAME_INVALID with the
// reason. Reads of such a name find no repository: 404, so that a client
// checking what is there goes on to the push that says why.
func (s *Server) nameAllowed(w http.ResponseWriter, r *http.Request, rt Route) bool {
	c, ok := s.store.(NameChecker)
	push := rt.Kind == RouteUploads || rt.Kind == RouteManifest && r.Method == http.MethodPut
	if !ok || !push {
		return true
	}
	if err := c.CheckName(rt.Name, true); err != nil {
		s.internalError(w, err)
		return false
	}
	return true
}

// writable refuses writes in read-only mode and deletes when disabled.
func (s *Server) writable(w http.ResponseWriter, r *http.Request, rt Route) bool {
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	del := r.Method == http.MethodDelete && rt.Kind != RouteUpload
	if (write && s.opts.ReadOnly) || (del && s.opts.DisableDelete) {
		writeError(w, http.StatusMethodNotAllowed, CodeUnsupported, nil)
		return false
	}
	return true
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, rt Route) {
	switch rt.Kind {
	case RoutePing:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", "2")
		w.Write([]byte("{}"))
	case RouteCatalog:
		s.serveCatalog(w, r)
	case RouteBlob:
		s.serveBlob(w, r, rt)
	case RouteUploads:
		s.startUpload(w, r, rt)
	case RouteUpload:
		s.serveUpload(w, r, rt)
	case RouteManifest:
		s.serveManifest(w, r, rt)
	case RouteTags:
		s.serveTags(w, r, rt)
	case RouteReferrers:
		s.serveReferrers(w, r, rt)
	}
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// lockRepo locks repository name's manifests and tags against other
// changes, so that a manifest is never stored while a blob it references
// is deleted, and returns the unlock function.
func (s *Server) lockRepo(name string) func() {
	s.mu.Lock()
	l := s.repos[name]
	if l == nil {
		l = &repoLock{}
		s.repos[name] = l
	}
	l.users++
	s.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.repos, name)
		}
		s.mu.Unlock()
	}
}

// location turns a path into an absolute Location value, as distribution
// sends them.
func location(r *http.Request, path string) string {
	return BaseURL(r) + path
}

// BaseURL is the scheme and host a request was sent to.
func BaseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
