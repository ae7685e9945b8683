package registrytest

import (
	"net/http"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// The endpoints a route can name.
const (
	routePing      = "ping"
	routeCatalog   = "catalog"
	routeBlob      = "blob"
	routeUploads   = "uploads" // POST /v2/<name>/blobs/uploads/
	routeUpload    = "upload"  // /v2/<name>/blobs/uploads/<id>
	routeManifest  = "manifest"
	routeTags      = "tags"
	routeReferrers = "referrers"
)

// methods lists the methods each endpoint answers.
var methods = map[string][]string{
	routePing:      {http.MethodGet, http.MethodHead},
	routeCatalog:   {http.MethodGet},
	routeBlob:      {http.MethodGet, http.MethodHead, http.MethodDelete},
	routeUploads:   {http.MethodPost},
	routeUpload:    {http.MethodGet, http.MethodPatch, http.MethodPut, http.MethodDelete},
	routeManifest:  {http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete},
	routeTags:      {http.MethodGet},
	routeReferrers: {http.MethodGet},
}

// route is a parsed request path.
type route struct {
	kind   string
	name   string          // repository
	ref    string          // tag, digest or upload id, as in the path
	digest manifest.Digest // ref, when it is a digest
}

// parseRoute splits a /v2/ path into endpoint, repository and reference.
// Repository names may contain "/", so the endpoint is found from the end.
func parseRoute(path string) (route, bool) {
	switch path {
	case "/v2/":
		return route{kind: routePing}, true
	case "/v2/_catalog":
		return route{kind: routeCatalog}, true
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return route{}, false
	}
	parts := strings.Split(rest, "/")
	if rt, ok := parseUploadRoute(parts); ok {
		return rt, true
	}
	n := len(parts)
	if n < 3 || parts[n-1] == "" {
		return route{}, false
	}
	rt := route{kind: endpoints[parts[n-2]], name: strings.Join(parts[:n-2], "/"), ref: parts[n-1]}
	if parts[n-2] == "tags" && rt.ref != "list" {
		return route{}, false
	}
	return rt, rt.kind != ""
}

// endpoints maps the path element before the reference to its endpoint.
var endpoints = map[string]string{
	"blobs": routeBlob, "manifests": routeManifest, "referrers": routeReferrers, "tags": routeTags,
}

// parseUploadRoute recognises <name>/blobs/uploads/ and
// <name>/blobs/uploads/<id>.
func parseUploadRoute(parts []string) (route, bool) {
	n := len(parts)
	if n < 4 || parts[n-3] != "blobs" || parts[n-2] != "uploads" {
		return route{}, false
	}
	kind := routeUpload
	if parts[n-1] == "" {
		kind = routeUploads
	}
	return route{kind: kind, name: strings.Join(parts[:n-3], "/"), ref: parts[n-1]}, true
}

// validate checks the repository name and the reference, answering 400
// with NAME_INVALID, DIGEST_INVALID or TAG_INVALID when one is wrong.
func (rt *route) validate(w http.ResponseWriter) bool {
	if rt.kind == routePing || rt.kind == routeCatalog {
		return true
	}
	if !reference.ValidRepository(rt.name) {
		writeError(w, http.StatusBadRequest, CodeNameInvalid, map[string]string{"name": truncate(rt.name, 300)})
		return false
	}
	switch rt.kind {
	case routeBlob, routeReferrers:
		return rt.parseDigest(w)
	case routeManifest:
		if strings.Contains(rt.ref, ":") {
			return rt.parseDigest(w)
		}
		if !reference.ValidTag(rt.ref) {
			writeError(w, http.StatusBadRequest, CodeTagInvalid, map[string]string{"tag": truncate(rt.ref, 300)})
			return false
		}
	}
	return true
}

func (rt *route) parseDigest(w http.ResponseWriter) bool {
	d, err := manifest.ParseDigest(rt.ref)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, err.Error())
		return false
	}
	rt.digest = d
	return true
}

// allowed reports whether the endpoint answers method, and if not answers
// 405 with an Allow header.
func (rt *route) allowed(w http.ResponseWriter, method string) bool {
	for _, m := range methods[rt.kind] {
		if m == method {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods[rt.kind], ", "))
	writeError(w, http.StatusMethodNotAllowed, CodeUnsupported, nil)
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
