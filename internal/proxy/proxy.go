package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/skiffoci/skiff/manifest"
)

// Options tune a Handler. The zero value selects the host's platform from
// an index and logs nothing.
type Options struct {
	// Platform is the one to pick from an index; the zero value means
	// manifest.HostPlatform().
	Platform manifest.Platform
	// OnQuit is called once, after the first POST /quit is answered.
	OnQuit func()
	// ErrorLog receives upstream failures, which clients only see as a
	// status; nil discards them.
	ErrorLog *log.Logger
}

// Handler serves one image; see the package documentation. It is safe
// for concurrent use.
type Handler struct {
	fetcher  manifest.Fetcher
	raw      []byte          // the manifest in OCI form
	original manifest.Digest // the manifest's digest as stored
	blobs    map[manifest.Digest]manifest.Descriptor
	opts     Options
	quit     sync.Once
}

// New fetches the image root names from f (resolving an index to
// opts.Platform), converts its manifest to OCI form and returns the
// Handler that serves it and its blobs. opts may be nil.
func New(ctx context.Context, f manifest.Fetcher, root manifest.Descriptor, opts *Options) (*Handler, error) {
	h := &Handler{fetcher: f, blobs: map[manifest.Digest]manifest.Descriptor{}}
	if opts != nil {
		h.opts = *opts
	}
	doc, err := h.platformManifest(ctx, root)
	if err != nil {
		return nil, err
	}
	oci, err := manifest.ToOCI(doc)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	h.raw, h.original = oci.Raw, doc.Digest
	for _, d := range append([]manifest.Descriptor{oci.Manifest.Config}, oci.Manifest.Layers...) {
		h.blobs[d.Digest] = d
	}
	return h, nil
}

// platformManifest fetches root and, while it is an index, the entry for
// the wanted platform.
func (h *Handler) platformManifest(ctx context.Context, root manifest.Descriptor) (*manifest.Document, error) {
	want := h.opts.Platform
	if want.OS == "" {
		want = manifest.HostPlatform()
	}
	d := root
	for depth := 0; ; depth++ {
		doc, err := manifest.FetchDocument(ctx, h.fetcher, d)
		if err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		if doc.Index == nil {
			return doc, nil
		}
		if depth >= manifest.MaxDepth {
			return nil, fmt.Errorf("proxy: index nesting deeper than %d", manifest.MaxDepth)
		}
		if d, err = manifest.SelectPlatform(doc.Index, want); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
	}
}

// ManifestDigest returns the digest of the served manifest as stored
// upstream, before conversion to OCI form.
func (h *Handler) ManifestDigest() manifest.Digest { return h.original }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/manifest":
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.serveManifest(w)
		}
	case strings.HasPrefix(path, "/blobs/"):
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.serveBlob(w, r, strings.TrimPrefix(path, "/blobs/"))
		}
	case path == "/quit":
		if allow(w, r, http.MethodPost) {
			w.WriteHeader(http.StatusOK)
			if h.opts.OnQuit != nil {
				h.quit.Do(h.opts.OnQuit)
			}
		}
	default:
		http.Error(w, "skiff proxy: no such endpoint; use /manifest, /blobs/<digest> or /quit", http.StatusNotFound)
	}
}

// allow answers 405 unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "skiff proxy: method not allowed", http.StatusMethodNotAllowed)
	return false
}

func (h *Handler) serveManifest(w http.ResponseWriter) {
	w.Header().Set("Content-Type", manifest.MediaTypeOCIManifest)
	w.Header().Set("Content-Length", strconv.Itoa(len(h.raw)))
	w.Header().Set("Manifest-Digest", string(h.original))
	w.Write(h.raw)
}

func (h *Handler) serveBlob(w http.ResponseWriter, r *http.Request, s string) {
	d, err := manifest.ParseDigest(s)
	if err != nil {
		http.Error(w, "skiff proxy: invalid digest", http.StatusBadRequest)
		return
	}
	desc, ok := h.blobs[d]
	if !ok {
		http.Error(w, "skiff proxy: blob "+string(d)+" is not part of the image", http.StatusNotFound)
		return
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(desc.Size, 10))
		return // the image's manifest vouches for the blob; nothing is fetched
	}
	rc, err := h.fetcher.Fetch(r.Context(), desc)
	if err != nil {
		h.logf("proxy: fetching %s: %v", d, err)
		status := http.StatusBadGateway
		if errors.Is(err, manifest.ErrNotFound) {
			status = http.StatusNotFound
		}
		http.Error(w, "skiff proxy: blob "+string(d)+" could not be fetched upstream", status)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(desc.Size, 10))
	// The Verifier holds back the last byte until the blob verified, so
	// a mismatch cuts the response short of its Content-Length
	// (RELIABILITY #36).
	v := manifest.NewVerifier(rc, desc)
	if _, err := io.Copy(w, v); err != nil {
		h.logf("proxy: serving %s: %v", d, err)
		panic(http.ErrAbortHandler)
	}
}

func (h *Handler) logf(format string, args ...any) {
	if h.opts.ErrorLog != nil {
		h.opts.ErrorLog.Printf(format, args...)
	}
}
