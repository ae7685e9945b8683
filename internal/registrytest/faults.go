package registrytest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/skiffoci/skiff/registry/server"
)

// Fault is a misbehaviour programmed into a Registry. Faults apply to
// requests the registry has let in (authentication comes first), and to
// the token endpoint. Several effects may be combined in one Fault.
type Fault struct {
	// Match selects the requests the fault applies to; nil matches all.
	Match func(*http.Request) bool
	// Times is how many matching requests the fault applies to; 0 means
	// every one. Each request consumes at most one fault: the first added
	// that matches and has uses left.
	Times int

	// Status answers with this status and a spec error body (code
	// TOOMANYREQUESTS for 429, UNKNOWN for 5xx, Code if set) instead of
	// serving the request.
	Status     int
	Code       string
	RetryAfter string // sent as Retry-After with Status

	// CutAfter closes the connection once this many response body bytes
	// are sent, mid-body; a negative value closes it right after the
	// headers. 0 disables it.
	CutAfter int64
	// StallAfter sends this many response body bytes, then nothing more,
	// with the connection open, until the client hangs up (as a server or
	// a NAT that dropped the flow would); a negative value stalls right
	// after the headers. 0 disables it.
	StallAfter int64
	// Rate, if positive, sends the response body at no more than this many
	// bytes per second, as a slow link or a server that caps each
	// connection does.
	Rate float64
	// ReadRate, if positive, reads the request body (an upload) at no more
	// than this many bytes per second, as a registry whose storage or link
	// takes uploads slowly.
	ReadRate float64
	// WrongBytes flips the first byte of the response body.
	WrongBytes bool
	// NoRange ignores the request's Range header: the whole content
	// comes back with 200.
	NoRange bool
	// RedirectTo answers blob GETs and HEADs of blobs the repository
	// holds with 302 to RedirectTo + "/blobs/<digest>", a URL that the
	// blob host (Registry.BlobHandler, Server.BlobURL) serves without
	// authentication, like S3. Its Match should leave the blob host's
	// own "/blobs/<digest>" paths alone, e.g. Route("GET", "^/v2/").
	RedirectTo string
	// Endless answers with a manifest that has no Content-Length and never
	// ends: it streams until the client hangs up.
	Endless bool
}

// Faults is the list of faults a Registry applies. It is safe for
// concurrent use.
type Faults struct {
	mu   sync.Mutex
	list []*armed
}

type armed struct {
	Fault
	used int
}

// Add arms f.
func (fs *Faults) Add(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = append(fs.list, &armed{Fault: f})
}

// Reset disarms every fault.
func (fs *Faults) Reset() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = nil
}

// take returns the fault r triggers, consuming one use, or nil.
func (fs *Faults) take(r *http.Request) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, a := range fs.list {
		if a.Times > 0 && a.used >= a.Times {
			continue
		}
		if a.Match != nil && !a.Match(r) {
			continue
		}
		a.used++
		f := a.Fault
		return &f
	}
	return nil
}

// Route returns a matcher for requests with method ("" for any) whose path
// matches pattern: a substring of the path, which "^" anchors at its start
// and "$" at its end, and in which ".*" stands for any run of characters
// ("^/v2/.*/blobs/"). It is not a regular expression: the registry stays
// free of the regexp package, which weighs a quarter of a MiB in skiff's
// binary.
func Route(method, pattern string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && pathMatch(pattern, r.URL.Path)
	}
}

func pathMatch(pattern, path string) bool {
	anchored := strings.HasPrefix(pattern, "^")
	pattern = strings.TrimPrefix(pattern, "^")
	ended := strings.HasSuffix(pattern, "$")
	pattern = strings.TrimSuffix(pattern, "$")
	parts := strings.Split(pattern, ".*")
	for i, part := range parts {
		last := i == len(parts)-1
		switch {
		case i == 0 && anchored:
			if !strings.HasPrefix(path, part) {
				return false
			}
			path = path[len(part):]
		case last && ended:
			return strings.HasSuffix(path, part)
		default:
			j := strings.Index(path, part)
			if j < 0 {
				return false
			}
			path = path[j+len(part):]
		}
	}
	return !ended || path == ""
}

type faultKey struct{}

func faultFrom(ctx context.Context) *Fault {
	f, _ := ctx.Value(faultKey{}).(*Fault)
	return f
}

// applyFault applies the fault r triggers, if any. It returns the writer
// and request to serve with, and done when the fault answered already.
func (g *Registry) applyFault(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, bool) {
	f := g.Faults.take(r)
	if f == nil {
		return w, r, false
	}
	if rec, ok := w.(*recorder); ok {
		rec.fault = true
	}
	switch {
	case f.Status != 0:
		writeStatusFault(w, f)
		return w, r, true
	case f.Endless:
		serveEndless(w, r)
		return w, r, true
	}
	if f.NoRange {
		r = r.Clone(r.Context())
		r.Header.Del("Range")
	}
	if f.CutAfter != 0 || f.WrongBytes || f.StallAfter != 0 {
		w = &faultWriter{ResponseWriter: w, cutAfter: f.CutAfter, stallAfter: f.StallAfter, flip: f.WrongBytes, gone: r.Context().Done()}
	}
	if f.Rate > 0 {
		w = &slowWriter{ResponseWriter: w, pacer: newPacer(f.Rate, r.Context().Done())}
	}
	r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
	if f.ReadRate > 0 && r.Body != nil {
		r.Body = &slowBody{ReadCloser: r.Body, pacer: newPacer(f.ReadRate, r.Context().Done())}
	}
	return w, r, false
}

