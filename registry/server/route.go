package server

import (
	"net/http"
	"strings"

	"github.com/skiffoci/skiff/manifest"
	"github.com/skiffoci/skiff/reference"
)

// The endpoints a Route can name.
const (
	RoutePing      = "ping"
	RouteCatalog   = "catalog"
	RouteBlob      = "blob"
	RouteUploads   = "uploads" // POST /v2/<name>/blobs/uploads/
	RouteUpload    = "upload"  // /v2/<name>/blobs/uploads/<id>
	RouteManifest  = "manifest"
	RouteTags      = "tags"
	RouteReferrers = "referrers"
)

// methods lists the methods each endpoint answers.
var methods = map[string][]string{
	RoutePing:      {http.MethodGet, http.MethodHead},
	RouteCatalog:   {http.MethodGet},
	RouteBlob:      {http.MethodGet, http.MethodHead, http.MethodDelete},
	RouteUploads:   {http.MethodPost},
	RouteUpload:    {http.MethodGet, http.MethodPatch, http.MethodPut, http.MethodDelete},
	RouteManifest:  {http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete},
	RouteTags:      {http.MethodGet},
	RouteReferrers: {http.MethodGet},
}

// Route is what a request's path names.
type Route struct {
	Kind   string          // one of the Route constants
	Name   string          // the repository
	Ref    string          // tag, digest or upload id, as in the path
	Digest manifest.Digest // Ref, when it is a digest
}

type routeKey struct{}

// RouteOf returns the route of a request the Server let in, for the
// middleware of Options.Wrap.
func RouteOf(r *http.Request) (Route, bool) {
	rt, ok := r.Context().Value(routeKey{}).(Route)
	return rt, ok
}

// parseRoute splits a /v2/ path into endpoint, repository and reference.
// Repository names may contain "/", so the endpoint is found from the end.
func parseRoute(path string) (Route, bool) {
	switch path {
	case "/v2/":
		return Route{Kind: RoutePing}, true
	case "/v2/_catalog":
		return Route{Kind: RouteCatalog}, true
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return Route{}, false
	}
	parts := strings.Split(rest, "/")
	if rt, ok := parseUploadRoute(parts); ok {
		return rt, true
	}
	n := len(parts)
	if n < 3 || parts[n-1] == "" {
		return Route{}, false
	}
	rt := Route{Kind: endpoints[parts[n-2]], Name: strings.Join(parts[:n-2], "/"), Ref: parts[n-1]}
	if parts[n-2] == "tags" && rt.Ref != "list" {
		return Route{}, false
	}
	return rt, rt.Kind != ""
}

// endpoints maps the path element before the reference to its endpoint.
var endpoints = map[string]string{
	"blobs": RouteBlob, "manifests": RouteManifest, "referrers": RouteReferrers, "tags": RouteTags,
}

// parseUploadRoute recognises <name>/blobs/uploads/ and
// <name>/blobs/uploads/<id>.
func parseUploadRoute(parts []string) (Route, bool) {
	n := len(parts)
	if n < 4 || parts[n-3] != "blobs" || parts[n-2] != "uploads" {
		return Route{}, false
	}
	kind := RouteUpload
	if parts[n-1] == "" {
		kind = RouteUploads
	}
	return Route{Kind: kind, Name: strings.Join(parts[:n-3], "/"), Ref: parts[n-1]}, true
}

// validate checks the repository name and the reference, answering 400
// with NAME_INVALID, DIGEST_INVALID or TAG_INVALID when one is wrong.
func (rt *Route) validate(w http.ResponseWriter) bool {
	if rt.Kind == RoutePing || rt.Kind == RouteCatalog {
		return true
	}
	if !reference.ValidRepository(rt.Name) {
		writeError(w, http.StatusBadRequest, CodeNameInvalid, map[string]string{"name": truncate(rt.Name, 300)})
		return false
	}
	switch rt.Kind {
	case RouteBlob, RouteReferrers:
		return rt.parseDigest(w)
	case RouteManifest:
		if strings.Contains(rt.Ref, ":") {
			return rt.parseDigest(w)
		}
		if !reference.ValidTag(rt.Ref) {
			writeError(w, http.StatusBadRequest, CodeTagInvalid, map[string]string{"tag": truncate(rt.Ref, 300)})
			return false
		}
	}
	return true
}

func (rt *Route) parseDigest(w http.ResponseWriter) bool {
	d, err := manifest.ParseDigest(rt.Ref)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeDigestInvalid, err.Error())
		return false
	}
	rt.Digest = d
	return true
}

// allowed reports whether the endpoint answers method, and if not answers
// 405 with an Allow header.
func (rt *Route) allowed(w http.ResponseWriter, method string) bool {
	for _, m := range methods[rt.Kind] {
		if m == method {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods[rt.Kind], ", "))
	writeError(w, http.StatusMethodNotAllowed, CodeUnsupported, nil)
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
