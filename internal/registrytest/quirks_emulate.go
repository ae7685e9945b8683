package registrytest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/registry/server"
)

// QuirkHits reports how many requests quirk q changed or answered, once
// the handlers of the requests that arrived before the call returned (see
// Log.Settle).
func (g *Registry) QuirkHits(q Quirk) int {
	g.Log.Settle()
	g.hits.mu.Lock()
	defer g.hits.mu.Unlock()
	return g.hits.n[q]
}

type hitTable struct {
	mu sync.Mutex
	n  map[Quirk]int
}

func (g *Registry) hit(q Quirk) {
	g.hits.mu.Lock()
	defer g.hits.mu.Unlock()
	if g.hits.n == nil {
		g.hits.n = map[Quirk]int{}
	}
	g.hits.n[q]++
}

func (g *Registry) has(q Quirk) bool { return slices.Contains(g.opts.Quirks, q) }

// quirkMiddleware is one quirk's emulation around the handler next.
type quirkMiddleware func(g *Registry, next http.Handler) http.Handler

// emulations maps each Quirk to its middleware.
var emulations = map[Quirk]quirkMiddleware{
	ECRMountNeedsManifest:      ecrMountNeedsManifest,
	ECRNoDigestOnGet:           ecrNoDigestOnGet,
	ECRPatchCreated:            ecrPatchCreated,
	ECRChunkDiscard:            ecrChunkDiscard,
	ECRRepositoryMustExist:     ecrRepositoryMustExist,
	ECRImmutableTags:           ecrImmutableTags,
	ECRMediaTypeRequired:       refuseManifests(ECRMediaTypeRequired, ecrMediaType),
	ECRBlobRedirectS3:          ecrBlobRedirectS3,
	HubMissingRepo401:          hubMissingRepo401,
	HubPullRateLimit:           hubPullRateLimit,
	HubCatalogDenied:           hubCatalogDenied,
	HubCDNRedirect:             hubCDNRedirect,
	GHCRNoReferrersAPI:         ghcrNoReferrersAPI,
	GCRTagsNoPagination:        gcrTagsNoPagination,
	ACRLinkOrderby:             acrLinkOrderby,
	QuayMixedIndex:             refuseManifests(QuayMixedIndex, quayMixedIndex),
	QuayArtifactAllowlist:      refuseManifests(QuayArtifactAllowlist, quayArtifactTypes),
	GitLabArtifactAllowlist:    refuseManifests(GitLabArtifactAllowlist, gitlabMediaTypes),
	GitLabStrictAccept:         gitlabStrictAccept,
	HarborMountMissingProject:  harborMountMissingProject,
	HarborVulnerable412:        harborVulnerable412,
	HarborImmutableTags:        harborImmutableTags,
	ArtifactoryHistoryRequired: refuseManifests(ArtifactoryHistoryRequired, artifactoryHistory),
	ArtifactoryAccept406:       artifactoryAccept406,
	ArtifactoryMissingTag403:   artifactoryMissingTag403,
	NexusPutNoDigest:           nexusPutNoDigest,
	NexusBlobCannotBeUpdated:   nexusBlobCannotBeUpdated,
	ZotOCIOnly:                 refuseManifests(ZotOCIOnly, zotOCIOnly),
	ProxyNoDigestOnHead:        proxyNoDigestOnHead,
	RedHatGzipEncoding:         redHatGzipEncoding,
}

// emulate wraps next in the middleware of every quirk switched on, in
// the catalogue's order (the first listed sees a request first).
func (g *Registry) emulate(next http.Handler) http.Handler {
	for i := len(catalogue) - 1; i >= 0; i-- {
		if q := catalogue[i].Quirk; g.has(q) {
			next = emulations[q](g, next)
		}
	}
	return next
}

// when serves requests that match with serve, others with next.
func when(match func(*http.Request, server.Route) bool, serve, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt, _ := server.RouteOf(r); match(r, rt) {
			serve.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// is matches requests to endpoint kind with one of methods.
func is(kind string, methods ...string) func(*http.Request, server.Route) bool {
	return func(r *http.Request, rt server.Route) bool {
		return rt.Kind == kind && slices.Contains(methods, r.Method)
	}
}

// writeQuirkError answers with a spec error body whose message is the
// registry's own.
func writeQuirkError(w http.ResponseWriter, status int, code, message string, detail any) {
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"code": code, "message": message, "detail": detail}}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

// onHeaders calls fn with the status and headers of the response to r
// before they are sent; fn returns the status to send instead.
func onHeaders(w http.ResponseWriter, fn func(status int, h http.Header) int) http.ResponseWriter {
	return &statusHook{ResponseWriter: w, fn: fn}
}

type statusHook struct {
	http.ResponseWriter
	fn   func(int, http.Header) int
	done bool
}

func (w *statusHook) WriteHeader(status int) {
	if !w.done {
		w.done = true
		status = w.fn(status, w.Header())
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusHook) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusHook) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// dropHeader removes header name from responses to requests that match,
// counting a hit for q when it was there.
func dropHeader(g *Registry, q Quirk, name string, match func(*http.Request, server.Route) bool, next http.Handler) http.Handler {
	return when(match, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(onHeaders(w, func(status int, h http.Header) int {
			if h.Get(name) != "" {
				g.hit(q)
				h.Del(name)
			}
			return status
		}), r)
	}), next)
}

// served runs r through h and returns what it answered, for quirks that
// rewrite a whole response.
func served(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// replay copies a recorded response to w.
func replay(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// repoExists reports whether anything was ever pushed into repo.
func (g *Registry) repoExists(repo string) bool {
	repos, _ := g.store.Repositories()
	return slices.Contains(repos, repo)
}

// manifestOf returns the link of the manifest ref (tag or digest) names
// in repo.
func (g *Registry) manifestOf(repo, ref string) (Link, bool) {
	d := ref
	if !strings.Contains(ref, ":") {
		tag, err := g.store.Lookup(repo, KindTag, ref)
		if err != nil {
			return Link{}, false
		}
		d = string(tag.Digest)
	}
	l, err := g.store.Lookup(repo, KindManifest, d)
	return l, err == nil
}

// readDocument parses the stored manifest l links to.
func (g *Registry) readDocument(l Link) (*manifest.Document, error) {
	f, err := g.store.OpenBlob(manifest.Digest(l.Name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := manifest.ReadLimited(f, manifest.MaxManifestSize, "stored manifest")
	if err != nil {
		return nil, err
	}
	return manifest.Parse(raw, l.MediaType)
}

// refuseManifests answers manifest PUTs whose document check refuses
// with the status and body check returns.
func refuseManifests(q Quirk, check func(g *Registry, doc *manifest.Document, raw []byte) *refusal) quirkMiddleware {
	return func(g *Registry, next http.Handler) http.Handler {
		return when(is(server.RouteManifest, http.MethodPut), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, err := io.ReadAll(io.LimitReader(r.Body, manifest.MaxManifestSize+1))
			if err != nil {
				writeError(w, http.StatusBadRequest, CodeManifestInvalid, err.Error())
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(raw))
			doc, err := manifest.Parse(raw, r.Header.Get("Content-Type"))
			if err == nil {
				if ref := check(g, doc, raw); ref != nil {
					g.hit(q)
					writeQuirkError(w, ref.status, ref.code, ref.message, ref.detail)
					return
				}
			}
			next.ServeHTTP(w, r)
		}), next)
	}
}

// refusal is how a registry refuses a manifest.
type refusal struct {
	status  int
	code    string
	message string
	detail  any
}
