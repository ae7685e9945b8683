package registrytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/registry/server"
)

// readsMissingRepo matches reads of a repository that holds nothing.
func (g *Registry) readsMissingRepo(r *http.Request, rt server.Route) bool {
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch rt.Kind {
	case server.RouteManifest, server.RouteBlob, server.RouteTags, server.RouteReferrers:
		return read && !g.repoExists(rt.Name) && !g.tokenAllows(r, rt.Name, "push")
	}
	return false
}

// tokenAllows reports whether r's bearer token grants action on repo.
func (g *Registry) tokenAllows(r *http.Request, repo, action string) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok := g.tokens.lookup(raw, g.now())
	return ok && tok != nil && tok.allows("repository", repo, action)
}

func hubMissingRepo401(g *Registry, next http.Handler) http.Handler {
	return when(g.readsMissingRepo, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := server.RouteOf(r)
		g.hit(HubMissingRepo401)
		g.challengeBearer(w, r, []scope{{Type: "repository", Name: rt.Name, Actions: []string{"pull"}}}, "insufficient_scope")
	}), next)
}

// Docker Hub's rate limit headers: 100 pulls per 6 hours, none left.
const (
	hubRateLimit     = "100;w=21600"
	hubRateRemaining = "0;w=21600"
	hubRateMessage   = "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"
)

func hubPullRateLimit(g *Registry, next http.Handler) http.Handler {
	return when(is(server.RouteManifest, http.MethodGet), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(HubPullRateLimit)
		w.Header().Set("RateLimit-Limit", hubRateLimit)
		w.Header().Set("RateLimit-Remaining", hubRateRemaining)
		w.Header().Set("Docker-RateLimit-Source", "127.0.0.1")
		writeQuirkError(w, http.StatusTooManyRequests, CodeTooManyRequests, hubRateMessage, nil)
	}), next)
}

func hubCatalogDenied(g *Registry, next http.Handler) http.Handler {
	return when(is(server.RouteCatalog, http.MethodGet), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(HubCatalogDenied)
		g.challengeBearer(w, r, []scope{{Type: "registry", Name: "catalog", Actions: []string{"*"}}}, "insufficient_scope")
	}), next)
}

func hubCDNRedirect(g *Registry, next http.Handler) http.Handler {
	return g.redirectBlobs(HubCDNRedirect, http.StatusTemporaryRedirect, "verify=1767225600-qcB4OlxVYmlgJCLs", next)
}

func ghcrNoReferrersAPI(g *Registry, next http.Handler) http.Handler {
	next = dropHeader(g, GHCRNoReferrersAPI, "OCI-Subject", is(server.RouteManifest, http.MethodPut), next)
	return when(is(server.RouteReferrers, http.MethodGet), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(GHCRNoReferrersAPI)
		writeQuirkError(w, http.StatusNotFound, CodeManifestUnknown, "manifest unknown", nil)
	}), next)
}

// gcrTagsNoPagination serves every tag whatever n and last say, adding
// GCR's "manifest" and "child" fields.
func gcrTagsNoPagination(g *Registry, next http.Handler) http.Handler {
	return when(is(server.RouteTags, http.MethodGet), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all := r.Clone(r.Context())
		all.URL.RawQuery = ""
		rec := served(next, all)
		var page struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
			replay(w, rec, rec.Body.Bytes())
			return
		}
		g.hit(GCRTagsNoPagination)
		rt, _ := server.RouteOf(r)
		body, _ := json.Marshal(map[string]any{"child": []string{}, "manifest": g.gcrManifests(rt.Name),
			"name": page.Name, "tags": page.Tags})
		rec.Header().Del("Link")
		replay(w, rec, body)
	}), next)
}

// gcrManifests is GCR's map from digest to what it knows of the manifest.
func (g *Registry) gcrManifests(repo string) map[string]any {
	out := map[string]any{}
	links, _ := g.store.List(repo, KindManifest)
	tags, _ := g.store.List(repo, KindTag)
	for _, l := range links {
		var names []string
		for _, t := range tags {
			if string(t.Digest) == l.Name {
				names = append(names, t.Name)
			}
		}
		out[l.Name] = map[string]any{"imageSizeBytes": "0", "layerId": "", "mediaType": l.MediaType,
			"tag": names, "timeCreatedMs": "0", "timeUploadedMs": "1767225600000"}
	}
	return out
}

// acrPage is the most ACR lists in one page, whatever n asks.
const acrPage = 1000

func acrLinkOrderby(g *Registry, next http.Handler) http.Handler {
	lists := func(r *http.Request, rt server.Route) bool {
		return r.Method == http.MethodGet && (rt.Kind == server.RouteTags || rt.Kind == server.RouteCatalog)
	}
	return when(lists, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if n, err := strconv.Atoi(q.Get("n")); err != nil || n > acrPage {
			q.Set("n", strconv.Itoa(acrPage))
			r = r.Clone(r.Context())
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(onHeaders(w, func(status int, h http.Header) int {
			if link := h.Get("Link"); link != "" {
				g.hit(ACRLinkOrderby)
				h.Set("Link", strings.Replace(link, ">;", "&orderby=>;", 1))
			}
			return status
		}), r)
	}), next)
}

// harborProject is the project, the first element, of a repository name.
func harborProject(repo string) string {
	project, _, _ := strings.Cut(repo, "/")
	return project
}

func (g *Registry) projectExists(project string) bool {
	repos, _ := g.store.Repositories()
	for _, r := range repos {
		if harborProject(r) == project {
			return true
		}
	}
	return false
}

func harborMountMissingProject(g *Registry, next http.Handler) http.Handler {
	missing := func(r *http.Request, rt server.Route) bool {
		return isMount(r, rt) && !g.projectExists(harborProject(r.URL.Query().Get("from")))
	}
	return when(missing, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(HarborMountMissingProject)
		project := harborProject(r.URL.Query().Get("from"))
		if g.opts.Auth.Mode == AuthBearer {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q,service=%q", g.realmFor(r), g.opts.Auth.service()))
		}
		msg := fmt.Sprintf("project %s not found: project %s not found", project, project)
		writeQuirkError(w, http.StatusUnauthorized, CodeUnauthorized, msg, nil)
	}), next)
}

func harborVulnerable412(g *Registry, next http.Handler) http.Handler {
	stored := func(r *http.Request, rt server.Route) bool {
		if !is(server.RouteManifest, http.MethodGet, http.MethodHead)(r, rt) {
			return false
		}
		l, ok := g.manifestOf(rt.Name, rt.Ref)
		return ok && !manifestIsIndex(l.MediaType)
	}
	return when(stored, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hit(HarborVulnerable412)
		writeQuirkError(w, http.StatusPreconditionFailed, "PROJECTPOLICYVIOLATION", "current image with '1 vulnerabilities' "+
			"cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of \"Low\" or higher "+
			"from running.' To continue with pull, please contact your project administrator to exempt matched "+
			"vulnerabilities through configuring the CVE allowlist.", nil)
	}), next)
}

func manifestIsIndex(mt string) bool {
	return mt == "application/vnd.oci.image.index.v1+json" || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func harborImmutableTags(g *Registry, next http.Handler) http.Handler {
	return when(g.existingTagPut, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, _ := server.RouteOf(r)
		g.hit(HarborImmutableTags)
		writeQuirkError(w, http.StatusPreconditionFailed, CodeDenied,
			fmt.Sprintf("The tag:%s:%s is immutable, cannot be overwrite.", rt.Name, rt.Ref), nil)
	}), next)
}