// redirect answers a blob GET or HEAD with the fault's RedirectTo, when
// the repository holds the blob.
func (g *Registry) redirect(w http.ResponseWriter, r *http.Request) bool {
	f := faultFrom(r.Context())
	rt, _ := server.RouteOf(r)
	if f == nil || f.RedirectTo == "" || rt.Kind != server.RouteBlob || r.Method == http.MethodDelete {
		return false
	}
	if _, err := g.store.Lookup(rt.Name, KindBlob, string(rt.Digest)); err != nil {
		return false // the registry answers 404
	}
	http.Redirect(w, r, strings.TrimSuffix(f.RedirectTo, "/")+"/blobs/"+string(rt.Digest), http.StatusFound)
	return true
}

func writeStatusFault(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	code := f.Code
	if code == "" {
		code = codeForStatus(f.Status)
	}
	writeError(w, f.Status, code, nil)
}

// faultWriter flips the first body byte, and cuts the body short or
// stalls it.
type faultWriter struct {
	http.ResponseWriter
	cutAfter   int64
	stallAfter int64
	flip       bool
	written    int64
	headers    bool
	gone       <-chan struct{} // closed when the client hangs up
}

func (w *faultWriter) WriteHeader(status int) {
	w.headers = true
	w.ResponseWriter.WriteHeader(status)
	if w.cutAfter < 0 {
		http.NewResponseController(w.ResponseWriter).Flush()
		panic(http.ErrAbortHandler)
	}
	if w.stallAfter < 0 {
		w.stall()
	}
}

func (w *faultWriter) Write(p []byte) (int, error) {
	if !w.headers {
		w.WriteHeader(http.StatusOK)
	}
	if w.flip && w.written == 0 && len(p) > 0 {
		p = append([]byte{p[0] ^ 0xff}, p[1:]...)
	}
	cut := w.cutAfter > 0 && w.written+int64(len(p)) >= w.cutAfter
	if cut {
		p = p[:w.cutAfter-w.written]
	}
	stall := w.stallAfter > 0 && w.written+int64(len(p)) >= w.stallAfter
	if stall {
		p = p[:w.stallAfter-w.written]
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	if cut {
		http.NewResponseController(w.ResponseWriter).Flush()
		panic(http.ErrAbortHandler)
	}
	if stall {
		w.stall()
	}
	return n, err
}

// stall sends what is written so far and waits for the client to hang
// up, which ends the request.
func (w *faultWriter) stall() {
	http.NewResponseController(w.ResponseWriter).Flush()
	<-w.gone
	panic(http.ErrAbortHandler)
}

func (w *faultWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// slowWriter sends a body at rate bytes per second, in pieces of 16 KiB
// each written when the rate allows it.
type slowWriter struct {
	http.ResponseWriter
	pacer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if !w.wait() {
			return n, http.ErrAbortHandler
		}
		k, err := w.ResponseWriter.Write(p[n:min(len(p), n+16<<10)])
		n += k
		w.done += int64(k)
		if err != nil {
			return n, err
		}
		http.NewResponseController(w.ResponseWriter).Flush()
	}
	return n, nil
}

func (w *slowWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// slowBody reads a request body at no more than rate bytes per second,
// 16 KiB at a time.
type slowBody struct {
	io.ReadCloser
	pacer
}

func (b *slowBody) Read(p []byte) (int, error) {
	if !b.wait() {
		return 0, context.Canceled
	}
	n, err := b.ReadCloser.Read(p[:min(len(p), 16<<10)])
	b.done += int64(n)
	return n, err
}

// pacer holds bytes to rate per second from start.
type pacer struct {
	rate  float64
	start time.Time
	done  int64           // bytes passed so far
	gone  <-chan struct{} // closed when the client hangs up
}

func newPacer(rate float64, gone <-chan struct{}) pacer {
	return pacer{rate: rate, start: time.Now(), gone: gone}
}

// wait waits until the bytes done are due; false when gone closes first.
func (p *pacer) wait() bool {
	due := p.start.Add(time.Duration(float64(p.done) / p.rate * float64(time.Second)))
	select {
	case <-time.After(time.Until(due)):
		return true
	case <-p.gone:
		return false
	}
}

// serveEndless streams an OCI manifest whose layer list never ends,
// without Content-Length, until the client goes away.
func serveEndless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	layer := `{"mediaType":"application/vnd.oci.image.layer.v1.tar","size":1,"digest":"sha256:` +
		"0000000000000000000000000000000000000000000000000000000000000000" + `"},`
	chunk := make([]byte, 0, 32<<10)
	for len(chunk)+len(layer) <= cap(chunk) {
		chunk = append(chunk, layer...)
	}
	if _, err := w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[`)); err != nil {
		return
	}
	rc := http.NewResponseController(w)
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
